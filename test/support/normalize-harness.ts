import { randomUUID } from "node:crypto";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import type { RawQueueMessage } from "../../packages/core/src/queue-message";
import { prng, shuffle } from "./seeded-random";

/** A raw queue message body as ingest writes it. */
export function rawMessage(
  workspaceId: string,
  calls: Record<string, unknown>[],
  source = "product",
  receivedAt = "2024-06-01T00:00:00.000Z",
): RawQueueMessage {
  return { v: 1, workspaceId, source, receivedAt, requestId: randomUUID(), calls };
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

/** What `deliverShuffled` did. */
export interface ShuffledDelivery {
  /** Calls delivered, duplicates included. */
  deliveries: number;
  duplicates: number;
  /** Handler invocations (SQS batches) and raw messages. */
  batches: number;
  messages: number;
}

/**
 * The raw queue messages of a seeded shuffled delivery: `duplicateRate` of the calls twice, in
 * messages of 1-20 calls, as at-least-once, out-of-order SQS delivery would hand them over.
 */
export function shuffledMessages(
  ws: string,
  calls: Record<string, unknown>[],
  seed: number,
  duplicateRate = 0.2,
): { messages: RawQueueMessage[]; deliveries: number; duplicates: number } {
  const r = prng(seed);
  const copies = shuffle([...calls, ...calls.filter(() => r.next() < duplicateRate)], r);
  const messages: RawQueueMessage[] = [];
  for (let index = 0; index < copies.length; ) {
    const size = 1 + r.int(20);
    messages.push(rawMessage(ws, copies.slice(index, index + size)));
    index += size;
  }
  return { messages, deliveries: copies.length, duplicates: copies.length - calls.length };
}

/**
 * Delivers calls to a normalize handler in a seeded shuffled order with `duplicateRate` of them
 * delivered twice, in SQS batches of random shape (1-5 messages of 1-20 calls), as at-least-once,
 * out-of-order SQS delivery does. Every batch must succeed (no batch item failures).
 */
export async function deliverShuffled(
  handler: (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>,
  ws: string,
  calls: Record<string, unknown>[],
  seed: number,
  duplicateRate = 0.2,
): Promise<ShuffledDelivery> {
  const r = prng(seed);
  const copies = shuffle([...calls, ...calls.filter(() => r.next() < duplicateRate)], r);
  const delivery: ShuffledDelivery = {
    deliveries: copies.length,
    duplicates: copies.length - calls.length,
    batches: 0,
    messages: 0,
  };
  let index = 0;
  while (index < copies.length) {
    const messages = [];
    for (let m = 1 + r.int(5); m > 0 && index < copies.length; m--) {
      const size = 1 + r.int(20);
      messages.push(rawMessage(ws, copies.slice(index, index + size)));
      index += size;
    }
    const result = await handler(sqsEvent(messages));
    if (result.batchItemFailures.length > 0) {
      throw new Error(`normalize reported ${result.batchItemFailures.length} failed record(s) without any fault`);
    }
    delivery.batches += 1;
    delivery.messages += messages.length;
  }
  return delivery;
}

/** Interleaves lists one item of each in turn, keeping each list's own order. */
export function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(0, ...lists.map((l) => l.length)); i++) {
    for (const list of lists) if (i < list.length) out.push(list[i] as T);
  }
  return out;
}
