import { BatchContext, type BatchStats, type NormalizeSettings, type QueueRecord } from "./batch-context";
import { rerunAlone, saveRejectsIsolated } from "./call-isolation";
import type { ModelStore } from "./model-store";
import { reattributeAliasedEvents } from "./stages/alias-reattribution";
import { attributeAnonymousEvents, saveAliases } from "./stages/aliases";
import { applyDeletions, refuseDeletedUsers } from "./stages/deleted-users";
import { undoWritesAboutDeletedUsers } from "./stages/deletion-undo";
import { fixDeliveryTimes } from "./stages/delivery-times";
import { writeEvents } from "./stages/events";
import { type SeenMap, touchSeenProfiles } from "./stages/last-seen";
import { writeMemberships } from "./stages/memberships";
import { parseRecords } from "./stages/parse";
import { recordProblems } from "./stages/problems";
import { writeProfiles } from "./stages/profiles";
import { reattributeEvents } from "./stages/reattribution";
import { translateIds } from "./stages/translate";

export type { BatchStats, NormalizeSettings, QueueRecord } from "./batch-context";

export interface BatchOutcome {
  /** SQS message ids to deliver again (transient failures only). */
  failedRecordIds: string[];
  stats: BatchStats;
}

/**
 * Normalizes one SQS batch of raw messages into the model (spec 3): profiles merged last-write-wins
 * per field with optimistic locking, memberships, events stored once per messageId, each profile's event
 * months recorded when new (`last_seen_at` is derived on read), rejects for everything that could not be stored whole. Each step is a
 * stage (./stages/*) over one {@link BatchContext}.
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
  const ctx = new BatchContext(records, store, now, settings);
  const parsed = await fixDeliveryTimes(ctx, parseRecords(records, ctx));
  ctx.stats.calls = parsed.length;

  // Identity before anything is written (spec 3.5).
  const { kept, refused } = await refuseDeletedUsers(ctx, await translateIds(ctx, parsed));
  const live = await applyDeletions(ctx, kept);
  const changedAliases = await saveAliases(ctx, live);
  const units = await attributeAnonymousEvents(ctx, live);
  recordProblems(ctx, units);

  await writeProfiles(ctx, units);
  const memberships = await writeMemberships(ctx, units);
  await writeEvents(ctx, units);
  // Profiles seen by re-attributed events; the batch's own events recorded theirs before writing.
  const seen: SeenMap = new Map();
  await reattributeEvents(ctx, memberships, units, seen);
  const aliasMoves = await reattributeAliasedEvents(ctx, changedAliases, seen);
  await touchSeenProfiles(ctx, seen);

  const ownRejects = ctx.ownRejects();
  if (ownRejects.length > 0) ctx.sendBackRecords(await saveRejectsIsolated(store, ownRejects, now()));
  ctx.stats.rejects = ownRejects.length;
  const runAlone = (one: QueueRecord[]) => normalizeBatch(one, store, now, settings);
  ctx.sendBackRecords(await rerunAlone(ctx.suspects.values(), ctx.failed, runAlone, ctx.stats));

  // Last: every write above was checked against tombstones read at the start of the batch (and
  // after the rejects, which a deletion removes with the user).
  await undoWritesAboutDeletedUsers(ctx, [...units, ...refused], aliasMoves);

  ctx.stats.failedRecords = ctx.failed.size;
  return { failedRecordIds: records.filter((r) => ctx.failed.has(r.id)).map((r) => r.id), stats: ctx.stats };
}
