import type { NormalizedEvent } from "../normalize/event";
import type { VersionedFields } from "../normalize/merge";
import type { Problem } from "../normalize/problem";
import type { ProfileKind } from "../normalize/profile-fields";
import type { SourceKind } from "../sources/kinds";
import type { EntityRef } from "./identity";

/** A stored profile's versioned fields and its optimistic-lock version (0: never written). */
export interface StoredProfile {
  fields: VersionedFields;
  version: number;
  /** The months that have the profile's events (`last_seen_at` is derived from those events). */
  eventMonths: string[];
  /** A user's months marked as holding events whose account came from its memberships (see {@link MonthMarks}). */
  marks?: MonthMarks;
}

/**
 * What a user's profile records about its events whose account came from its memberships
 * (`account_from_user`, spec 3.3): the months that hold (or held) one, recorded before the event
 * is stored or moved there, so membership re-attribution searches only those months. `complete`:
 * the profile's months were all recorded by code that marks (set when its first month is), so a
 * month not marked has no such event; a profile without it (recorded before the marks) has its
 * every month searched. A superset is never wrong (a month searched for nothing).
 */
export interface MonthMarks {
  months: string[];
  complete: boolean;
}

/** What membership re-attribution reads of a user, consistently, after writing the memberships. */
export type UserMonths = Pick<StoredProfile, "eventMonths" | "marks">;

export interface ProfileRef {
  workspaceId: string;
  kind: ProfileKind;
  id: string;
}

/** A membership edge and the earliest event time that established it. */
export interface MembershipEdge {
  workspaceId: string;
  accountId: string;
  userId: string;
  since: string;
}

/** An event as stored: the normalized event plus its workspace. */
export interface StoredEvent extends NormalizedEvent {
  workspace_id: string;
  /** True when the call had only an anonymous id and the user came from an alias (spec 3.5). */
  user_from_alias?: boolean;
}

/** What tells two calls sharing a messageId apart, and what their conflict's reject records. */
export type EventVersion = Pick<
  StoredEvent,
  "event_id" | "type" | "event_name" | "timestamp" | "user_id" | "account_id" | "source"
> & {
  /** Absent on events stored before content hashes were kept: treated as the same call. */
  content_hash?: string;
};

/** A call from a non-primary source waiting for entity maps of its ids (spec 3.5). */
export interface PendingCall {
  workspaceId: string;
  source: string;
  messageId: string;
  /** Event time: pending calls are listed and replayed in this order. */
  time: string;
  /** When it was first held; retention counts from here. */
  heldAt: string;
  receivedAt: string;
  /** The ingest route it came by (`RawQueueMessage.route`), kept for its replay. */
  route?: SourceKind;
  /** The call as received, replayed through the raw queue when its maps arrive. */
  call: Record<string, unknown>;
  missing: EntityRef[];
}

/** A delivery of a call whose ordering time depends on the delivery (spec 3.1). */
export interface CallReceipt {
  /** `callContentHash` of the call: the same for every delivery of it. */
  hash: string;
  messageId: string;
  /** This delivery's receive time and the ordering time it would give. */
  receivedAt: string;
  time: string;
  /**
   * Whether this delivery's time depends on the delivery, so it is recorded as the first receipt
   * when there is none; otherwise a first receipt is only looked up.
   */
  record: boolean;
}

/** A record of something that could not be stored whole (spec 3.6). */
export interface RejectRecord {
  workspaceId: string;
  source: string;
  messageId: string;
  /** The user the call was about, so deleting the user also deletes its rejects (they hold its data). */
  userId?: string;
  code: string;
  field: string;
  message: string;
  /** The offending value or the raw call. */
  value: unknown;
}

/**
 * What the normalize pipeline needs from storage. The DynamoDB adapter implements it; tests may
 * wrap it to inject faults. Methods throw `IngestError`s: `retryable` ones (throttling, timeouts)
 * send the affected SQS messages back, permanent ones become rejects.
 */
export interface ModelStore {
  loadProfiles(refs: ProfileRef[]): Promise<Map<string, StoredProfile>>;
  /**
   * Writes a profile's fields if its version is still `expectedVersion`; returns false when another
   * writer got there first (the caller reloads and merges again). `exists`: the caller read the
   * profile's item as there (a hint, as for `touchLastSeen`: a store may write a profile read
   * without a version more cheaply; the outcome must not depend on it). `recorded`: event months
   * (and a user's marks) the profile takes in the same write, as `touchLastSeen` records them,
   * only if the write applies.
   */
  saveProfile(
    ref: ProfileRef,
    fields: VersionedFields,
    expectedVersion: number,
    bucket?: string,
    exists?: boolean,
    recorded?: { months: string[]; marks?: MonthMarks },
  ): Promise<boolean>;
  /** The stored `since` of these memberships (absent ones are left out), keyed by `membershipKey`. */
  loadMemberships(edges: MembershipEdge[]): Promise<Map<string, string>>;
  /** Records a membership, keeping the earliest `since`; true when it is new or `since` moved earlier. */
  saveMembership(edge: MembershipEdge): Promise<boolean>;
  /** The memberships of a user, each with its `since`. */
  userMemberships(workspaceId: string, userId: string): Promise<{ accountId: string; since: string }[]>;
  /** The stored version of each of these event ids that is stored (consistent read). */
  existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>>;
  /**
   * Stores events unless their id is taken by another call's event (another content hash); the
   * same call again overwrites itself. Returns the ids that were taken.
   */
  insertEvents(events: StoredEvent[]): Promise<Set<string>>;
  /**
   * Replaces a stored event with another call's event of the same id, only if the stored one is
   * still the call with `expectedHash`; false when it changed meanwhile.
   */
  replaceEvent(event: StoredEvent, expectedHash: string): Promise<boolean>;
  /**
   * Rewrites stored events (a new account or user after re-resolution), each only if it is still
   * stored as the same call: an event a deletion removed meanwhile is not brought back.
   */
  rewriteEvents(events: StoredEvent[]): Promise<void>;
  /**
   * The months of these users (keyed by `scopedKey(workspaceId, userId)`; users with no profile are
   * left out), read consistently, in as few requests as the store can.
   */
  userMonths(users: { workspaceId: string; userId: string }[]): Promise<Map<string, UserMonths>>;
  /** Events of a user in these months, from `fromTime` on, whose account came from the user's memberships. */
  userEventsResolvedFromMemberships(
    workspaceId: string,
    userId: string,
    fromTime: string,
    months: string[],
  ): Promise<StoredEvent[]>;
  /**
   * Records that a profile has events in `months` (creating a profile only events name), before
   * those events are written; called only for months the profile does not have yet. `time` is the
   * newest of those events: stores derive `last_seen_at` at read time from the stored events
   * themselves (the newest in the profile's newest month), so the DynamoDB adapter keeps no copy.
   * `exists`: the batch read the profile (a hint: a store may write an existing profile more
   * cheaply; it must still create one that has gone since). `marks`: a user's months to mark (added
   * to what is stored) and whether to record that its marks are complete, in the same write.
   */
  touchLastSeen(ref: ProfileRef, time: string, months: string[], exists?: boolean, marks?: MonthMarks): Promise<void>;
  /**
   * After events left a profile (moved to another account or user, deleted, lost a conflict):
   * `last_seen_at` follows by itself (it is derived from the events left); what is recomputed here is
   * whether the profile still exists: one that only events created (no fields, and for an account
   * no members) and that has no event left is removed.
   */
  recomputeLastSeen(ref: ProfileRef): Promise<void>;
  /**
   * Records "fromId is this user"; the newest link (by event time) wins whatever the arrival order.
   * Says whether the stored link changed, and the user it pointed to before.
   */
  saveAlias(
    workspaceId: string,
    fromId: string,
    toUserId: string,
    time: string,
  ): Promise<{ changed: boolean; previous?: string }>;
  /** The users that anonymous or previous ids are linked to. */
  aliasTargets(workspaceId: string, fromIds: string[]): Promise<Map<string, string>>;
  /**
   * Events with this anonymous id and no userId of their own: those not attributed yet (`userId`
   * null) or those attributed to `userId` through an alias.
   */
  eventsAttributedByAlias(workspaceId: string, anonymousId: string, userId: string | null): Promise<StoredEvent[]>;
  /** Canonical ids of entity map entries, keyed by `entityRefKey`. */
  lookupEntityMaps(workspaceId: string, refs: EntityRef[]): Promise<Map<string, string>>;
  /** Holds a call until its entity maps arrive; `expiresAt` is the TTL safety net (epoch seconds). */
  holdPending(pending: PendingCall, expiresAt: number): Promise<void>;
  /** Which of these users were deleted (have a tombstone). */
  deletedUsers(workspaceId: string, userIds: string[]): Promise<Set<string>>;
  /**
   * Deletes a user's profile, memberships, aliases, entity maps, events and rejects, and leaves a
   * tombstone, on the user and on every anonymous id linked to it. Idempotent: a normalizer that
   * wrote about the user while it was being deleted runs it again, naming the events it wrote
   * (`eventIds`), which the user's own records may no longer lead to. Returns the accounts that
   * lost events (`recomputeLastSeen` then removes those that only events made).
   */
  deleteUser(
    workspaceId: string,
    userId: string,
    deletedAt: string,
    known?: { eventIds: string[] },
  ): Promise<{ accountsWithEvents: string[] }>;
  /** Which of these anonymous (or previous) ids belong to a deleted user (have a tombstone). */
  deletedAnonymousIds(workspaceId: string, anonymousIds: string[]): Promise<Set<string>>;
  /**
   * Tombstones an anonymous id of a deleted user and deletes its alias link and the events it
   * carried without a userId of their own (including `eventIds`, as for `deleteUser`). Idempotent.
   */
  deleteAnonymousId(
    workspaceId: string,
    anonymousId: string,
    deletedAt: string,
    known?: { eventIds: string[] },
  ): Promise<{ accountsWithEvents: string[] }>;
  saveRejects(rejects: RejectRecord[], seenAt: string): Promise<void>;
  /**
   * The first receipt of each of these calls, keyed by hash: recorded from the given delivery when
   * it says `record` and the call was never seen (whichever concurrent delivery records first
   * wins), read back otherwise. Calls with no receipt and `record` false are left out.
   */
  firstReceipts(
    workspaceId: string,
    receipts: CallReceipt[],
  ): Promise<Map<string, { receivedAt: string; time: string }>>;
}

/**
 * The one in-memory map key of anything scoped to a workspace: the workspace and the parts,
 * NUL-separated (profile, membership and per-user keys of the pipeline and its store).
 *
 * @example
 * scopedKey("w1", "u1"); // "w1\u0000u1"
 */
export function scopedKey(workspaceId: string, ...parts: string[]): string {
  return [workspaceId, ...parts].join("\u0000");
}

/** The stable map key of a membership edge. */
export function membershipKey(edge: Pick<MembershipEdge, "workspaceId" | "accountId" | "userId">): string {
  return scopedKey(edge.workspaceId, edge.accountId, edge.userId);
}

/** The stable map key of a profile reference. */
export function profileKey(ref: ProfileRef): string {
  return scopedKey(ref.workspaceId, ref.kind, ref.id);
}

/** A problem of a call as a reject record. */
export function problemReject(
  call: { workspaceId: string; source: string; messageId: string; userId?: string },
  problem: Problem,
): RejectRecord {
  return {
    workspaceId: call.workspaceId,
    source: call.source,
    messageId: call.messageId,
    ...(call.userId ? { userId: call.userId } : {}),
    code: problem.code,
    field: problem.field,
    message: problem.message,
    value: problem.value,
  };
}
