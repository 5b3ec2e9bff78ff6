/**
 * The account's known fields (which Segment traits fill each) and the bucket rule, as plain data
 * beside the Account schema (`account.ts`): the write path reads them without loading zod.
 */
import type { Account } from "./account";
import { type KnownField, type StoredFields, storedValue } from "./known-field";

/** The account's commercial states. */
export const BUCKETS = ["trial", "subscribed", "churned"] as const;
export type Bucket = (typeof BUCKETS)[number];

/** The bucket of an account with no billing fields yet (named only by a membership or an event). */
export const DEFAULT_BUCKET: Bucket = "subscribed";

// Aliases are the spec's, plus the camelCase form of each canonical name where the spec lists none
// (avatarUrl, companyBio, trialExpiryDate, planName…): Segment's own spec writes traits in camelCase.
/** The account fields read from `group` traits, and the trait names each is read from. */
export const ACCOUNT_FIELDS = [
  { name: "name", type: "string", from: ["name"] },
  { name: "company_bio", type: "string", from: ["company_bio", "description", "companyBio"] },
  { name: "website", type: "string", from: ["website"] },
  { name: "industry", type: "string", from: ["industry"] },
  { name: "avatar_url", type: "string", from: ["avatar_url", "avatar", "logo", "avatarUrl"] },
  { name: "mrr", type: "number", from: ["mrr"] },
  { name: "created_at", type: "time", from: ["created_at", "createdAt"] },
  { name: "trial_start_date", type: "time", from: ["trial_start_date", "trial_start", "trialStartDate"] },
  {
    name: "trial_expiry_date",
    type: "time",
    from: ["trial_expiry_date", "trial_end", "trialEndDate", "trialExpiryDate"],
  },
  { name: "is_trial", type: "boolean", from: ["is_trial", "isTrial"] },
  { name: "is_churned", type: "boolean", from: ["is_churned", "isChurned"] },
  { name: "next_renewal_date", type: "time", from: ["next_renewal_date", "nextRenewalDate"] },
  { name: "plan_name", type: "string", from: ["plan_name", "plan", "planName"] },
] as const satisfies readonly KnownField<keyof Account & string>[];

/** Canonical account field names. */
export type AccountFieldName = (typeof ACCOUNT_FIELDS)[number]["name"];

/**
 * The bucket of an account from its stored fields: `churned` if is_churned, else `trial` if
 * is_trial, else `subscribed`. The write path stores it for the bucket index; the read path shows it.
 *
 * @example
 * accountBucket({ is_trial: { v: true }, is_churned: { v: false } }); // "trial"
 */
export function accountBucket(fields: StoredFields): Bucket {
  if (storedValue(fields, "is_churned", "boolean") === true) return "churned";
  if (storedValue(fields, "is_trial", "boolean") === true) return "trial";
  return DEFAULT_BUCKET;
}
