/**
 * The Account (spec 3, account table), defined once: its zod schema (the API's answer and the
 * OpenAPI component), the TypeScript type inferred from it, the table of Segment traits each field
 * is read from, and the bucket rule.
 */
import { z } from "zod";
import { type KnownField, NullableTime, type StoredFields, storedValue, Value } from "./field";

/** The account's commercial state. */
export const Bucket = z.enum(["trial", "subscribed", "churned"]);
export type Bucket = z.infer<typeof Bucket>;

/** The bucket of an account with no billing fields yet (named only by a membership or an event). */
export const DEFAULT_BUCKET: Bucket = "subscribed";

export const Account = z
  .object({
    workspace_id: z.string(),
    account_id: z.string(),
    name: z.string().nullable(),
    company_bio: z.string().nullable(),
    website: z.string().nullable(),
    industry: z.string().nullable(),
    avatar_url: z.string().describe("Sent, else derived from the website's domain, else a generated initials image"),
    avatar_url_derived: z.boolean(),
    mrr: z.number().nullable(),
    created_at: NullableTime.describe("The account's signup date"),
    trial_start_date: NullableTime,
    trial_expiry_date: NullableTime,
    is_trial: z.boolean().nullable(),
    is_churned: z.boolean().nullable(),
    next_renewal_date: NullableTime,
    plan_name: z.string().nullable(),
    bucket: Bucket.describe("`churned` if is_churned, else `trial` if is_trial, else `subscribed`"),
    traits: z.record(z.string(), Value).describe("Custom traits"),
    missing_required: z.array(z.string()),
    missing_recommended: z.array(z.string()),
    last_seen_at: NullableTime.describe("Time of the account's newest event"),
  })
  .describe("An account (from `group` calls)");
export type Account = z.infer<typeof Account>;

/** An account as its stored fields give it; `last_seen_at` comes from its events. */
export type AccountProfile = Omit<Account, "last_seen_at">;

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
