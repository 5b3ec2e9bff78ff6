/**
 * The read and admin API's bodies as zod schemas, in the field names of spec section 3. The
 * OpenAPI document is generated from them (`openapi.ts`) and the integration tests parse real
 * answers with them, so the document cannot drift from what the handler sends.
 */
import { z } from "zod";

import { Account } from "../model/account";
import { Time, Value } from "../model/field";
import { User } from "../model/user";
import { sourceKinds } from "../sources/kinds";

// The account and user shapes live with their field tables (model/); they are answers here too.
export { Account, Bucket } from "../model/account";
export { Value } from "../model/field";
export { User } from "../model/user";

/** A user with the accounts they belong to: `GET /v1/users/{userId}`. */
export const UserWithAccounts = User.extend({ account_ids: z.array(z.string()) });
export type UserWithAccounts = z.infer<typeof UserWithAccounts>;

/** Which source and call set one field (`materialize.ts`: `FieldProvenance`). */
export const FieldProvenance = z
  .object({
    source: z.string().describe("The source's name; `unknown` for a field stored before provenance was recorded"),
    source_kind: z.enum(sourceKinds).nullable().describe("The source's kind; null when unknown"),
    message_id: z.string().describe("The call's messageId (a Stripe event's `evt_` id)"),
    time: Time.describe("The call's event time: what orders writes"),
    derived_from: z
      .string()
      .nullable()
      .describe("For a field derived from Stripe's snapshots (`mrr`, `plan_name`, …), the snapshot field"),
  })
  .describe("The write that set a field");
export type FieldProvenance = z.infer<typeof FieldProvenance>;

const Provenance = z
  .record(z.string(), FieldProvenance)
  .describe("By field name (custom traits as `traits.<key>`): the write that set it. Computed fields have none.");

/** `GET /v1/accounts/{accountId}?provenance=true`. */
export const AccountWithProvenance = Account.extend({ provenance: Provenance });
export type AccountWithProvenance = z.infer<typeof AccountWithProvenance>;

/** `GET /v1/users/{userId}?provenance=true`. */
export const UserWithProvenance = UserWithAccounts.extend({ provenance: Provenance });
export type UserWithProvenance = z.infer<typeof UserWithProvenance>;

/** An account as listed for one of its users, with when the user joined it. */
export const MemberAccount = Account.extend({
  member_since: Time.describe("Earliest event time of the calls that made the user a member"),
});
export type MemberAccount = z.infer<typeof MemberAccount>;

/** A user as listed for one of their accounts, with when they joined it. */
export const AccountMember = User.extend({
  member_since: Time.describe("Earliest event time of the calls that made the user a member"),
});
export type AccountMember = z.infer<typeof AccountMember>;

export const Event = z
  .object({
    workspace_id: z.string(),
    event_id: z.string().describe("The call's messageId (or a stable hash of the payload)"),
    event_name: z.string(),
    type: z.enum(["track", "page", "screen"]),
    timestamp: Time,
    user_id: z.string().nullable(),
    anonymous_id: z.string().nullable(),
    account_id: z.string().nullable(),
    account_resolution: z
      .enum(["explicit", "user_single_account", "none", "ambiguous", "pending"])
      .describe("How account_id was found"),
    properties: z.record(z.string(), Value.nullable()),
    received_at: Time,
    source: z.string(),
  })
  .describe("An event (from `track`, `page` and `screen` calls)");
export type Event = z.infer<typeof Event>;

export const Reject = z
  .object({
    workspace_id: z.string(),
    source: z.string(),
    message_id: z.string(),
    code: z.string().describe("Reason code, e.g. `trait.nested_object`, `id.unmapped`, `user.deleted`"),
    field: z.string(),
    message: z.string(),
    value: z.unknown().describe("The offending value or the raw call (null when truncated)"),
    value_truncated: z.boolean(),
    first_seen: Time,
    last_seen: Time,
    seen_count: z.number().int(),
  })
  .describe("A call, or part of one, that could not be stored (spec 3.6)");
export type Reject = z.infer<typeof Reject>;

const EntityKind = z.enum(["user", "account"]);

/** An id of another source that has no entity map entry yet. */
export const MissingMap = z.object({ source: z.string(), kind: EntityKind, external_id: z.string() });

export const PendingCall = z
  .object({
    source: z.string(),
    message_id: z.string(),
    time: Time.describe("Event time; pending calls are listed and released in this order"),
    held_at: Time,
    received_at: Time,
    missing: z.array(MissingMap),
    call: z.record(z.string(), z.unknown()).describe("The call as received"),
  })
  .describe("A call from another source waiting for entity maps of its ids (spec 3.5)");
export type PendingCall = z.infer<typeof PendingCall>;

export const EntityMap = z
  .object({
    source: z.string(),
    kind: EntityKind,
    external_id: z.string(),
    canonical_id: z.string(),
    updated_at: Time,
  })
  .describe("This id of another source is this canonical user or account (spec 3.5)");
export type EntityMap = z.infer<typeof EntityMap>;

const EntityMapRow = z.object({
  source: z.string(),
  kind: EntityKind,
  external_id: z.string(),
  canonical_id: z.string(),
});

/** What an entity map upload creates, changes, leaves as it is, and cannot apply. */
export const EntityMapReport = z.object({
  dry_run: z.boolean(),
  created: z.number().int().describe("Entries that are new"),
  changed: z.number().int().describe("Entries whose canonical id changes (only with replace=true)"),
  unchanged: z.number().int(),
  conflicts: z
    .array(
      EntityMapRow.extend({
        other_canonical_id: z.string().describe("The canonical id it conflicts with"),
        reason: z.string(),
      }),
    )
    .describe("One external id mapped to two canonical ids: in the upload, or against what is stored"),
  rows: z.object({
    created: z.array(EntityMapRow),
    changed: z.array(EntityMapRow.extend({ previous_canonical_id: z.string() })),
    unchanged: z.array(EntityMapRow),
  }),
});
export type EntityMapReport = z.infer<typeof EntityMapReport>;

/** A real upload's answer: the report and how many pending calls it released. */
export const EntityMapUploadResult = EntityMapReport.extend({
  released: z.number().int().describe("Pending calls sent back to the pipeline because their maps arrived"),
});
export type EntityMapUploadResult = z.infer<typeof EntityMapUploadResult>;

/** An upload with conflicts: nothing was written. */
export const EntityMapConflictError = EntityMapReport.extend({
  success: z.literal(false),
  code: z.literal("entity_map.conflict"),
  message: z.string(),
});

export const EntityMapDeleted = z.object({
  deleted: z.literal(true),
  source: z.string(),
  kind: EntityKind,
  external_id: z.string(),
});

export const UserDeletionQueued = z.object({ status: z.literal("queued"), user_id: z.string() });

/** A deleted user: the tombstone proves the deletion was carried out. */
export const UserDeletedError = z.object({
  success: z.literal(false),
  code: z.literal("user.deleted"),
  message: z.string(),
  deleted_at: Time,
});

export const Health = z.object({ status: z.literal("ok"), version: z.string() });

/** Every error answer (API and ingest). */
export const ErrorBody = z.object({
  success: z.literal(false),
  code: z.string().describe("Stable, dotted reason code, e.g. `account.not_found`"),
  message: z.string(),
  problems: z.array(z.object({ index: z.number().int(), message: z.string() })).optional(),
});

/** Ingest's answer once SQS accepted every call. */
export const IngestAccepted = z.object({ success: z.literal(true) });

/**
 * One page of a listing. `next_cursor` is opaque: pass it as `cursor` to get the next page; null
 * on the last page.
 */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

export const AccountPage = pageOf(Account);
export const AccountMemberPage = pageOf(AccountMember);
export const MemberAccountPage = pageOf(MemberAccount);
export const EventPage = pageOf(Event);
export const RejectPage = pageOf(Reject);
export const PendingCallPage = pageOf(PendingCall);
export const EntityMapPage = pageOf(EntityMap);
