import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { DependencyError, IngestError } from "../../../core/src/errors";
import type { RawQueueSender } from "../../../core/src/ingest/receive";
import type { RawMessageMeta } from "../../../core/src/ingest/split-batch";
import { RawMessageAttribute } from "../../../core/src/queue-message";
import { retry } from "../../../core/src/retry";

/** SendMessageBatch takes at most 10 entries… */
const maxEntriesPerCall = 10;
/** …and at most 256 KiB in total (body plus attributes of every entry). */
const maxBytesPerCall = 256 * 1024;

export interface RawQueueSenderOptions {
  /** Tries per entry, the first included. */
  attempts?: number;
  /** First pause between tries; doubles each time, with jitter (core/src/retry.ts). */
  baseDelayMs?: number;
  /** Longest pause between tries. Default 8 × `baseDelayMs`. */
  maxDelayMs?: number;
}

function attributesOf(meta: RawMessageMeta): Record<string, MessageAttributeValue> {
  return {
    [RawMessageAttribute.workspaceId]: { DataType: "String", StringValue: meta.workspaceId },
    [RawMessageAttribute.source]: { DataType: "String", StringValue: meta.source },
    [RawMessageAttribute.receivedAt]: { DataType: "String", StringValue: meta.receivedAt },
    [RawMessageAttribute.requestId]: { DataType: "String", StringValue: meta.requestId },
  };
}

/** Size SQS counts for a request's attributes (`attributesOf`): each one's name, type and value. */
function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  let bytes = 0;
  for (const [name, a] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(a.DataType ?? "") + Buffer.byteLength(a.StringValue ?? "");
  }
  return bytes;
}

/**
 * Groups entries into SendMessageBatch calls: at most 10 entries and 256 KiB each (an entry's
 * body and its attributes, which all entries of a request share: `sharedAttributeBytes`).
 */
function batchCalls(
  entries: SendMessageBatchRequestEntry[],
  sharedAttributeBytes: number,
): SendMessageBatchRequestEntry[][] {
  // One entry is one call whatever its size (the sender keeps each body under the queue's limit).
  if (entries.length === 1) return [entries];
  const calls: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.MessageBody ?? "", "utf8") + sharedAttributeBytes;
    if (current.length === maxEntriesPerCall || (current.length > 0 && bytes + size > maxBytesPerCall)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

/** Errors worth another try: throttling, 5xx, timeouts and network failures (no HTTP status). */
function isTransient(error: unknown): boolean {
  const e = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; name?: string };
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500 || status === 429 || /Throttl|RequestThrottled|OverLimit/.test(e.name ?? "");
}

/** Entries SQS answered as Failed through no fault of ours: sent again. */
class FailedEntries extends Error {}

/**
 * The raw queue behind `RawQueueSender`: sends bodies with SendMessageBatch (10 entries and at most
 * 256 KiB per call, calls in parallel), each with the workspace, source, receive time and request
 * id as message attributes. Entries that fail, and calls that throw a transient error, are tried
 * again a few times with a short backoff (the whole answer must stay well inside Segment's 5 s);
 * after that it throws `DependencyError("queue.unavailable")`, answered 503 so the sender retries.
 * Entries SQS refuses as the sender's fault (too large, bad characters) are not retried: that is a
 * bug here, thrown as `queue.message_rejected`.
 *
 * @example
 * const queue = createRawQueueSender(createSqsClient(config), config.rawQueueUrl);
 * await queue.send(bodies, meta);
 */
export function createRawQueueSender(
  sqs: SQSClient,
  queueUrl: string,
  options: RawQueueSenderOptions = {},
): RawQueueSender {
  const baseDelayMs = options.baseDelayMs ?? 50;
  const policy = {
    attempts: Math.max(1, options.attempts ?? 3),
    baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? baseDelayMs * 8,
    // A refusal on the message's merits (`queue.message_rejected`) is never sent again.
    retryable: (error: unknown) =>
      error instanceof FailedEntries || (!(error instanceof IngestError) && isTransient(error)),
  };

  async function sendCall(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    try {
      await retry(async () => {
        const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
        const failed = answer.Failed ?? [];
        if (failed.length === 0) return;
        const refused = failed.filter((f) => f.SenderFault);
        if (refused.length > 0) {
          throw new IngestError(
            "queue.message_rejected",
            `The raw queue refused ${refused.length} message(s): ${refused.map((f) => f.Code).join(", ")}`,
          );
        }
        const failedIds = new Set(failed.map((f) => f.Id));
        pending = pending.filter((entry) => failedIds.has(entry.Id));
        throw new FailedEntries(`SendMessageBatch failed entries: ${failed.map((f) => f.Code).join(", ")}`);
      }, policy);
    } catch (error) {
      if (error instanceof IngestError) throw error;
      throw new DependencyError(
        "queue.unavailable",
        "The queue is unavailable: retry the request (calls received twice are stored once)",
        { cause: error, details: { unsent: pending.length } },
      );
    }
  }

  return {
    async send(bodies, meta) {
      const attributes = attributesOf(meta);
      const entries = bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: body, MessageAttributes: attributes }));
      const calls = batchCalls(entries, attributeBytes(attributes));
      // One call (most requests): its own outcome is the answer, with no settling of a list.
      if (calls.length === 1) return sendCall(calls[0] as SendMessageBatchRequestEntry[]);
      const results = await Promise.allSettled(calls.map(sendCall));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failure) throw failure.reason;
    },
  };
}
