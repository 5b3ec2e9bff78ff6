import { IngestError } from "../../../packages/core/src/errors";
import { BatchContext, type CallUnit, type QueueRecord } from "../../../packages/core/src/pipeline/batch-context";
import { parseRecords } from "../../../packages/core/src/pipeline/stages/parse";
import { MemoryModelStore } from "../../support/memory-store";

/** Shared builders of the pipeline's pure tests: records, a context over a memory store, units. */

export const WS = "w1";
export const NOW = "2024-06-01T00:00:00.000Z";
export const RECEIVED = "2024-06-01T00:00:00.000Z";

let records = 0;

/** One raw queue record of these calls. */
export function record(
  calls: Record<string, unknown>[],
  options: { ws?: string; source?: string; receivedAt?: string; route?: "webhook" | "tracking" } = {},
): QueueRecord {
  const id = `rec-${++records}`;
  const body = {
    v: 1,
    workspaceId: options.ws ?? WS,
    source: options.source ?? "product",
    receivedAt: options.receivedAt ?? RECEIVED,
    requestId: `req-${id}`,
    ...(options.route ? { route: options.route } : {}),
    calls,
  };
  return { id, body: JSON.stringify(body) };
}

/** A context over `store` (a fresh memory store by default) and the units of these records. */
export function batch(recordsIn: QueueRecord[], store = new MemoryModelStore()) {
  const ctx = new BatchContext(recordsIn, store, () => NOW);
  const units: CallUnit[] = parseRecords(recordsIn, ctx);
  return { ctx, units, store };
}

/** A context and units of one record of these calls. */
export function batchOf(calls: Record<string, unknown>[], store = new MemoryModelStore()) {
  return batch([record(calls)], store);
}

export const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
  type: "track",
  event: "Report Exported",
  userId: "u1",
  messageId,
  timestamp: "2024-05-01T12:00:00.000Z",
  ...extra,
});

export const identify = (
  userId: string,
  traits: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => ({
  type: "identify",
  userId,
  messageId: `id-${userId}-${JSON.stringify(traits).length}`,
  timestamp: "2024-05-01T12:00:00.000Z",
  traits,
  ...extra,
});

export const group = (userId: string, groupId: string, extra: Record<string, unknown> = {}) => ({
  type: "group",
  userId,
  groupId,
  messageId: `g-${userId}-${groupId}`,
  timestamp: "2024-05-01T12:00:00.000Z",
  traits: { name: groupId },
  ...extra,
});

/** A storage error as the adapter throws it: retryable (throttling) or permanent (a refusal). */
export function storageError(retryable: boolean): IngestError {
  return new IngestError(retryable ? "storage.throttled" : "storage.rejected", "injected", { retryable });
}

/** Makes `method` throw `error` (every call, or only those `when` picks). */
export function failing(
  store: MemoryModelStore,
  method: string,
  error: Error,
  when: (args: unknown[]) => boolean = () => true,
) {
  store.fault = (m, args) => {
    if (m === method && when(args)) throw error;
  };
}
