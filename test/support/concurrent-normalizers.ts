import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { createSqsClient } from "../../packages/aws/src/clients";
import type { Config } from "../../packages/aws/src/config";
import type { RawQueueMessage } from "../../packages/core/src/queue-message";
import { startPoller } from "../../packages/local/src/poller";

/**
 * Several normalizers side by side against one real SQS queue (fauxqs) and the real tables, as
 * Lambda runs them: the local poller's `concurrency` receive loops, each handing its own batches to
 * the real handler. Messages are sent first, then the normalizers drain the queue together.
 */
export interface ConcurrentRun {
  /** Handler invocations, and messages the normalizers deleted. */
  batches: number;
  deleted: number;
  failed: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(got.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Puts raw messages on the queue in the given order (10 to a SendMessageBatch). */
export async function enqueue(sqs: SQSClient, queueUrl: string, messages: RawQueueMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
      }),
    );
    if ((out.Failed ?? []).length > 0) throw new Error(`could not enqueue ${out.Failed?.length} message(s)`);
  }
}

/**
 * Sends `messages` to the config's raw queue, then runs `normalizers` pollers side by side, each
 * receiving `maxMessages` at a time, until every message was handled and deleted (a message that
 * failed transiently comes back at once and is retried). Fails when a message is still there after
 * `timeoutMs`.
 *
 * @example
 * await runConcurrentNormalizers(config, handler, messages, { normalizers: 8 });
 */
export async function runConcurrentNormalizers(
  config: Config,
  handler: (event: SQSEvent) => Promise<unknown>,
  messages: RawQueueMessage[],
  options: { normalizers: number; maxMessages?: number; timeoutMs?: number },
): Promise<ConcurrentRun> {
  const sqs = createSqsClient(config);
  try {
    await enqueue(sqs, config.rawQueueUrl, messages);
    const poller = await startPoller({
      sqs,
      queueUrl: config.rawQueueUrl,
      handler,
      concurrency: options.normalizers,
      maxMessages: options.maxMessages ?? 3,
      waitTimeSeconds: 1,
      failedVisibilitySeconds: 0,
    });
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    try {
      while (poller.stats.deleted < messages.length || (await depth(sqs, config.rawQueueUrl)) > 0) {
        if (Date.now() > deadline) {
          throw new Error(`normalizers left ${messages.length - poller.stats.deleted} message(s) unhandled`);
        }
        await sleep(50);
      }
    } finally {
      await poller.stop();
    }
    return { batches: poller.stats.batches, deleted: poller.stats.deleted, failed: poller.stats.failed };
  } finally {
    sqs.destroy();
  }
}
