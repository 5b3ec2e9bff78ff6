import { IngestError } from "../errors";
import { type NormalizedCall, normalizeCall } from "../normalize/call";
import { resolveEventAccount } from "../normalize/event";
import { materializeAccount } from "../normalize/materialize";
import { mergeFields, type Stamp } from "../normalize/merge";
import { canonicalJson } from "../normalize/message-id";
import type { FieldValue } from "../normalize/value";
import { RawQueueMessage } from "../queue-message";
import { describeIssues, SegmentCall } from "../segment/envelope";
import {
  type MembershipEdge,
  type ModelStore,
  type ProfileRef,
  problemReject,
  profileKey,
  type RejectRecord,
  type StoredEvent,
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
const MAX_PROFILE_ATTEMPTS = 8;
/** Concurrent storage requests per batch. */
const CONCURRENCY = 8;

interface CallUnit {
  recordId: string;
  call: NormalizedCall;
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
): Promise<BatchOutcome> {
  const failed = new Set<string>();
  const rejects: { recordIds: string[]; reject: RejectRecord }[] = [];
  const stats: BatchStats = {
    records: records.length,
    calls: 0,
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
   * records back to SQS; a permanent one becomes a reject of each call involved.
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
      for (const unit of units) {
        rejects.push({
          recordIds: [unit.recordId],
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

  const units = parseRecords(records, rejects);
  stats.calls = units.length;
  for (const unit of units) {
    for (const problem of unit.call.problems)
      rejects.push({ recordIds: [unit.recordId], reject: problemReject(unit.call, problem) });
    if (unit.call.deletion) {
      // User deletion arrives with the identity work; until then the request is kept as a reject, not lost.
      rejects.push({
        recordIds: [unit.recordId],
        reject: {
          workspaceId: unit.call.workspaceId,
          source: unit.call.source,
          messageId: unit.call.messageId,
          code: "call.unsupported",
          field: "type",
          message: "delete calls are recorded but not yet applied",
          value: { userId: unit.call.deletion.userId },
        },
      });
    }
  }

  await writeProfiles(units, store, guard, stats, rejects);
  const changedMemberships = await writeMemberships(units, store, guard, stats);
  const seen = new Map<string, { ref: ProfileRef; time: string; months: Set<string>; units: CallUnit[] }>();
  await writeEvents(units, store, guard, stats, seen);
  await reattributeEvents(changedMemberships, units, store, guard, stats, seen);

  await eachLimited([...seen.values()], CONCURRENCY, (entry) =>
    guard(entry.units, "last_seen_at", () => store.touchLastSeen(entry.ref, entry.time, [...entry.months])),
  );

  const aliasUnits = units.filter((u) => u.call.aliases.length > 0);
  await eachLimited(aliasUnits, CONCURRENCY, (unit) =>
    guard([unit], "alias", async () => {
      for (const link of unit.call.aliases)
        await store.saveAlias(unit.call.workspaceId, link.from, link.to, unit.call.time);
    }),
  );

  if (rejects.length > 0) {
    const recordIds = [...new Set(rejects.flatMap((r) => r.recordIds))];
    const ids = new Set(recordIds);
    await guard(
      units.filter((u) => ids.has(u.recordId)),
      "rejects",
      async () => {
        try {
          await store.saveRejects(
            rejects.map((r) => r.reject),
            now(),
          );
        } catch (error) {
          // A reject that cannot be written must not vanish: send its records back whatever the error.
          for (const id of recordIds) failed.add(id);
          throw error;
        }
      },
    );
    stats.rejects = rejects.length;
  }

  stats.failedRecords = failed.size;
  return { failedRecordIds: records.filter((r) => failed.has(r.id)).map((r) => r.id), stats };
}

/** Parses every record's body and calls; what cannot be parsed becomes a reject of its own. */
function parseRecords(records: QueueRecord[], rejects: { recordIds: string[]; reject: RejectRecord }[]): CallUnit[] {
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
    };
    message.data.calls.forEach((raw, index) => {
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
      // The raw call, not zod's copy: the parse drops `__proto__` keys, which the rules must see to report.
      units.push({ recordId: record.id, call: normalizeCall(raw as SegmentCall, meta) });
    });
  }
  return units;
}

type Guard = (units: CallUnit[], step: string, work: () => Promise<void>) => Promise<void>;

/** Merges every profile write of the batch, one read-merge-write per profile, with optimistic locking. */
async function writeProfiles(
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  rejects: { recordIds: string[]; reject: RejectRecord }[],
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
  await eachLimited(list, CONCURRENCY, (group) =>
    guard(
      group.writes.map((w) => w.unit),
      "profile",
      async () => {
        for (let attempt = 0; attempt < MAX_PROFILE_ATTEMPTS; attempt++) {
          const stored = (await store.loadProfiles([group.ref])).get(profileKey(group.ref));
          let fields = stored?.fields ?? {};
          let changed = false;
          for (const write of group.writes) {
            const merged = mergeFields(fields, write.fields, write.stamp);
            if (!merged.changed) continue;
            if (Buffer.byteLength(canonicalJson(merged.fields)) > MAX_PROFILE_BYTES) {
              rejects.push({
                recordIds: [write.unit.recordId],
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
          const bucket =
            group.ref.kind === "account"
              ? materializeAccount(group.ref.workspaceId, group.ref.id, fields).bucket
              : undefined;
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

/** Writes each membership once per batch with the earliest time seen; returns those that changed. */
async function writeMemberships(
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
): Promise<MembershipEdge[]> {
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
  await eachLimited([...edges.values()], CONCURRENCY, (entry) =>
    guard(entry.units, "membership", async () => {
      if (await store.saveMembership(entry.edge)) {
        changed.push(entry.edge);
        stats.membershipsAdded++;
      }
    }),
  );
  return changed;
}

/** Accounts a user belonged to at a time: memberships whose `since` is not after it. */
function accountsAt(memberships: { accountId: string; since: string }[], time: string): string[] {
  return memberships.filter((m) => m.since <= time).map((m) => m.accountId);
}

type SeenMap = Map<string, { ref: ProfileRef; time: string; months: Set<string>; units: CallUnit[] }>;

/** Notes that a profile was seen at `time`, by the calls in `units` (whose records fail if the write does). */
function noteSeen(seen: SeenMap, ref: ProfileRef, time: string, units: CallUnit[]): void {
  const key = profileKey(ref);
  const entry = seen.get(key) ?? { ref, time, months: new Set<string>(), units: [] };
  if (time > entry.time) entry.time = time;
  entry.months.add(time.slice(0, 7));
  entry.units.push(...units);
  seen.set(key, entry);
}

/** Resolves, dedupes and stores the batch's events. */
async function writeEvents(
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  seen: SeenMap,
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

  // One event per workspace + messageId: the first of a batch wins, later copies are duplicates.
  const byWorkspace = new Map<string, Map<string, { event: StoredEvent; units: CallUnit[] }>>();
  for (const unit of eventUnits) {
    const raw = unit.call.event!;
    const key = `${unit.call.workspaceId}\u0000${raw.user_id}`;
    const resolved =
      raw.account_from_user && raw.user_id !== null
        ? resolveEventAccount(raw, accountsAt(memberships.get(key) ?? [], raw.timestamp))
        : raw.account_from_user
          ? resolveEventAccount(raw, [])
          : raw;
    const events = byWorkspace.get(unit.call.workspaceId) ?? new Map();
    const existing = events.get(resolved.event_id);
    if (existing) {
      existing.units.push(unit);
      stats.duplicates++;
    } else {
      events.set(resolved.event_id, { event: { ...resolved, workspace_id: unit.call.workspaceId }, units: [unit] });
    }
    byWorkspace.set(unit.call.workspaceId, events);
  }

  for (const [ws, events] of byWorkspace) {
    const all = [...events.values()];
    for (const { event, units: eventUnitsOf } of all) {
      if (event.user_id !== null)
        noteSeen(seen, { workspaceId: ws, kind: "user", id: event.user_id }, event.timestamp, eventUnitsOf);
      if (event.account_id !== null) {
        noteSeen(seen, { workspaceId: ws, kind: "account", id: event.account_id }, event.timestamp, eventUnitsOf);
      }
    }
    const allUnits = all.flatMap((e) => e.units);
    let existing = new Set<string>();
    await guard(allUnits, "event_lookup", async () => {
      existing = await store.existingEvents(ws, [...events.keys()]);
    });
    const fresh = all.filter((e) => !existing.has(e.event.event_id));
    stats.duplicates += all.length - fresh.length;
    // Chunks so one failing write sends back only the records whose events it carried.
    for (let i = 0; i < fresh.length; i += 25) {
      const chunk = fresh.slice(i, i + 25);
      await guard(
        chunk.flatMap((e) => e.units),
        "event",
        async () => {
          await store.putEvents(chunk.map((e) => e.event));
          stats.eventsStored += chunk.length;
        },
      );
    }
  }
}

/**
 * A new membership (or an earlier `since`) can change which account earlier-stored events of the
 * user belong to: recompute those events so the stored state does not depend on arrival order.
 */
async function reattributeEvents(
  changed: MembershipEdge[],
  units: CallUnit[],
  store: ModelStore,
  guard: Guard,
  stats: BatchStats,
  seen: SeenMap,
): Promise<void> {
  const byUser = new Map<string, { ws: string; userId: string; from: string }>();
  for (const edge of changed) {
    const key = `${edge.workspaceId}\u0000${edge.userId}`;
    const entry = byUser.get(key);
    if (!entry || edge.since < entry.from)
      byUser.set(key, { ws: edge.workspaceId, userId: edge.userId, from: edge.since });
  }
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
        if (next.account_id === event.account_id && next.account_resolution === event.account_resolution) continue;
        updates.push({ ...next, workspace_id: entry.ws });
        if (event.account_id !== null && event.account_id !== next.account_id) losers.add(event.account_id);
        if (next.account_id !== null) {
          noteSeen(
            seen,
            { workspaceId: entry.ws, kind: "account", id: next.account_id },
            next.timestamp,
            involvedUnits,
          );
        }
      }
      for (let i = 0; i < updates.length; i += 25) await store.putEvents(updates.slice(i, i + 25));
      // An account that lost events may have been seen last in one of them.
      for (const accountId of losers)
        await store.recomputeLastSeen({ workspaceId: entry.ws, kind: "account", id: accountId });
      stats.eventsReattributed += updates.length;
    });
  });
}
