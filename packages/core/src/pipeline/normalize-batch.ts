import { IngestError } from "../errors";
import { accountBucket } from "../model/account";
import { type NormalizedCall, normalizeCall } from "../normalize/call";
import { resolveEventAccount } from "../normalize/event";
import { mergeFields, type Stamp } from "../normalize/merge";
import { callContentHash, canonicalJson } from "../normalize/message-id";
import type { FieldValue } from "../normalize/value";
import { RawQueueMessage } from "../queue-message";
import { describeIssues, SegmentCall } from "../segment/envelope";
import { type CallOrigin, callIdReject, rerunAlone, type SuspectCall, saveRejectsIsolated } from "./call-isolation";
import { entityRefKey, idsToTranslate, translateCall, userIdsOf } from "./identity";
import {
  type CallReceipt,
  type EventVersion,
  type MembershipEdge,
  type ModelStore,
  membershipKey,
  type ProfileRef,
  problemReject,
  profileKey,
  type RejectRecord,
  type StoredEvent,
  type StoredProfile,
} from "./model-store";

/** One SQS record as the pipeline sees it. */
export interface QueueRecord {
  /** The SQS messageId: what a partial batch failure names. */
  id: string;
  body: string;
}

/** Counts for the batch's log line and metrics. */
export interface BatchStats {
  records: number;
  calls: number;
  /** Calls held until entity maps of their ids arrive. */
  pending: number;
  deletedUsers: number;
  /** Calls about deleted users, recorded as `user.deleted` rejects. */
  refusedForDeletedUsers: number;
  eventsStored: number;
  duplicates: number;
  profilesWritten: number;
  membershipsAdded: number;
  eventsReattributed: number;
  rejects: number;
  failedRecords: number;
}

export interface BatchOutcome {
  /** SQS message ids to deliver again (transient failures only). */
  failedRecordIds: string[];
  stats: BatchStats;
}

/** Largest serialised profile we write: far under DynamoDB's 400 KB item limit. */
const MAX_PROFILE_BYTES = 300 * 1024;
/** Optimistic-lock attempts before a profile is handed back to SQS. */
const MAX_PROFILE_ATTEMPTS = 12;
/** Concurrent storage requests per batch. */
const CONCURRENCY = 8;

/** Settings of the pipeline that come from configuration. */
export interface NormalizeSettings {
  /** Days a call waits for its entity maps before it expires as a reject. */
  pendingRetentionDays: number;
}

interface CallUnit {
  recordId: string;
  /** The call's index in its record, and the record's message less its calls (to run it alone). */
  index: number;
  origin: CallOrigin;
  call: NormalizedCall;
  /** The call as received, for holding it as pending. */
  raw: Record<string, unknown>;
}

/**
 * A reject of the batch and the records it is about. `call` ({@link unitKey}) names the call it is
 * about; it is absent only for calls that never became units (unparseable records and calls, ids
 * over the rules). A call set aside to run alone writes its own rejects again in that run, so only
 * those are left out of the batch's, never another call's that shares its record or messageId.
 */
type BatchReject = { recordIds: string[]; reject: RejectRecord; call?: string };

/** A call's identity in the batch: its record and its place in it. */
function unitKey(unit: CallUnit): string {
  return `${unit.recordId}\u0000${unit.index}`;
}

/** The user a call is about, for tying its rejects to the user (deletion removes them). */
function firstUserId(call: NormalizedCall): string | undefined {
  return userIdsOf(call)[0];
}

/** Runs `work` over items with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(runners);
}

/**
 * Normalizes one SQS batch of raw messages into the model (spec 3): profiles merged last-write-wins
 * per field with optimistic locking, memberships, events stored once per messageId, `last_seen_at`
 * coalesced per profile, rejects for everything that could not be stored whole.
 *
 * Every step is idempotent, so a message that fails transiently is simply delivered again and
 * re-applied in full; permanent problems are recorded as rejects and never retried.
 *
 * @example
 * const { failedRecordIds } = await normalizeBatch(records, store, () => new Date().toISOString());
 */
export async function normalizeBatch(
  records: QueueRecord[],
  store: ModelStore,
  now: () => string,
  settings: NormalizeSettings = { pendingRetentionDays: 14 },
): Promise<BatchOutcome> {
  const failed = new Set<string>();
  const rejects: BatchReject[] = [];
  /** Calls that shared a step a permanent error stopped: run again alone at the end (call-isolation.ts). */
  const suspects = new Map<string, SuspectCall>();
  const stats: BatchStats = {
    records: records.length,
    calls: 0,
    pending: 0,
    deletedUsers: 0,
    refusedForDeletedUsers: 0,
    eventsStored: 0,
    duplicates: 0,
    profilesWritten: 0,
    membershipsAdded: 0,
    eventsReattributed: 0,
    rejects: 0,
    failedRecords: 0,
  };

  /**
   * Runs one storage step for the records that contributed to it. A retryable failure sends those
   * records back to SQS; a permanent one becomes a reject of the call involved, or, when the step
   * served several calls, sets them aside to be run again alone.
   */
  const guard = async (units: CallUnit[], step: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      const retryable = !(error instanceof IngestError) || error.retryable;
      if (retryable) {
        for (const unit of units) failed.add(unit.recordId);
        return;
      }
      if (new Set(units.map(unitKey)).size > 1) {
        for (const u of units) {
          const { recordId, index, raw, origin } = u;
          suspects.set(unitKey(u), { recordId, index, raw, origin });
        }
        return;
      }
      for (const unit of units) {
        rejects.push({
          recordIds: [unit.recordId],
          call: unitKey(unit),
          reject: {
            workspaceId: unit.call.workspaceId,
            source: unit.call.source,
            messageId: unit.call.messageId,
            code: (error as IngestError).code,
            field: step,
            message: (error as IngestError).message,
            value: null,
          },
        });
      }
    }
  };

  const parsed = await fixDeliveryTimes(parseRecords(records, rejects), store, guard);
  stats.calls = parsed.length;
  // Calls refused because their user is deleted: an earlier delivery of one may have written
  // before the deletion's sweep, so the deletion re-check at the end covers them too.
  const refusedForDeletion: CallUnit[] = [];
  const { units, changedAliases } = await resolveIdentity(
    parsed,
    store,
    guard,
    rejects,
    stats,
    now,
    settings,
    refusedForDeletion,
  );
  for (const unit of units) {
    const userId = firstUserId(unit.call);
    for (const problem of unit.call.problems) {
      rejects.push({
        recordIds: [unit.recordId],
        reject: problemReject({ ...unit.call, userId }, problem),
        call: unitKey(unit),
      });
    }
  }

  await writeProfiles(units, store, guard, stats, rejects);
  const memberships = await writeMemberships(units, store, guard, stats);
  await writeEvents(units, store, guard, stats, rejects);
  // Profiles seen by re-attributed events; the batch's own events recorded theirs before writing.
  const seen: SeenMap = new Map();
  await reattributeEvents(memberships, units, store, guard, stats, seen);
  const aliasMoves: AliasMove[] = [];
  await reattributeAliasedEvents(changedAliases, store, guard, stats, seen, aliasMoves);

  await touchSeenProfiles(seen, store, guard);

  // A call set aside writes its rejects in its own run: writing them here as well would count them twice.
  const ownRejects = rejects.filter((r) => r.call === undefined || !suspects.has(r.call));
  if (ownRejects.length > 0) {
    for (const id of await saveRejectsIsolated(store, ownRejects, now())) failed.add(id);
  }
  stats.rejects = ownRejects.length;
  const runAlone = (one: QueueRecord[]) => normalizeBatch(one, store, now, settings);
  for (const id of await rerunAlone(suspects.values(), failed, runAlone, stats)) failed.add(id);

  // Last: every write above was checked against tombstones read at the start of the batch. (After
  // the rejects, which a deletion removes with the user.) Any failure here sends the records back,
  // permanent or not: setting the calls aside would not do, since a call run alone after its user's
  // deletion is refused and never undoes what this batch wrote; the retry does it again, or ends in
  // the dead-letter queue, where an alarm says so.
  const undoGuard: Guard = async (units, _step, work) => {
    try {
      await work();
    } catch {
      for (const unit of units) failed.add(unit.recordId);
    }
  };
  await undoWritesAboutDeletedUsers([...units, ...refusedForDeletion], aliasMoves, store, undoGuard, now);

  stats.failedRecords = failed.size;
  return { failedRecordIds: records.filter((r) => failed.has(r.id)).map((r) => r.id), stats };
}

/** Parses every record's body and calls; what cannot be parsed becomes a reject of its own. */
function parseRecords(records: QueueRecord[], rejects: BatchReject[]): CallUnit[] {
  const units: CallUnit[] = [];
  for (const record of records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = undefined;
    }
    const message = RawQueueMessage.safeParse(body);
    if (!message.success) {
      rejects.push({
        recordIds: [record.id],
        reject: {
          workspaceId:
            typeof (body as { workspaceId?: unknown })?.workspaceId === "string"
              ? (body as { workspaceId: string }).workspaceId
              : "unknown",
          source: "unknown",
          messageId: `sqs-${record.id}`,
          code: "message.invalid",
          field: "body",
          message: `queue message is not a raw ingest message: ${message.error ? describeIssues(message.error) : "not JSON"}`,
          value: record.body.slice(0, 2048),
        },
      });
      continue;
    }
    const meta = {
      workspaceId: message.data.workspaceId,
      source: message.data.source,
      receivedAt: message.data.receivedAt,
      route: message.data.route,
    };
    const { calls, ...origin } = message.data;
    calls.forEach((raw, index) => {
      const call = SegmentCall.safeParse(raw);
      if (!call.success) {
        const messageId =
          typeof raw.messageId === "string" || typeof raw.messageId === "number"
            ? String(raw.messageId)
            : `${message.data.requestId}#${index}`;
        rejects.push({
          recordIds: [record.id],
          reject: {
            ...meta,
            messageId,
            code: "envelope.invalid",
            field: "call",
            message: describeIssues(call.error),
            value: raw,
          },
        });
        return;
      }
      // Ids over the id rules never reach a key (ingest refuses them; this covers older or redriven messages).
      const idReject = callIdReject(raw, { ...meta, fallbackMessageId: `${message.data.requestId}#${index}` });
      if (idReject) {
        rejects.push({ recordIds: [record.id], reject: idReject });
        return;
      }
      // The raw call, not zod's copy: the parse drops `__proto__` keys, which the rules must see to report.
      units.push({ recordId: record.id, index, origin, call: normalizeCall(raw as SegmentCall, meta), raw });
    });
  }
  return units;
}

type Guard = (units: CallUnit[], step: string, work: () => Promise<void>) => Promise<void>;

/**
 * A call whose ordering time comes from its delivery (no usable timestamp, one too far in the
 * future, or `sentAt`) orders by its first receipt, recorded per call content: a redelivery, which
 * ingest stamps with a new receive time, then orders exactly as the first delivery did and so can
 * never overwrite newer data (spec 3.1). A call stamped after this delivery's receive time looks its
 * first receipt up too: its first delivery may have come early enough for the stamp to be too far
 * in the future. Calls whose first receipt cannot be read are sent back.
 */
async function fixDeliveryTimes(units: CallUnit[], store: ModelStore, guard: Guard): Promise<CallUnit[]> {
  const fixed = new Map<CallUnit, CallUnit | null>();
  const concerned = (u: CallUnit) => u.call.fromDelivery || u.call.time > u.call.receivedAt;
  for (const [ws, group] of groupByWorkspace(units.filter(concerned))) {
    const hashes = new Map(group.map((u) => [u, callContentHash(u.raw, { tracking: u.origin.route === "tracking" })]));
    const receipts = new Map<string, CallReceipt>();
    for (const u of group) {
      const hash = hashes.get(u) as string;
      const known = receipts.get(hash);
      const receipt = {
        hash,
        messageId: u.call.messageId,
        receivedAt: u.call.receivedAt,
        time: u.call.time,
        record: u.call.fromDelivery,
      };
      // Two deliveries of one call in one batch: the earlier receipt is the first.
      if (!known || u.call.receivedAt < known.receivedAt) receipts.set(hash, receipt);
    }
    let first = new Map<string, { receivedAt: string; time: string }>();
    let read = false;
    await guard(group, "first_receipt", async () => {
      first = await store.firstReceipts(ws, [...receipts.values()]);
      read = true;
    });
    for (const unit of group) {
      const receipt = first.get(hashes.get(unit) as string);
      // Not read: the record is already sent back. No receipt: the call never depended on its
      // delivery, and orders by its own time.
      if (!read) fixed.set(unit, null);
      else if (receipt) {
        const meta = {
          workspaceId: ws,
          source: unit.call.source,
          receivedAt: receipt.receivedAt,
          fixedTime: receipt.time,
          route: unit.origin.route,
        };
        fixed.set(unit, { ...unit, call: normalizeCall(unit.raw as SegmentCall, meta) });
      }
    }
  }
  return units.flatMap((u) => {
    const f = fixed.get(u);
    return f === undefined ? [u] : f === null ? [] : [f];
  });
}

/** Merges every profile write of the batch, one read-merge-write per profile, with optimistic locking. */
async function writeProfiles(
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  rejects: BatchReject[],
): Promise<void> {
  const groups = new Map<
    string,
    { ref: ProfileRef; writes: { fields: Record<string, FieldValue>; stamp: Stamp; unit: CallUnit }[] }
  >();
  for (const unit of units) {
    for (const write of unit.call.profiles) {
      const ref = { workspaceId: unit.call.workspaceId, kind: write.kind, id: write.id };
      const key = profileKey(ref);
      const group = groups.get(key) ?? { ref, writes: [] };
      group.writes.push({ fields: write.fields, stamp: unit.call.stamp, unit });
      groups.set(key, group);
    }
  }
  const list = [...groups.values()];
  // One read for every profile of the batch; a profile re-reads alone only after losing a race.
  let preloaded = new Map<string, StoredProfile>();
  await guard(
    list.flatMap((g) => g.writes.map((w) => w.unit)),
    "profile_read",
    async () => {
      preloaded = await store.loadProfiles(list.map((g) => g.ref));
    },
  );
  await eachLimited(list, CONCURRENCY, (group) =>
    guard(
      group.writes.map((w) => w.unit),
      "profile",
      async () => {
        for (let attempt = 0; attempt < MAX_PROFILE_ATTEMPTS; attempt++) {
          // Jittered backoff after a lost race, so a crowd of writers does not collide in lockstep.
          if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 5)));
          const stored =
            attempt === 0
              ? preloaded.get(profileKey(group.ref))
              : (await store.loadProfiles([group.ref])).get(profileKey(group.ref));
          let fields = stored?.fields ?? {};
          let changed = false;
          for (const write of group.writes) {
            const merged = mergeFields(fields, write.fields, write.stamp);
            if (!merged.changed) continue;
            if (Buffer.byteLength(canonicalJson(merged.fields)) > MAX_PROFILE_BYTES) {
              rejects.push({
                recordIds: [write.unit.recordId],
                call: unitKey(write.unit),
                reject: problemReject(write.unit.call, {
                  code: "trait.too_large",
                  field: "traits",
                  message: `the ${group.ref.kind} profile would exceed ${MAX_PROFILE_BYTES} bytes; this call's traits were not stored`,
                  value: Object.keys(write.fields),
                }),
              });
              continue;
            }
            fields = merged.fields;
            changed = true;
          }
          // A profile seen for the first time is written even with no fields: it exists now.
          if (!changed && stored) return;
          const bucket = group.ref.kind === "account" ? accountBucket(fields) : undefined;
          if (await store.saveProfile(group.ref, fields, stored?.version ?? 0, bucket)) {
            stats.profilesWritten++;
            return;
          }
        }
        throw new IngestError(
          "profile.contention",
          `profile ${group.ref.kind} kept changing under concurrent writers`,
          {
            retryable: true,
          },
        );
      },
    ),
  );
}

/** The memberships of a batch that may move stored events to another account. */
interface MembershipChanges {
  /** Written by this batch: new, or with an earlier `since`. */
  changed: MembershipEdge[];
  /**
   * Already stored with exactly this batch's `since`: possibly by an earlier delivery of these same
   * calls that failed (or whose worker died) after writing the membership and before re-attributing
   * the user's events. That step is redone, since nothing else would ever redo it.
   */
  repeated: MembershipEdge[];
}

/** Writes each membership once per batch with the earliest time seen; returns those that changed. */
async function writeMemberships(
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
): Promise<MembershipChanges> {
  const edges = new Map<string, { edge: MembershipEdge; units: CallUnit[] }>();
  for (const unit of units) {
    for (const m of unit.call.memberships) {
      const key = `${unit.call.workspaceId}\u0000${m.accountId}\u0000${m.userId}`;
      const entry = edges.get(key) ?? {
        edge: { workspaceId: unit.call.workspaceId, accountId: m.accountId, userId: m.userId, since: unit.call.time },
        units: [],
      };
      if (unit.call.time < entry.edge.since) entry.edge.since = unit.call.time;
      entry.units.push(unit);
      edges.set(key, entry);
    }
  }
  const changed: MembershipEdge[] = [];
  // Most memberships repeat (every identify names the user's account): read them all once, write only news.
  let known = new Map<string, string>();
  const all = [...edges.values()];
  let read = all.length === 0;
  if (!read) {
    await guard(
      all.flatMap((e) => e.units),
      "membership_read",
      async () => {
        known = await store.loadMemberships(all.map((e) => e.edge));
        read = true;
      },
    );
  }
  if (!read) return { changed, repeated: [] };
  const toWrite = all.filter((e) => {
    const since = known.get(membershipKey(e.edge));
    return since === undefined || since > e.edge.since;
  });
  const repeated = all.filter((e) => known.get(membershipKey(e.edge)) === e.edge.since).map((e) => e.edge);
  await eachLimited(toWrite, CONCURRENCY, (entry) =>
    guard(entry.units, "membership", async () => {
      if (await store.saveMembership(entry.edge)) {
        changed.push(entry.edge);
        stats.membershipsAdded++;
      }
    }),
  );
  return { changed, repeated };
}

/** Accounts a user belonged to at a time: memberships whose `since` is not after it. */
function accountsAt(memberships: { accountId: string; since: string }[], time: string): string[] {
  return memberships.filter((m) => m.since <= time).map((m) => m.accountId);
}

type SeenMap = Map<string, { ref: ProfileRef; time: string; months: Set<string>; units: CallUnit[] }>;

/**
 * Keeps `last_seen_at` and `event_months` of every profile seen in the batch, one read for all of
 * them and a write only where this batch moves them (late events usually do not). Returns the
 * profile keys whose touch failed (their records are sent back).
 */
async function touchSeenProfiles(seen: SeenMap, store: ModelStore, guard: Guard): Promise<Set<string>> {
  const entries = [...seen.values()];
  const failed = new Set<string>();
  if (entries.length === 0) return failed;
  let stored = new Map<string, StoredProfile>();
  let read = false;
  await guard(
    entries.flatMap((e) => e.units),
    "last_seen_read",
    async () => {
      stored = await store.loadProfiles(entries.map((e) => e.ref));
      read = true;
    },
  );
  if (!read) return new Set(seen.keys());
  const stale = entries.filter((entry) => {
    const current = stored.get(profileKey(entry.ref));
    if (!current?.lastSeenAt || current.lastSeenAt < entry.time) return true;
    return [...entry.months].some((m) => !current.eventMonths.includes(m));
  });
  await eachLimited(stale, CONCURRENCY, (entry) =>
    guard(entry.units, "last_seen_at", async () => {
      failed.add(profileKey(entry.ref));
      await store.touchLastSeen(entry.ref, entry.time, [...entry.months]);
      failed.delete(profileKey(entry.ref));
    }),
  );
  return failed;
}

/** Notes that a profile was seen at `time`, by the calls in `units` (whose records fail if the write does). */
function noteSeen(seen: SeenMap, ref: ProfileRef, time: string, units: CallUnit[]): void {
  const key = profileKey(ref);
  const entry = seen.get(key) ?? { ref, time, months: new Set<string>(), units: [] };
  if (time > entry.time) entry.time = time;
  entry.months.add(time.slice(0, 7));
  entry.units.push(...units);
  seen.set(key, entry);
}

/**
 * Resolves, dedupes and stores the batch's events. The profiles' `event_months` (and
 * `last_seen_at`) are recorded before the events are written: re-attribution finds a user's events
 * through those months, so an event stored by a delivery that then failed before recording its
 * month would stay invisible to a membership arriving before the redelivery, and keep its account.
 */
async function writeEvents(
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  rejects: RejectList,
): Promise<void> {
  const eventUnits = units.filter((u) => u.call.event !== null);
  if (eventUnits.length === 0) return;

  // The accounts of every user whose events name none, read once per batch.
  const userKeys = new Map<string, { ws: string; userId: string; units: CallUnit[] }>();
  for (const unit of eventUnits) {
    const event = unit.call.event!;
    if (!event.account_from_user || event.user_id === null) continue;
    const key = `${unit.call.workspaceId}\u0000${event.user_id}`;
    const entry = userKeys.get(key) ?? { ws: unit.call.workspaceId, userId: event.user_id, units: [] };
    entry.units.push(unit);
    userKeys.set(key, entry);
  }
  const memberships = new Map<string, { accountId: string; since: string }[]>();
  await eachLimited([...userKeys.entries()], CONCURRENCY, ([key, entry]) =>
    guard(entry.units, "membership_lookup", async () => {
      memberships.set(key, await store.userMemberships(entry.ws, entry.userId));
    }),
  );

  // One event per workspace + messageId: copies of one call are duplicates; of different calls
  // sharing the id, the one that ranks highest wins, whatever the order (spec 3.2).
  const byWorkspace = new Map<string, Map<string, { event: StoredEvent; units: CallUnit[] }>>();
  for (const unit of eventUnits) {
    const raw = unit.call.event!;
    const key = `${unit.call.workspaceId}\u0000${raw.user_id}`;
    // The user's memberships could not be read: resolving without them would store the event with
    // no account, and a redelivery finds it stored and keeps it. Its record is already sent back.
    if (raw.account_from_user && raw.user_id !== null && !memberships.has(key)) continue;
    const resolved =
      raw.account_from_user && raw.user_id !== null
        ? resolveEventAccount(raw, accountsAt(memberships.get(key) ?? [], raw.timestamp))
        : raw.account_from_user
          ? resolveEventAccount(raw, [])
          : raw;
    const events: Map<string, { event: StoredEvent; units: CallUnit[] }> =
      byWorkspace.get(unit.call.workspaceId) ?? new Map();
    const incoming = { event: { ...resolved, workspace_id: unit.call.workspaceId }, units: [unit] };
    const existing = events.get(resolved.event_id);
    if (!existing) events.set(resolved.event_id, incoming);
    else if (sameCall(existing.event, incoming.event)) {
      existing.units.push(unit);
      stats.duplicates++;
    } else {
      const [winner, loser] =
        eventRank(incoming.event, existing.event) > 0 ? [incoming, existing] : [existing, incoming];
      events.set(resolved.event_id, winner);
      rejects.push(
        ...loser.units.map((u) => ({ recordIds: [u.recordId], reject: conflictReject(loser.event), call: unitKey(u) })),
      );
    }
    byWorkspace.set(unit.call.workspaceId, events);
  }

  for (const [ws, events] of byWorkspace) {
    const allUnits = [...events.values()].flatMap((e) => e.units);
    let existing = new Map<string, EventVersion>();
    let looked = false;
    await guard(allUnits, "event_lookup", async () => {
      existing = await store.existingEvents(ws, [...events.keys()]);
      looked = true;
    });
    if (!looked) continue;
    // A stored event of another call with this id that ranks higher keeps its place: this one is
    // the conflict's loser, recorded before it can touch any profile's last seen.
    const all: { event: StoredEvent; units: CallUnit[] }[] = [];
    const conflicts: { event: StoredEvent; units: CallUnit[] }[] = [];
    for (const entry of events.values()) {
      const stored = existing.get(entry.event.event_id);
      if (stored && !sameCall(stored, entry.event) && eventRank(stored, entry.event) > 0) {
        rejects.push(
          ...entry.units.map((u) => ({
            recordIds: [u.recordId],
            reject: conflictReject(entry.event),
            call: unitKey(u),
          })),
        );
        continue;
      }
      all.push(entry);
      if (stored && !sameCall(stored, entry.event)) conflicts.push(entry);
    }
    const seen: SeenMap = new Map();
    for (const { event, units: eventUnitsOf } of all) {
      if (event.user_id !== null)
        noteSeen(seen, { workspaceId: ws, kind: "user", id: event.user_id }, event.timestamp, eventUnitsOf);
      if (event.account_id !== null) {
        noteSeen(seen, { workspaceId: ws, kind: "account", id: event.account_id }, event.timestamp, eventUnitsOf);
      }
    }
    const duplicates = all.filter((e) => existing.has(e.event.event_id) && !conflicts.includes(e)).length;
    stats.duplicates += duplicates;
    const unrecorded = await touchSeenProfiles(seen, store, guard);
    const recorded = (kind: "user" | "account", id: string | null) =>
      id === null || !unrecorded.has(profileKey({ workspaceId: ws, kind, id }));
    const fresh = all.filter(
      (e) =>
        !existing.has(e.event.event_id) && recorded("user", e.event.user_id) && recorded("account", e.event.account_id),
    );
    // Chunks so one failing write sends back only the records whose events it carried. A write
    // never replaces another call's event: that one is settled as a conflict below.
    const collided: typeof fresh = [];
    for (let i = 0; i < fresh.length; i += 25) {
      const chunk = fresh.slice(i, i + 25);
      await guard(
        chunk.flatMap((e) => e.units),
        "event",
        async () => {
          const taken = await store.insertEvents(chunk.map((e) => e.event));
          collided.push(...chunk.filter((e) => taken.has(e.event.event_id)));
          stats.eventsStored += chunk.length - taken.size;
        },
      );
    }
    await settleConflicts(
      ws,
      [
        ...collided,
        ...conflicts.filter((e) => recorded("user", e.event.user_id) && recorded("account", e.event.account_id)),
      ],
      store,
      guard,
      rejects,
    );
    await recheckUserAccounts(ws, fresh, memberships, store, guard, stats);
  }
}

/** Whether a stored event and an incoming one come from the same call (legacy events have no hash). */
function sameCall(stored: Pick<EventVersion, "content_hash">, incoming: Pick<EventVersion, "content_hash">): boolean {
  return stored.content_hash === undefined || stored.content_hash === incoming.content_hash;
}

/** Orders two calls sharing a messageId: the later ordering time wins, then the greater content hash. */
function eventRank(
  a: Pick<EventVersion, "timestamp" | "content_hash">,
  b: Pick<EventVersion, "timestamp" | "content_hash">,
): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? 1 : -1;
  const [ha, hb] = [a.content_hash ?? "", b.content_hash ?? ""];
  return ha === hb ? 0 : ha > hb ? 1 : -1;
}

/** The reject of the call that lost a messageId conflict: the same record whichever order they came in. */
function conflictReject(loser: EventVersion & { workspace_id: string }): RejectRecord {
  return {
    workspaceId: loser.workspace_id,
    source: loser.source,
    messageId: loser.event_id,
    ...(loser.user_id ? { userId: loser.user_id } : {}),
    code: "message_id.conflict",
    field: "messageId",
    message: "another call with this messageId was stored (the later one, by event time, then by content)",
    value: {
      type: loser.type,
      event_name: loser.event_name,
      timestamp: loser.timestamp,
      user_id: loser.user_id,
      content_hash: loser.content_hash,
    },
  };
}

/**
 * Events whose id is taken by another call's event (found before writing, or by a concurrent
 * normalizer's write that won the insert): the call that ranks higher is put in place (only over
 * the very event read), the other is recorded as the loser, and a profile the loser had touched gets
 * its last seen recomputed. Whatever the interleaving, both normalizers converge on the winner.
 */
async function settleConflicts(
  ws: string,
  written: { event: StoredEvent; units: CallUnit[] }[],
  store: ModelStore,
  guard: Guard,
  rejects: RejectList,
): Promise<void> {
  if (written.length === 0) return;
  await guard(
    written.flatMap((e) => e.units),
    "event_conflict",
    async () => {
      let pending = written;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_PROFILE_ATTEMPTS) {
          throw new IngestError("event.contention", "calls sharing a messageId kept replacing each other", {
            retryable: true,
          });
        }
        const stored = await store.existingEvents(
          ws,
          pending.map((e) => e.event.event_id),
        );
        const retry: typeof pending = [];
        for (const entry of pending) {
          const current = stored.get(entry.event.event_id);
          // Gone (a deletion swept it) or ours: nothing to settle.
          if (!current || sameCall(current, entry.event)) continue;
          const loser = eventRank(entry.event, current) > 0 ? current : entry.event;
          if (loser === current) {
            if (!(await store.replaceEvent(entry.event, current.content_hash as string))) {
              retry.push(entry);
              continue;
            }
          }
          rejects.push(
            ...entry.units.map((u) => ({
              recordIds: [u.recordId],
              reject: conflictReject({ ...loser, workspace_id: ws }),
              call: unitKey(u),
            })),
          );
          const winner = loser === current ? entry.event : current;
          if (loser.user_id !== null && loser.user_id !== winner.user_id)
            await store.recomputeLastSeen({ workspaceId: ws, kind: "user", id: loser.user_id });
          if (loser.account_id !== null && loser.account_id !== winner.account_id)
            await store.recomputeLastSeen({ workspaceId: ws, kind: "account", id: loser.account_id });
        }
        pending = retry;
      }
    },
  );
}

/**
 * Another normalizer may have stored a membership of the user between this batch's membership
 * read and its event write, and looked for the user's events before they existed. Reading the
 * memberships again after the write closes that gap: whichever of the two runs second sees the
 * other's write. Events whose account changes are recorded (months, last seen) and rewritten.
 */
async function recheckUserAccounts(
  ws: string,
  written: { event: StoredEvent; units: CallUnit[] }[],
  before: Map<string, { accountId: string; since: string }[]>,
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
): Promise<void> {
  const byUser = new Map<string, { event: StoredEvent; units: CallUnit[] }[]>();
  for (const e of written) {
    if (!e.event.account_from_user || e.event.user_id === null) continue;
    byUser.set(e.event.user_id, [...(byUser.get(e.event.user_id) ?? []), e]);
  }
  await eachLimited([...byUser.entries()], CONCURRENCY, ([userId, events]) =>
    guard(
      events.flatMap((e) => e.units),
      "membership_recheck",
      async () => {
        const now = await store.userMemberships(ws, userId);
        const earlier = before.get(`${ws}\u0000${userId}`) ?? [];
        const same = (a: typeof now, b: typeof now) =>
          a.length === b.length && a.every((m) => b.some((n) => n.accountId === m.accountId && n.since === m.since));
        if (same(now, earlier)) return;
        const seen: SeenMap = new Map();
        const losers = new Set<string>();
        const updates: StoredEvent[] = [];
        for (const { event, units } of events) {
          const next = resolveEventAccount(event, accountsAt(now, event.timestamp));
          if (next.account_id === event.account_id && next.account_resolution === event.account_resolution) continue;
          if (next.account_id !== null) {
            noteSeen(seen, { workspaceId: ws, kind: "account", id: next.account_id }, next.timestamp, units);
          }
          if (event.account_id !== null && event.account_id !== next.account_id) losers.add(event.account_id);
          updates.push({ ...next, workspace_id: ws });
        }
        if (updates.length === 0) return;
        // Months and last seen first, as for any event write (see writeEvents).
        if ((await touchSeenProfiles(seen, store, guard)).size > 0) {
          throw new IngestError("event.recheck_incomplete", "could not record the re-resolved events' accounts", {
            retryable: true,
          });
        }
        await store.rewriteEvents(updates);
        for (const accountId of losers)
          await store.recomputeLastSeen({ workspaceId: ws, kind: "account", id: accountId });
        stats.eventsReattributed += updates.length;
      },
    ),
  );
}

/**
 * A new membership (or an earlier `since`) can change which account earlier-stored events of the
 * user belong to: recompute those events so the stored state does not depend on arrival order.
 */
async function reattributeEvents(
  { changed, repeated }: MembershipChanges,
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  seen: SeenMap,
): Promise<void> {
  const byUser = new Map<string, { ws: string; userId: string; from: string; redo: boolean }>();
  const add = (edge: MembershipEdge, redo: boolean) => {
    const key = `${edge.workspaceId}\u0000${edge.userId}`;
    const entry = byUser.get(key);
    if (!entry || edge.since < entry.from) {
      byUser.set(key, { ws: edge.workspaceId, userId: edge.userId, from: edge.since, redo: redo || !!entry?.redo });
    } else if (redo) entry.redo = true;
  };
  for (const edge of changed) add(edge, false);
  for (const edge of repeated) add(edge, true);
  const involved = (ws: string, userId: string) =>
    units.filter((u) => u.call.workspaceId === ws && u.call.memberships.some((m) => m.userId === userId));
  await eachLimited([...byUser.values()], CONCURRENCY, (entry) => {
    const involvedUnits = involved(entry.ws, entry.userId);
    return guard(involvedUnits, "reattribute", async () => {
      const memberships = await store.userMemberships(entry.ws, entry.userId);
      const events = await store.userEventsResolvedFromMemberships(entry.ws, entry.userId, entry.from);
      const updates: StoredEvent[] = [];
      const losers = new Set<string>();
      for (const event of events) {
        const next = resolveEventAccount(event, accountsAt(memberships, event.timestamp));
        // Noted even when unchanged: a redo must still bump what an interrupted first run did not.
        if (next.account_id !== null && (entry.redo || next.account_id !== event.account_id)) {
          noteSeen(
            seen,
            { workspaceId: entry.ws, kind: "account", id: next.account_id },
            next.timestamp,
            involvedUnits,
          );
        }
        if (next.account_id === event.account_id && next.account_resolution === event.account_resolution) continue;
        updates.push({ ...next, workspace_id: entry.ws });
        if (event.account_id !== null && event.account_id !== next.account_id) losers.add(event.account_id);
      }
      // An interrupted first run may have moved events without recomputing the accounts they left,
      // which can only be accounts of the user's memberships.
      if (entry.redo) for (const m of memberships) losers.add(m.accountId);
      await store.rewriteEvents(updates);
      // An account that lost events may have been seen last in one of them.
      for (const accountId of losers)
        await store.recomputeLastSeen({ workspaceId: entry.ws, kind: "account", id: accountId });
      stats.eventsReattributed += updates.length;
    });
  });
}

type RejectList = BatchReject[];

interface ChangedAlias {
  workspaceId: string;
  from: string;
  to: string;
  previous?: string;
  unit: CallUnit;
}

function groupByWorkspace(list: CallUnit[]): Map<string, CallUnit[]> {
  const groups = new Map<string, CallUnit[]>();
  for (const item of list) groups.set(item.call.workspaceId, [...(groups.get(item.call.workspaceId) ?? []), item]);
  return groups;
}

/**
 * Identity before anything is written (spec 3.5): ids from non-primary sources translated through
 * entity maps (or the call held as pending), calls about deleted users refused, deletions applied,
 * alias links saved, and events that carry only an anonymous id attributed to the linked user.
 */
async function resolveIdentity(
  parsed: CallUnit[],
  store: ModelStore,
  guard: Guard,
  rejects: RejectList,
  stats: BatchStats,
  now: () => string,
  settings: NormalizeSettings,
  refusedOut: CallUnit[],
): Promise<{ units: CallUnit[]; changedAliases: ChangedAlias[] }> {
  const translated = await translateIds(parsed, store, guard, stats, now, settings);
  const kept = await refuseDeletedUsers(translated, store, guard, rejects, stats, now, refusedOut);

  for (const unit of kept) {
    const deletion = unit.call.deletion;
    if (!deletion) continue;
    await guard([unit], "deletion", async () => {
      await forget(store, unit.call.workspaceId, { userId: deletion.userId }, now());
      stats.deletedUsers++;
    });
  }
  const units = kept.filter((u) => !u.call.deletion);

  // Alias links before events, so this batch's anonymous events are attributed too.
  const changedAliases: ChangedAlias[] = [];
  await eachLimited(
    units.filter((u) => u.call.aliases.length > 0),
    CONCURRENCY,
    (unit) =>
      guard([unit], "alias", async () => {
        for (const link of unit.call.aliases) {
          const saved = await store.saveAlias(unit.call.workspaceId, link.from, link.to, unit.call.time);
          if (saved.changed) {
            changedAliases.push({
              workspaceId: unit.call.workspaceId,
              from: link.from,
              to: link.to,
              previous: saved.previous,
              unit,
            });
          }
        }
      }),
  );
  return { units: await attributeAnonymousEvents(units, store, guard), changedAliases };
}

/** Ids of non-primary sources through entity maps; a call with an unmapped id is held as pending. */
async function translateIds(
  parsed: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  now: () => string,
  settings: NormalizeSettings,
): Promise<CallUnit[]> {
  const translated: CallUnit[] = [];
  for (const [ws, group] of groupByWorkspace(parsed)) {
    const refs = group.flatMap((u) => idsToTranslate(u.call));
    let maps = new Map<string, string>();
    let lookedUp = refs.length === 0;
    if (!lookedUp) {
      await guard(group, "entity_map", async () => {
        maps = await store.lookupEntityMaps(ws, refs);
        lookedUp = true;
      });
    }
    if (!lookedUp) continue;
    for (const unit of group) {
      const result = translateCall(unit.call, (ref) => maps.get(entityRefKey(ref)));
      if (result.call) {
        translated.push({ ...unit, call: result.call });
        continue;
      }
      const heldAt = now();
      // The TTL is a safety net a week past retention; the expiry sweep records the reject first.
      const expiresAt = Math.floor(Date.parse(heldAt) / 1000) + (settings.pendingRetentionDays + 7) * 86400;
      const pending = {
        workspaceId: ws,
        source: unit.call.source,
        messageId: unit.call.messageId,
        time: unit.call.time,
        heldAt,
        receivedAt: unit.call.receivedAt,
        ...(unit.origin.route === undefined ? {} : { route: unit.origin.route }),
        call: unit.raw,
        missing: result.missing,
      };
      await guard([unit], "pending", () => store.holdPending(pending, expiresAt));
      stats.pending++;
    }
  }
  return translated;
}

/** The users a call is about: its user profile, its event's user, the users its aliases link to. */
function coreUserIdsOf(call: NormalizedCall): string[] {
  const ids = new Set<string>();
  for (const p of call.profiles) if (p.kind === "user") ids.add(p.id);
  if (call.event?.user_id) ids.add(call.event.user_id);
  for (const a of call.aliases) ids.add(a.to);
  // An identify's memberships are the user's own (its company traits): about the user too.
  if (call.type === "identify") for (const m of call.memberships) ids.add(m.userId);
  return [...ids];
}

/** The anonymous ids a call carries: its event's when it has no userId, and the ids its aliases link. */
function anonymousIdsOf(call: NormalizedCall): string[] {
  const ids = new Set(call.aliases.map((a) => a.from));
  if (call.event && call.event.user_id === null && call.event.anonymous_id !== null) ids.add(call.event.anonymous_id);
  return [...ids];
}

/**
 * Calls about a deleted user (or one deleted in this very batch), or carrying only an anonymous id
 * of one, become `user.deleted` rejects (spec 3.5a). A refused call that links an anonymous id to
 * the deleted user makes that id deleted too, whenever it arrives: the deletion may have come
 * first and never known the id. A live user's call keeps everything but a link from a deleted id.
 */
async function refuseDeletedUsers(
  translated: CallUnit[],
  store: ModelStore,
  guard: Guard,
  rejects: RejectList,
  stats: BatchStats,
  now: () => string,
  refusedOut: CallUnit[],
): Promise<CallUnit[]> {
  const kept: CallUnit[] = [];
  for (const [ws, group] of groupByWorkspace(translated)) {
    const deleting = new Set(group.flatMap((u) => (u.call.deletion ? [u.call.deletion.userId] : [])));
    const ids = [...new Set(group.flatMap((u) => userIdsOf(u.call)))];
    const anonymousIds = [...new Set(group.flatMap((u) => anonymousIdsOf(u.call)))];
    let deleted = new Set<string>();
    let deletedAnonymous = new Set<string>();
    let checked = ids.length === 0 && anonymousIds.length === 0;
    if (!checked) {
      await guard(group, "tombstone", async () => {
        [deleted, deletedAnonymous] = await Promise.all([
          ids.length === 0 ? new Set<string>() : store.deletedUsers(ws, ids),
          anonymousIds.length === 0 ? new Set<string>() : store.deletedAnonymousIds(ws, anonymousIds),
        ]);
        checked = true;
      });
    }
    if (!checked) continue;
    const isDeleted = (id: string) => deleted.has(id) || deleting.has(id);
    const refuse = (unit: CallUnit, field: string, value: Record<string, unknown>) => {
      stats.refusedForDeletedUsers++;
      rejects.push({
        call: unitKey(unit),
        recordIds: [unit.recordId],
        reject: {
          workspaceId: ws,
          source: unit.call.source,
          messageId: unit.call.messageId,
          code: "user.deleted",
          field,
          message: "the user was deleted; calls about them are not stored",
          // Only the id: the call's data belongs to a user who asked to be forgotten.
          value: { ...value, type: unit.call.type },
        },
      });
    };
    const orphaned: { unit: CallUnit; anonymousId: string }[] = [];
    for (let unit of group) {
      if (unit.call.deletion) {
        kept.push(unit);
        continue;
      }
      const refused = coreUserIdsOf(unit.call).find(isDeleted);
      if (refused !== undefined) {
        for (const link of unit.call.aliases) {
          if (isDeleted(link.to) && !deletedAnonymous.has(link.from)) orphaned.push({ unit, anonymousId: link.from });
        }
        refuse(unit, "userId", { user_id: refused });
        refusedOut.push(unit);
        continue;
      }
      // A group call naming a deleted user: the account's traits are kept, the membership is not, as
      // when the group call came before the deletion (which removed the membership).
      const gone = unit.call.memberships.filter((m) => isDeleted(m.userId));
      if (gone.length > 0) {
        refuse(unit, "userId", { user_id: gone[0]?.userId });
        unit = {
          ...unit,
          call: { ...unit.call, memberships: unit.call.memberships.filter((m) => !isDeleted(m.userId)) },
        };
      }
      const event = unit.call.event;
      if (event && event.user_id === null && event.anonymous_id !== null && deletedAnonymous.has(event.anonymous_id)) {
        refuse(unit, "anonymousId", { anonymous_id: event.anonymous_id });
        refusedOut.push(unit);
        continue;
      }
      const blocked = unit.call.aliases.filter((a) => deletedAnonymous.has(a.from));
      if (blocked.length === 0) {
        kept.push(unit);
        continue;
      }
      refuse(unit, "anonymousId", { anonymous_id: blocked[0]?.from });
      kept.push({
        ...unit,
        call: { ...unit.call, aliases: unit.call.aliases.filter((a) => !deletedAnonymous.has(a.from)) },
      });
    }
    await eachLimited(orphaned, CONCURRENCY, ({ unit, anonymousId }) =>
      guard([unit], "anonymous_deletion", async () => {
        await forget(store, ws, { anonymousId }, now());
      }),
    );
  }
  return kept;
}

/** Events with only an anonymous id get the user an alias links that id to. */
async function attributeAnonymousEvents(units: CallUnit[], store: ModelStore, guard: Guard): Promise<CallUnit[]> {
  const isAnonymous = (u: CallUnit) =>
    u.call.event !== null && u.call.event.user_id === null && u.call.event.anonymous_id !== null;
  const result: CallUnit[] = [];
  for (const [ws, group] of groupByWorkspace(units)) {
    const anonymous = group.filter(isAnonymous);
    const ids = [...new Set(anonymous.map((u) => u.call.event?.anonymous_id as string))];
    let targets = new Map<string, string>();
    let ok = ids.length === 0;
    if (!ok) {
      await guard(anonymous, "alias_lookup", async () => {
        targets = await store.aliasTargets(ws, ids);
        ok = true;
      });
    }
    for (const unit of group) {
      const event = unit.call.event;
      if (!event || !isAnonymous(unit)) {
        result.push(unit);
        continue;
      }
      if (!ok) continue;
      const userId = targets.get(event.anonymous_id as string);
      const attributedEvent = { ...event, user_id: userId ?? null, user_from_alias: userId !== undefined };
      result.push(userId === undefined ? unit : { ...unit, call: { ...unit.call, event: attributedEvent } });
    }
  }
  return result;
}

/**
 * A new alias link (or one that now points elsewhere) moves the anonymous id's events to the user,
 * so the stored state does not depend on whether the alias or the events arrived first.
 */
async function reattributeAliasedEvents(
  changed: ChangedAlias[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  seen: SeenMap,
  moves: AliasMove[],
): Promise<void> {
  await eachLimited(changed, CONCURRENCY, (alias) =>
    guard([alias.unit], "alias_reattribute", async () => {
      const ws = alias.workspaceId;
      const events = [
        ...(await store.eventsAttributedByAlias(ws, alias.from, null)),
        ...(alias.previous === undefined ? [] : await store.eventsAttributedByAlias(ws, alias.from, alias.previous)),
      ];
      if (events.length === 0) return;
      const memberships = await store.userMemberships(ws, alias.to);
      const losers = new Set<string>();
      const own: SeenMap = new Map();
      const updates: StoredEvent[] = events.map((event) => {
        const moved = { ...event, user_id: alias.to };
        const next = moved.account_from_user
          ? resolveEventAccount(moved, accountsAt(memberships, moved.timestamp))
          : moved;
        if (event.account_id !== null && event.account_id !== next.account_id) losers.add(event.account_id);
        for (const map of [seen, own]) {
          noteSeen(map, { workspaceId: ws, kind: "user", id: alias.to }, next.timestamp, [alias.unit]);
          if (next.account_id !== null) {
            noteSeen(map, { workspaceId: ws, kind: "account", id: next.account_id }, next.timestamp, [alias.unit]);
          }
        }
        return { ...next, workspace_id: ws, user_from_alias: true };
      });
      moves.push({ alias, eventIds: updates.map((e) => e.event_id) });
      // The user's months first, as for any event write: a membership arriving meanwhile finds the
      // moved events through them (see writeEvents), and the memberships are read again after.
      if ((await touchSeenProfiles(own, store, guard)).size > 0) {
        throw new IngestError("event.move_incomplete", "could not record the moved events' months", {
          retryable: true,
        });
      }
      await store.rewriteEvents(updates);
      await recheckUserAccounts(
        ws,
        updates.map((event) => ({ event, units: [alias.unit] })),
        new Map([[`${ws}\u0000${alias.to}`, memberships]]),
        store,
        guard,
        stats,
      );
      for (const accountId of losers)
        await store.recomputeLastSeen({ workspaceId: ws, kind: "account", id: accountId });
      // The user the link pointed to before lost these events, and maybe the one it was last seen in.
      if (alias.previous !== undefined && alias.previous !== alias.to) {
        await store.recomputeLastSeen({ workspaceId: ws, kind: "user", id: alias.previous });
      }
      stats.eventsReattributed += updates.length;
    }),
  );
}

/** Events an alias moved to its user in this batch. */
interface AliasMove {
  alias: ChangedAlias;
  eventIds: string[];
}

/**
 * Deletion under concurrent normalizers (spec 3.5a). The tombstones were read once, at the start
 * of the batch; a deletion processed by another normalizer since then may have swept the user's
 * records before this batch wrote its own (profile, last seen, memberships, aliases, events). So,
 * after writing, the tombstones of every user and anonymous id written about are read again, and
 * for each one now deleted the deletion is run again, naming the events this batch wrote. Either
 * the deletion's sweep ran after these writes (and removed them), or this re-check runs after the
 * tombstone was written (and removes them): no order leaves anything behind.
 */
async function undoWritesAboutDeletedUsers(
  units: CallUnit[],
  moves: AliasMove[],
  store: ModelStore,
  guard: Guard,
  now: () => string,
): Promise<void> {
  type Written = { units: CallUnit[]; eventIds: Set<string> };
  const users = new Map<string, Map<string, Written>>();
  const anonymous = new Map<string, Map<string, Written>>();
  const note = (into: Map<string, Map<string, Written>>, ws: string, id: string, unit: CallUnit, eventId?: string) => {
    const ofWs = into.get(ws) ?? new Map<string, Written>();
    const entry = ofWs.get(id) ?? { units: [], eventIds: new Set<string>() };
    if (!entry.units.includes(unit)) entry.units.push(unit);
    if (eventId !== undefined) entry.eventIds.add(eventId);
    ofWs.set(id, entry);
    into.set(ws, ofWs);
  };
  for (const unit of units) {
    const ws = unit.call.workspaceId;
    const event = unit.call.event;
    for (const id of userIdsOf(unit.call))
      note(users, ws, id, unit, event?.user_id === id ? event.event_id : undefined);
    for (const id of anonymousIdsOf(unit.call)) note(anonymous, ws, id, unit);
    if (event?.anonymous_id) note(anonymous, ws, event.anonymous_id, unit, event.event_id);
  }
  for (const { alias, eventIds } of moves) {
    for (const id of eventIds) {
      note(users, alias.workspaceId, alias.to, alias.unit, id);
      note(anonymous, alias.workspaceId, alias.from, alias.unit, id);
    }
  }
  const workspaces = new Set([...users.keys(), ...anonymous.keys()]);
  for (const ws of workspaces) {
    const ofUsers = users.get(ws) ?? new Map<string, Written>();
    const ofAnonymous = anonymous.get(ws) ?? new Map<string, Written>();
    const allUnits = [...ofUsers.values(), ...ofAnonymous.values()].flatMap((w) => w.units);
    let deleted = new Set<string>();
    let deletedAnonymous = new Set<string>();
    await guard(allUnits, "tombstone_recheck", async () => {
      [deleted, deletedAnonymous] = await Promise.all([
        ofUsers.size === 0 ? new Set<string>() : store.deletedUsers(ws, [...ofUsers.keys()]),
        ofAnonymous.size === 0 ? new Set<string>() : store.deletedAnonymousIds(ws, [...ofAnonymous.keys()]),
      ]);
    });
    const work = [
      ...[...deleted].map((id) => ({ id, written: ofUsers.get(id) as Written, user: true })),
      ...[...deletedAnonymous].map((id) => ({ id, written: ofAnonymous.get(id) as Written, user: false })),
    ];
    await eachLimited(work, CONCURRENCY, ({ id, written, user }) =>
      guard(written.units, "deletion_recheck", async () => {
        await forget(store, ws, user ? { userId: id } : { anonymousId: id }, now(), [...written.eventIds]);
      }),
    );
  }
}

/**
 * Deletes a user or an anonymous id (tombstone first, then everything of it, `eventIds` included
 * however they were found), and recomputes the last seen of the accounts whose events went with it.
 */
async function forget(
  store: ModelStore,
  ws: string,
  who: { userId: string } | { anonymousId: string },
  deletedAt: string,
  eventIds: string[] = [],
): Promise<void> {
  const known = { eventIds };
  const { accountsWithEvents } =
    "userId" in who
      ? await store.deleteUser(ws, who.userId, deletedAt, known)
      : await store.deleteAnonymousId(ws, who.anonymousId, deletedAt, known);
  for (const accountId of accountsWithEvents)
    await store.recomputeLastSeen({ workspaceId: ws, kind: "account", id: accountId });
}
