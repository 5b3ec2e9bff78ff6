import { IngestError } from "../../errors";
import type { BatchContext, CallUnit } from "../batch-context";
import type { EventVersion, RejectRecord, StoredEvent } from "../model-store";
import { recomputeLastSeen } from "./last-seen";
import { MAX_PROFILE_ATTEMPTS } from "./profiles";

/** An event of the batch and the calls that carry it. */
export interface BatchEvent {
  event: StoredEvent;
  units: CallUnit[];
}

/** Whether a stored event and an incoming one come from the same call (legacy events have no hash). */
export function sameCall(
  stored: Pick<EventVersion, "content_hash">,
  incoming: Pick<EventVersion, "content_hash">,
): boolean {
  return stored.content_hash === undefined || stored.content_hash === incoming.content_hash;
}

/** Orders two calls sharing a messageId: the later ordering time wins, then the greater content hash. */
export function eventRank(
  a: Pick<EventVersion, "timestamp" | "content_hash">,
  b: Pick<EventVersion, "timestamp" | "content_hash">,
): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? 1 : -1;
  const [ha, hb] = [a.content_hash ?? "", b.content_hash ?? ""];
  return ha === hb ? 0 : ha > hb ? 1 : -1;
}

/** The reject of the call that lost a messageId conflict: the same record whichever order they came in. */
export function conflictReject(loser: EventVersion & { workspace_id: string }): RejectRecord {
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

/** Records the conflict's loser as a reject of each call that carried `entry`. */
export function rejectLoser(ctx: BatchContext, entry: BatchEvent, loser: EventVersion & { workspace_id: string }) {
  for (const unit of entry.units) ctx.reject(unit, conflictReject(loser));
}

/**
 * Events whose id is taken by another call's event (found before writing, or by a concurrent
 * normalizer's write that won the insert): the call that ranks higher is put in place (only over
 * the very event read), the other is recorded as the loser, and a profile only the loser had made
 * is removed (`last_seen_at` is derived, so it follows by itself). Whatever the interleaving, both normalizers converge on the winner.
 *
 * @example
 * await settleConflicts(ctx, "w1", collided);
 */
export async function settleConflicts(ctx: BatchContext, ws: string, written: BatchEvent[]): Promise<void> {
  if (written.length === 0) return;
  const { store } = ctx;
  await ctx.run(
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
        const retry: BatchEvent[] = [];
        for (const entry of pending) {
          const current = stored.get(entry.event.event_id);
          // Gone (a deletion swept it) or ours: nothing to settle.
          if (!current || sameCall(current, entry.event)) continue;
          const loser = eventRank(entry.event, current) > 0 ? current : entry.event;
          if (loser === current && !(await store.replaceEvent(entry.event, current.content_hash as string))) {
            retry.push(entry);
            continue;
          }
          rejectLoser(ctx, entry, { ...loser, workspace_id: ws });
          const winner = loser === current ? entry.event : current;
          if (loser.user_id !== null && loser.user_id !== winner.user_id)
            await recomputeLastSeen(store, ws, "user", [loser.user_id]);
          if (loser.account_id !== null && loser.account_id !== winner.account_id)
            await recomputeLastSeen(store, ws, "account", [loser.account_id]);
        }
        pending = retry;
      }
    },
  );
}
