/** Users and accounts (spec 3.3): which account ids a call links a user to. */
import { type SegmentCall, segmentId } from "../segment/envelope";
import type { Problem } from "./problem";
import { isJsonObject, ownValue } from "./value";

/** A user belongs to an account. Many-to-many: a user may belong to several accounts. */
export interface Membership {
  accountId: string;
  userId: string;
}

/** Identify traits read as membership, not stored as custom traits (`company` only when an object). */
export const MEMBERSHIP_TRAITS: ReadonlySet<string> = new Set(["companyId", "account_id"]);

// `company` may carry id and name; anything else in it would be lost, so it is reported.
const COMPANY_KEYS: ReadonlySet<string> = new Set(["id", "name"]);

/**
 * Reads an id from a customer value: strings and finite numbers become strings; absent, `null` and ""
 * give nothing; anything else is an `id.invalid` problem.
 *
 * @example
 * readId(42, "context.groupId");       // { id: "42" }
 * readId({ id: 1 }, "context.groupId"); // { problem: { code: "id.invalid", … } }
 */
export function readId(raw: unknown, path: string): { id?: string; problem?: Problem } {
  if (raw === undefined || raw === null || raw === "") return {};
  if (typeof raw === "string" || (typeof raw === "number" && Number.isFinite(raw))) return { id: segmentId(raw) };
  return { problem: { code: "id.invalid", field: path, message: "an id must be a string or a number", value: raw } };
}

/**
 * The memberships an identify declares, in the spec's order, deduplicated: `context.groupId`,
 * `context.group_id`, `traits.company.id`, `traits.companyId`, `traits.account_id`.
 *
 * `traits.company` as an object is read for membership only and never stored as a trait. It is
 * reported as `trait.nested_object` only when it holds keys other than `id` and `name`, since those
 * other keys are the only data lost (name belongs to the account, sent by `group`).
 *
 * @example
 * identifyMemberships({ type: "identify", userId: "u1", traits: { companyId: 7 } }, "u1");
 * // { memberships: [{ accountId: "7", userId: "u1" }], problems: [] }
 */
export function identifyMemberships(
  call: SegmentCall,
  userId: string,
): { memberships: Membership[]; problems: Problem[] } {
  const company = ownValue(call.traits, "company");
  const sources: [unknown, string][] = [
    [ownValue(call.context, "groupId"), "context.groupId"],
    [ownValue(call.context, "group_id"), "context.group_id"],
    [isJsonObject(company) ? ownValue(company, "id") : undefined, "traits.company.id"],
    [ownValue(call.traits, "companyId"), "traits.companyId"],
    [ownValue(call.traits, "account_id"), "traits.account_id"],
  ];
  const problems: Problem[] = [];
  const accountIds = new Set<string>();
  for (const [raw, path] of sources) {
    const { id, problem } = readId(raw, path);
    if (problem) problems.push(problem);
    if (id !== undefined) accountIds.add(id);
  }
  if (isJsonObject(company) && Object.keys(company).some((key) => !COMPANY_KEYS.has(key))) {
    problems.push({
      code: "trait.nested_object",
      field: "traits.company",
      message: "only company.id (membership) and company.name are read; other keys were left out",
      value: company,
    });
  }
  return { memberships: [...accountIds].map((accountId) => ({ accountId, userId })), problems };
}

/** Whether identify consumes this trait for membership (so it is not a custom trait). */
export function isMembershipTrait(key: string, value: unknown): boolean {
  return MEMBERSHIP_TRAITS.has(key) || (key === "company" && isJsonObject(value));
}
