/**
 * The Account (spec 3, account table), defined once: its zod schema (the API's answer and the
 * OpenAPI component) and the TypeScript type inferred from it; the table of Segment traits each
 * field is read from and the bucket rule sit beside it in `account-fields.ts` (plain data, so the
 * write path does not load zod) and are re-exported here.
 */
import { z } from "zod";
import { BUCKETS } from "./account-fields";
import { NullableTime, Value } from "./field";

export {
  ACCOUNT_FIELDS,
  type AccountFieldName,
  accountBucket,
  DEFAULT_BUCKET,
} from "./account-fields";

/** The account's commercial state. */
export const Bucket = z.enum(BUCKETS);
export type Bucket = z.infer<typeof Bucket>;

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
