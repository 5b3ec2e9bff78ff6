import { randomUUID } from "node:crypto";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import type { RawQueueMessage } from "../../packages/core/src/queue-message";

/** A raw queue message body as ingest writes it. */
export function rawMessage(workspaceId: string, calls: Record<string, unknown>[], source = "product"): RawQueueMessage {
  return { v: 1, workspaceId, source, receivedAt: "2024-06-01T00:00:00.000Z", requestId: randomUUID(), calls };
}

/** An SQS event as Lambda delivers it to the normalize function, one record per message. */
export function sqsEvent(messages: (RawQueueMessage | string)[]): SQSEvent {
  return {
    Records: messages.map(
      (message, i): SQSRecord => ({
        messageId: `rec-${i}-${randomUUID()}`,
        receiptHandle: `rh-${i}`,
        body: typeof message === "string" ? message : JSON.stringify(message),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "0",
          SenderId: "test",
          ApproximateFirstReceiveTimestamp: "0",
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:raw",
        awsRegion: "us-east-1",
      }),
    ),
  };
}

/** A fresh workspace id, so tests sharing tables never see each other's data. */
export function freshWorkspace(): string {
  return `w-${randomUUID().slice(0, 12)}`;
}
