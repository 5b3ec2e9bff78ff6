import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "vitest";
import { eventually } from "./eventually";

/** Messages on a queue, visible or in flight (received and not yet deleted). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  const a = answer.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/**
 * Waits until a queue holds nothing, visible or in flight, on two reads in a row. A consumer
 * deletes a message only after handling it, so once every sender has had its answer, an empty
 * queue means every message it queued has been handled.
 */
export async function untilQueueEmpty(sqs: SQSClient, queueUrl: string, timeoutMs = 60_000): Promise<void> {
  let emptyReads = 0;
  await eventually(
    () => queueDepth(sqs, queueUrl),
    (depth) => {
      emptyReads = depth === 0 ? emptyReads + 1 : 0;
      expect(depth, "messages on the queue").toBe(0);
      expect(emptyReads, "empty reads in a row").toBeGreaterThanOrEqual(2);
    },
    { what: "the queue to be empty", timeoutMs, intervalMs: 250 },
  );
}
