/**
 * Stored, versioned profile fields turned into the account and user shapes (model/account.ts,
 * model/user.ts), with the derived fields. Pure and deterministic: no clock, keys in a fixed order.
 */
import type { AccountProfile } from "../model/account";
import { ACCOUNT_FIELDS, accountBucket, type Bucket } from "../model/account-fields";
import { type KnownField, type KnownFieldType, storedValue } from "../model/known-field";
import type { UserProfile } from "../model/user";
import { USER_FIELDS } from "../model/user-fields";
import type { SourceKind } from "../sources/kinds";
import { withStripeBilling } from "../sources/stripe/derive";
import { faviconUrl, initialsAvatar } from "./avatar";
import type { FieldVersion, VersionedFields } from "./merge";
import { CUSTOM_TRAIT_PREFIX } from "./profile-fields";
import type { Value } from "./value";

export type { Account, Bucket } from "../model/account";
export type { User } from "../model/user";

/**
 * The API account from its stored fields.
 *
 * @example
 * materializeAccount("w1", "acc_1", { name: { v: "Acme", t: "2024-05-01T00:00:00.000Z", m: "m1" } });
 * // { account_id: "acc_1", name: "Acme", bucket: "subscribed", avatar_url: "data:image/svg+xml,…",
 * //   avatar_url_derived: true, missing_required: [], … }
 */
export function materializeAccount(workspaceId: string, accountId: string, stored: VersionedFields): AccountProfile {
  // Billing fields derived from the Stripe source's snapshots, last-write-wins with the stored ones.
  const fields = withStripeBilling(stored);
  const read = accountReader(fields);
  const name = read("name");
  const website = read("website");
  // A blank avatar_url is no avatar: derive one rather than show an empty image.
  const sentAvatar = nonBlank(read("avatar_url"));
  const bucket = accountBucket(fields);
  const account: Omit<AccountProfile, "missing_required" | "missing_recommended"> = {
    workspace_id: workspaceId,
    account_id: accountId,
    name,
    company_bio: read("company_bio"),
    website,
    industry: read("industry"),
    avatar_url: sentAvatar ?? derivedAvatar(name, website, accountId),
    avatar_url_derived: sentAvatar === null,
    mrr: read("mrr"),
    created_at: read("created_at"),
    trial_start_date: read("trial_start_date"),
    trial_expiry_date: read("trial_expiry_date"),
    is_trial: read("is_trial"),
    is_churned: read("is_churned"),
    next_renewal_date: read("next_renewal_date"),
    plan_name: read("plan_name"),
    bucket,
    traits: customTraits(fields),
  };
  const recommended = bucket === "trial" ? (["trial_start_date", "trial_expiry_date"] as const) : [];
  return {
    ...account,
    missing_required: missing(account, ["name"]),
    missing_recommended: missing(account, recommended),
  };
}

/**
 * The bucket the write path stores for the byBucket index: the same rule as the read's, over the
 * same derived fields (billing fields from the Stripe source's snapshots included), without the rest
 * of the read projection.
 *
 * @example
 * storedAccountBucket({ is_trial: { v: true, t: "2024-05-01T00:00:00.000Z", m: "m1" } }); // "trial"
 */
export function storedAccountBucket(stored: VersionedFields): Bucket {
  return accountBucket(withStripeBilling(stored));
}

/**
 * The API user from its stored fields.
 *
 * @example
 * materializeUser("w1", "u1", { first_name: { v: "Ada", t: "2024-05-01T00:00:00.000Z", m: "m1" } });
 * // { user_id: "u1", first_name: "Ada", name: "Ada", status: "active",
 * //   missing_required: ["last_name", "created_at"], missing_recommended: ["email"], … }
 */
export function materializeUser(workspaceId: string, userId: string, fields: VersionedFields): UserProfile {
  const read = userReader(fields);
  const firstName = read("first_name");
  const lastName = read("last_name");
  const isActive = read("is_active");
  const user: Omit<UserProfile, "missing_required" | "missing_recommended"> = {
    workspace_id: workspaceId,
    user_id: userId,
    first_name: firstName,
    last_name: lastName,
    email: read("email"),
    created_at: read("created_at"),
    name: read("name") ?? joinName(firstName, lastName),
    avatar: read("avatar"),
    title: read("title"),
    username: read("username"),
    description: read("description"),
    key_user: read("key_user"),
    linkedin_url: read("linkedin_url"),
    is_active: isActive,
    status: isActive === false ? "inactive" : "active",
    traits: customTraits(fields),
  };
  return {
    ...user,
    missing_required: missing(user, ["first_name", "last_name", "created_at"]),
    missing_recommended: missing(user, ["email"]),
  };
}

/** Which source and call set a field: an entry of the read API's `provenance` (`?provenance=true`). */
export interface FieldProvenance {
  /** The source's name; `unknown` for a field stored before provenance was recorded. */
  source: string;
  source_kind: SourceKind | null;
  message_id: string;
  time: string;
  /** For a derived field (Stripe's billing fields), the stored field it was derived from. */
  derived_from: string | null;
}

/**
 * Each field of the account answer that a write set (its known fields, custom traits as
 * `traits.<key>`), with the source, call and time of that write; Stripe's billing fields name the
 * snapshot they were derived from. Computed fields (`bucket`, `avatar_url` when derived) have none.
 *
 * @example
 * accountProvenance(item.f).name; // { source: "product", source_kind: "webhook", message_id: "m1", … }
 */
export function accountProvenance(stored: VersionedFields): Record<string, FieldProvenance> {
  return provenanceOf(withStripeBilling(stored), ACCOUNT_FIELDS);
}

/** As {@link accountProvenance}, for a user. */
export function userProvenance(stored: VersionedFields): Record<string, FieldProvenance> {
  return provenanceOf(stored, USER_FIELDS);
}

function provenanceOf(fields: VersionedFields, table: readonly KnownField[]): Record<string, FieldProvenance> {
  const entry = (f: FieldVersion): FieldProvenance => ({
    source: f.s ?? "unknown",
    source_kind: f.k ?? null,
    message_id: f.m,
    time: f.t,
    derived_from: f.d ?? null,
  });
  const entries: [string, FieldProvenance][] = [];
  for (const { name } of table)
    if (Object.hasOwn(fields, name)) entries.push([name, entry(fields[name] as FieldVersion)]);
  const traits = Object.entries(fields).filter(([name, f]) => name.startsWith(CUSTOM_TRAIT_PREFIX) && f.v !== null);
  traits.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, f] of traits) entries.push([name, entry(f)]);
  return Object.fromEntries(entries);
}

/** A reader of a table's known fields from stored fields, each typed as its table entry says. */
function fieldReader<const F extends KnownField>(table: readonly F[]) {
  const types = new Map<string, KnownFieldType>(table.map((field) => [field.name, field.type]));
  return (fields: VersionedFields) =>
    <N extends F["name"]>(name: N) =>
      storedValue(fields, name, types.get(name) as Extract<F, { name: N }>["type"]);
}

const accountReader = fieldReader(ACCOUNT_FIELDS);
const userReader = fieldReader(USER_FIELDS);

function customTraits(fields: VersionedFields): Record<string, Value> {
  const entries: [string, Value][] = [];
  for (const [name, { v }] of Object.entries(fields)) {
    if (name.startsWith(CUSTOM_TRAIT_PREFIX) && v !== null) entries.push([name.slice(CUSTOM_TRAIT_PREFIX.length), v]);
  }
  // Sorted so the same state always serialises the same way, whatever order writes arrived in.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

function derivedAvatar(name: string | null, website: string | null, accountId: string): string {
  return (website === null ? undefined : faviconUrl(website)) ?? initialsAvatar(name ?? accountId, accountId);
}

function nonBlank(text: string | null): string | null {
  return text === null || text.trim() === "" ? null : text;
}

function joinName(first: string | null, last: string | null): string | null {
  const joined = [first, last].filter((part) => part !== null && part.trim() !== "").join(" ");
  return joined === "" ? null : joined;
}

// A blank string is as good as absent for a field the product relies on.
function missing<T extends object>(profile: T, names: readonly (keyof T & string)[]): string[] {
  return names.filter((name) => {
    const v = profile[name];
    return v === null || (typeof v === "string" && v.trim() === "");
  });
}
