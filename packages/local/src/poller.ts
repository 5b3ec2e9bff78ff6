import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { retry } from "../../core/src/retry";

/**
 * The local stand-in for Lambda's SQS event source mapping: it long-polls a queue, hands each
 * batch to the real handler as an `SQSEvent`, and deletes only the messages the handler did not
 * report in `batchItemFailures`. Failed messages stay on the queue, come back after their
 * visibility timeout, and move to the dead-letter queue after the redrive policy's
 * `maxReceiveCount`, all done by the SQS server itself, exactly as on AWS.
 */

/** A Lambda SQS handler; its answer is read as Lambda reads a partial batch response. */
export type SqsHandler = (event: SQSEvent) => Promise<unknown>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  /** Long-poll wait of one ReceiveMessage, 0-20 s. Default 20 (the SQS maximum). */
  waitTimeSeconds?: number;
  /** Messages per receive (and per handler call), 1-10. Default 10. */
  maxMessages?: number;
  /** Receive loops running side by side, like Lambda's concurrent pollers. Default 1. */
  concurrency?: number;
  /**
   * When set, failed messages get this visibility timeout (ChangeMessageVisibility) instead of the
   * queue's, so a local retry comes after seconds rather than minutes. Receive counts, and so the
   * move to the dead-letter queue, are unchanged.
   */
  failedVisibilitySeconds?: number;
  /** Region put on the records (`awsRegion`). Default us-east-1. */
  region?: string;
  /** Where problems are reported (one line each); silent by default. */
  log?: (line: string) => void;
}

/** What the poller has done so far. */
export interface PollerStats {
  batches: number;
  received: number;
  deleted: number;
  failed: number;
  handlerErrors: number;
}

export interface Poller {
  readonly stats: PollerStats;
  /**
   * Stops receiving. A long poll in flight is not cut off (the server may already have handed it
   * messages, which would then stay invisible until their timeout): it returns within
   * `waitTimeSeconds`, and its messages are handled like a batch being handled when stop() was
   * called. Then, for at most `drainMs` (default 0), what is still visible on the queue is handled
   * too. Resolves when every loop has ended.
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/** A receive that fails (the SQS server restarting) is tried again, forever, at most 5 s apart. */
const receiveRetry = { attempts: Number.POSITIVE_INFINITY, baseDelayMs: 500, maxDelayMs: 5000 };

/** Lambda's spelling of a message attribute (lower camel case, list fields always present). */
function lambdaAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    result[name] = {
      dataType: value.DataType ?? "String",
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString("base64") } : {}),
    };
  }
  return result;
}

/**
 * The `SQSRecord` Lambda would deliver for a received message.
 *
 * @example
 * const event = { Records: messages.map((m) => sqsRecordOf(m, queueArn, "us-east-1")) };
 */
export function sqsRecordOf(message: Message, queueArn: string, region: string): SQSRecord {
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? "1",
      SentTimestamp: system.SentTimestamp ?? String(Date.now()),
      SenderId: system.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: lambdaAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * The messages of a batch that failed, read from a handler's answer as Lambda reads it: no answer,
 * `{}` or an empty or null `batchItemFailures` means every message succeeded; an answer of another
 * shape, or an entry whose `itemIdentifier` names no message of the batch, fails the whole batch.
 *
 * @example
 * failedMessageIds(["a", "b"], { batchItemFailures: [{ itemIdentifier: "b" }] }); // Set {"b"}
 */
export function failedMessageIds(messageIds: readonly string[], response: unknown): Set<string> {
  const all = () => new Set(messageIds);
  if (response === undefined || response === null) return new Set();
  if (typeof response !== "object" || Array.isArray(response)) return all();
  const failures = (response as Partial<SQSBatchResponse>).batchItemFailures ?? [];
  if (!Array.isArray(failures)) return all();
  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !known.has(id)) return all();
    failed.add(id);
  }
  return failed;
}

/**
 * Starts polling. The queue's ARN (for `eventSourceARN`) is read once at start.
 *
 * @example
 * const poller = await startPoller({ sqs, queueUrl: config.rawQueueUrl, handler: createNormalizeHandler() });
 * // …
 * await poller.stop({ drainMs: 10_000 });
 */
export async function startPoller(options: PollerOptions): Promise<Poller> {
  const { sqs, queueUrl, handler } = options;
  const waitTimeSeconds = Math.min(20, Math.max(0, options.waitTimeSeconds ?? 20));
  const maxMessages = Math.min(10, Math.max(1, options.maxMessages ?? 10));
  const region = options.region ?? "us-east-1";
  const log = options.log ?? (() => {});
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const queueArn = attributes.Attributes?.QueueArn ?? `arn:aws:sqs:${region}:000000000000:local`;

  const stats: PollerStats = { batches: 0, received: 0, deleted: 0, failed: 0, handlerErrors: 0 };
  let state: "running" | "draining" = "running";
  let drainDeadline = 0;

  async function receive(): Promise<Message[]> {
    const answer = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: state === "draining" ? 0 : waitTimeSeconds,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    return answer.Messages ?? [];
  }

  async function settle(messages: Message[], failed: Set<string>): Promise<void> {
    const succeeded = messages.filter((m) => !failed.has(m.MessageId ?? ""));
    const retried = messages.filter((m) => failed.has(m.MessageId ?? ""));
    if (succeeded.length > 0) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      stats.deleted += deleted.Successful?.length ?? 0;
      for (const entry of deleted.Failed ?? [])
        log(`poller: could not delete a message (${entry.Code}): it will be retried`);
    }
    stats.failed += retried.length;
    if (retried.length > 0 && options.failedVisibilitySeconds !== undefined) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: retried.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: options.failedVisibilitySeconds,
          })),
        }),
      );
    }
  }

  async function handle(messages: Message[]): Promise<void> {
    stats.batches += 1;
    stats.received += messages.length;
    const ids = messages.map((m) => m.MessageId ?? "");
    let failed: Set<string>;
    try {
      const response = await handler({ Records: messages.map((m) => sqsRecordOf(m, queueArn, region)) });
      failed = failedMessageIds(ids, response);
      if (failed.size > 0) log(`poller: ${failed.size} of ${ids.length} message(s) failed and will be retried`);
    } catch (error) {
      stats.handlerErrors += 1;
      log(
        `poller: the handler threw (${error instanceof Error ? error.message : String(error)}): the batch will be retried`,
      );
      failed = new Set(ids);
    }
    await settle(messages, failed);
  }

  async function loop(): Promise<void> {
    const policy = { ...receiveRetry, retryable: () => state !== "draining" };
    const onRetry = (error: unknown) =>
      log(`poller: receive failed (${error instanceof Error ? error.message : String(error)}); retrying`);
    for (;;) {
      if (state === "draining" && Date.now() >= drainDeadline) return;
      let messages: Message[];
      try {
        messages = await retry(receive, policy, { onRetry });
      } catch {
        // Only a receive while draining gives up: what is left stays on the queue.
        return;
      }
      if (messages.length === 0) {
        if (state === "draining") return;
        continue;
      }
      try {
        await handle(messages);
      } catch (error) {
        log(`poller: could not settle a batch (${error instanceof Error ? error.message : String(error)})`);
      }
    }
  }

  const loops = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => loop());
  const ended = Promise.all(loops).then(() => undefined);

  return {
    stats,
    async stop({ drainMs = 0 } = {}) {
      if (state === "running") {
        state = "draining";
        drainDeadline = Date.now() + drainMs;
      }
      await ended;
    },
  };
}
