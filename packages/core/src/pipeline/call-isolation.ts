/**
 * Failure isolation in the normalizer (issue 16): one call's permanent storage error must not fail
 * or reject the other calls of its SQS batch. The batch shares reads and writes between its calls
 * (one BatchGetItem for every profile, 25 statements a BatchExecuteStatement), so a request DynamoDB
 * refuses on its merits cannot say which call made it fail. Such calls are set aside and normalized
 * again in halves, each call in its own record, until a permanent error can only be that call's
 * own (`rerunAlone`); every step is idempotent, so applying a call again is safe. Rejects are written the same way: together, and one by one when
 * that is refused.
 */
import { createHash } from "node:crypto";
import { IngestError } from "../errors";
import { callIdProblems, canonicalId } from "../ids";
import type { RawQueueMessage } from "../queue-message";
import type { ModelStore, RejectRecord } from "./model-store";

/** Where a call came from: its raw queue message, less the calls. */
export type CallOrigin = Omit<RawQueueMessage, "calls">;

/** A call set aside after a permanent failure of a step it shared with other calls. */
export interface SuspectCall {
  recordId: string;
  /** The call's index in its record. */
  index: number;
  raw: Record<string, unknown>;
  origin: CallOrigin;
}

/** What re-running one call alone needs: the pipeline itself, over one record. */
export type RunRecords = (records: { id: string; body: string }[]) => Promise<{
  failedRecordIds: string[];
  stats: { [K in (typeof rerunCounters)[number]]: number };
}>;

/** Counters of a batch that a re-run adds to (not `records` or `calls`: those were counted once). */
const rerunCounters = [
  "pending",
  "deletedUsers",
  "refusedForDeletedUsers",
  "eventsStored",
  "duplicates",
  "profilesWritten",
  "membershipsAdded",
  "eventsReattributed",
  "rejects",
] as const;

/**
 * Normalizes the suspect calls again, each in its own one-call record, in halves: a half is one
 * run of the pipeline, and a half whose shared step DynamoDB refuses again sets its calls aside in
 * turn, so the refused call ends alone (where its permanent failure becomes its own reject) after
 * about two runs per halving, not one run per neighbour: a full batch (1,000 records) re-run call by
 * call would outlast the function's timeout and come back whole. A call whose re-run fails
 * transiently sends its original record back to SQS. Suspects of records already going back are
 * skipped: the redelivery covers them.
 *
 * @returns the ids of the original records to send back
 * @example
 * const failed = await rerunAlone(suspects, failedSoFar, (records) => normalizeBatch(records, store, now), stats);
 */
export async function rerunAlone(
  suspects: Iterable<SuspectCall>,
  alreadyFailed: ReadonlySet<string>,
  run: RunRecords,
  stats: { [K in (typeof rerunCounters)[number]]: number },
): Promise<Set<string>> {
  const failed = new Set<string>();
  const pending = [...suspects].filter((s) => !alreadyFailed.has(s.recordId));
  const half = Math.ceil(pending.length / 2);
  const groups = pending.length > 1 ? [pending.slice(0, half), pending.slice(half)] : [pending];
  for (const all of groups) {
    // A record the first half sent back is redelivered whole: its calls in the second half wait for that.
    const group = all.filter((s) => !failed.has(s.recordId));
    const originalOf = new Map<string, string>();
    const records = group.map((suspect) => {
      const id = `${suspect.recordId}#${suspect.index}`;
      originalOf.set(id, suspect.recordId);
      const message: RawQueueMessage = { ...suspect.origin, calls: [suspect.raw] };
      return { id, body: JSON.stringify(message) };
    });
    if (records.length === 0) continue;
    const outcome = await run(records);
    for (const id of outcome.failedRecordIds) failed.add(originalOf.get(id) ?? id);
    for (const counter of rerunCounters) stats[counter] += outcome.stats[counter];
  }
  return failed;
}

/** A reject and the SQS record that must go back if it cannot be written. */
export interface PendingReject {
  recordId: string;
  reject: RejectRecord;
}

/**
 * Writes a batch's rejects, isolating a reject DynamoDB refuses: all together first; after a
 * permanent refusal, one by one, and a reject refused alone is written once more reduced (no value,
 * a generic field) so the call still has a record. Only the records of a reject that could not be
 * written at all go back to SQS (and end in the DLQ, where an alarm surfaces them); a transient
 * failure sends back every record with a reject, as before.
 *
 * @returns the ids of the records to send back
 */
export async function saveRejectsIsolated(
  store: Pick<ModelStore, "saveRejects">,
  rejects: readonly PendingReject[],
  seenAt: string,
): Promise<Set<string>> {
  const failed = new Set<string>();
  const all = () => new Set(rejects.map((r) => r.recordId));
  try {
    await store.saveRejects(
      rejects.map((r) => r.reject),
      seenAt,
    );
    return failed;
  } catch (error) {
    if (isRetryable(error)) return all();
  }
  for (const pending of rejects) {
    try {
      await store.saveRejects([pending.reject], seenAt);
      continue;
    } catch (error) {
      if (isRetryable(error)) {
        failed.add(pending.recordId);
        continue;
      }
    }
    try {
      await store.saveRejects([reducedReject(pending.reject)], seenAt);
    } catch {
      failed.add(pending.recordId);
    }
  }
  return failed;
}

function isRetryable(error: unknown): boolean {
  return !(error instanceof IngestError) || error.retryable;
}

/** A reject without its value and with a generic field: what is left when the full one is refused. */
function reducedReject(reject: RejectRecord): RejectRecord {
  return {
    ...reject,
    field: "call",
    message: `${reject.message.slice(0, 500)} (the full reject could not be stored)`,
    value: null,
  };
}

/**
 * The reject of a call whose ids break the id rules (`ids.ts`), or undefined when they do not. Ingest
 * refuses such calls; this covers messages that reach the normalizer otherwise (written before the
 * rules, redriven, or sent to the queue by hand), before any of their ids reaches a key. The reject
 * never holds the offending id itself, only where it was and the rule, and its message id is a hash
 * when the message id is the offending id.
 *
 * @example
 * callIdReject(call, { workspaceId: "w1", source: "product", fallbackMessageId: "m1" }); // { code: "id.too_long", field: "userId", … }
 */
export function callIdReject(
  raw: Record<string, unknown>,
  where: { workspaceId: string; source: string; fallbackMessageId: string },
): RejectRecord | undefined {
  const [problem, ...more] = callIdProblems(raw);
  if (!problem) return undefined;
  const messageIdProblem = problem.field === "messageId" || more.some((p) => p.field === "messageId");
  const messageId = messageIdProblem
    ? `refused-id-${createHash("sha256").update(String(raw.messageId)).digest("hex").slice(0, 32)}`
    : (canonicalId(raw.messageId) ?? where.fallbackMessageId);
  const userId = canonicalId(Object.hasOwn(raw, "userId") ? raw.userId : undefined);
  return {
    workspaceId: where.workspaceId,
    source: where.source,
    messageId,
    ...(userId !== undefined ? { userId } : {}),
    code: problem.code,
    field: problem.field,
    message: `${problem.message}; the call was not stored`,
    value: { type: typeof raw.type === "string" ? raw.type : null, fields: [problem, ...more].map((p) => p.field) },
  };
}
