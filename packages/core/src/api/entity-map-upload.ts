/**
 * What an entity map upload answers (the report) and how the pending calls it completes go back
 * into the pipeline. Pure: the API handler reads, writes and sends.
 */
import type { EntityMapPlan } from "../identity/entity-map";
import type { QueuedCall } from "../ingest/calls";
import { type RawMessageMeta, splitBatch } from "../ingest/split-batch";
import type { PendingCall } from "../pipeline/model-store";
import type { EntityMapReport } from "./schemas";

/**
 * The report of a planned upload: counts, the conflicts, and the rows of each outcome.
 *
 * @example
 * entityMapReport(planEntityMapUpload(entries, stored, { replace: false }), true);
 * // { dry_run: true, created: 2, changed: 0, unchanged: 1, conflicts: [], rows: { … } }
 */
export function entityMapReport(plan: EntityMapPlan, dryRun: boolean): EntityMapReport {
  return {
    dry_run: dryRun,
    created: plan.created.length,
    changed: plan.changed.length,
    unchanged: plan.unchanged.length,
    conflicts: plan.conflicts.map(({ entry, reason, other }) => ({
      ...entry,
      other_canonical_id: other,
      reason,
    })),
    rows: {
      created: plan.created.map((entry) => ({ ...entry })),
      changed: plan.changed.map(({ entry, previous }) => ({ ...entry, previous_canonical_id: previous })),
      unchanged: plan.unchanged.map((entry) => ({ ...entry })),
    },
  };
}

/** Raw queue messages of one source and receive time: the bodies and what they carry as attributes. */
export interface ReleasedMessages {
  meta: RawMessageMeta;
  bodies: string[];
}

/**
 * The raw queue messages that send released pending calls back through the pipeline, as if
 * received again: grouped by source and original receive time (a raw message has one of each),
 * groups in the order of their oldest call, calls in event-time order. The calls are the stored
 * raw calls, so the normalizer applies today's maps and rules to them.
 *
 * @example
 * const messages = releasedMessages(await identity.releasable(ws), requestId, maxRawMessageBodyBytes);
 */
export function releasedMessages(
  released: readonly PendingCall[],
  requestId: string,
  maxBytes: number,
): ReleasedMessages[] {
  const ordered = [...released].sort((a, b) =>
    a.time < b.time ? -1 : a.time > b.time ? 1 : a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0,
  );
  const groups = new Map<string, { meta: RawMessageMeta; calls: QueuedCall[] }>();
  for (const pending of ordered) {
    const id = `${pending.source}\u0000${pending.receivedAt}\u0000${pending.route ?? ""}`;
    let group = groups.get(id);
    if (!group) {
      group = {
        meta: {
          workspaceId: pending.workspaceId,
          source: pending.source,
          receivedAt: pending.receivedAt,
          requestId,
          ...(pending.route === undefined ? {} : { route: pending.route }),
        },
        calls: [],
      };
      groups.set(id, group);
    }
    group.calls.push(pending.call);
  }
  return [...groups.values()].map(({ meta, calls }) => ({ meta, bodies: splitBatch(calls, meta, maxBytes) }));
}
