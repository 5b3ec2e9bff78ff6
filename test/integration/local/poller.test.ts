import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { type Poller, startPoller } from "../../../packages/local/src/poller";
import { RawQueue } from "../../../packages/resources/src/definitions";
import { eventually } from "../../support/eventually";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage } from "../../support/normalize-harness";
import { queueDepth, untilQueueEmpty } from "../../support/queue";

/**
 * The local poller against the real SQS server (fauxqs) and DynamoDB Local: each test gets fresh
 * queues, so receive counts and the dead-letter queue are its own.
 */

let config: Config;
let sqs: SQSClient;
const pollers: Poller[] = [];

beforeEach(async () => {
  ({ config } = await provisionTestResources());
  sqs = createSqsClient(config);
});
afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  sqs?.destroy();
});

async function start(
  options: Partial<Parameters<typeof startPoller>[0]> & Pick<Parameters<typeof startPoller>[0], "handler">,
) {
  const poller = await startPoller({ sqs, queueUrl: config.rawQueueUrl, waitTimeSeconds: 1, ...options });
  pollers.push(poller);
  return poller;
}

async function send(queueUrl: string, body: string): Promise<string> {
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  return sent.MessageId as string;
}

const depth = (queueUrl: string) => queueDepth(sqs, queueUrl);

describe("local SQS poller", () => {
  it("feeds queued messages to the real normalize handler and deletes them", async () => {
    const db = createDocumentClient(config);
    const reader = new DynamoModelReader(db, config);
    const ws = freshWorkspace();
    const events: SQSEvent[] = [];
    const normalize = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
    await start({
      handler: async (event) => {
        events.push(event);
        return normalize(event);
      },
    });
    const messageId = await send(
      config.rawQueueUrl,
      JSON.stringify(
        rawMessage(ws, [
          {
            type: "group",
            messageId: "g1",
            groupId: "acct-1",
            userId: "u1",
            traits: { name: "Acme" },
            timestamp: "2024-05-01T12:00:00Z",
          },
          { type: "track", messageId: "t1", event: "Report Exported", userId: "u1", timestamp: "2024-05-01T12:01:00Z" },
        ]),
      ),
    );

    await eventually(
      () => reader.getAccount(ws, "acct-1"),
      (account) => expect(account).toMatchObject({ account_id: "acct-1", name: "Acme" }),
    );
    await eventually(
      () => reader.getEvent(ws, "t1"),
      (event) => expect(event).toMatchObject({ account_id: "acct-1" }),
    );
    await untilQueueEmpty(sqs, config.rawQueueUrl);

    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      messageId,
      eventSource: "aws:sqs",
      eventSourceARN: expect.stringContaining(`${config.rawQueueUrl.split("/").pop()}`),
      attributes: { ApproximateReceiveCount: "1" },
    });
    expect(record?.receiptHandle).toBeTruthy();
    db.destroy();
  });

  it("deletes the messages that succeeded and redelivers only the reported failures", async () => {
    const seen = new Map<string, number>();
    await start({
      failedVisibilitySeconds: 0,
      handler: async (event) => {
        for (const r of event.Records) seen.set(r.body, Number(r.attributes.ApproximateReceiveCount));
        const fail = event.Records.filter(
          (r) => r.body === "fails once" && r.attributes.ApproximateReceiveCount === "1",
        );
        return { batchItemFailures: fail.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await send(config.rawQueueUrl, "ok");
    await send(config.rawQueueUrl, "fails once");

    await untilQueueEmpty(sqs, config.rawQueueUrl);
    expect(seen.get("fails once")).toBe(2);
    expect(seen.get("ok")).toBe(1);
  });

  it("moves a message whose handler keeps failing to the DLQ after maxReceiveCount receives", async () => {
    const receiveCounts: string[] = [];
    const poller = await start({
      failedVisibilitySeconds: 1,
      handler: async (event) => {
        for (const r of event.Records) receiveCounts.push(r.attributes.ApproximateReceiveCount);
        throw new Error("DynamoDB is throttling");
      },
    });
    await send(config.rawQueueUrl, "poison");

    await eventually(
      () =>
        sqs
          .send(
            new ReceiveMessageCommand({
              QueueUrl: config.deadLetterQueueUrl,
              WaitTimeSeconds: 1,
              VisibilityTimeout: 0,
            }),
          )
          .then((r) => r.Messages ?? []),
      (dead) => expect(dead.map((m) => m.Body)).toEqual(["poison"]),
      { what: "the poison message on the DLQ", timeoutMs: 30_000 },
    );
    expect(receiveCounts).toEqual(Array.from({ length: RawQueue.maxReceiveCount }, (_, i) => String(i + 1)));
    expect(poller.stats.handlerErrors).toBe(RawQueue.maxReceiveCount);
    expect(await depth(config.rawQueueUrl)).toBe(0);
  });

  it("leaves failed messages invisible for the queue's own timeout when no retry visibility is set", async () => {
    let calls = 0;
    const poller = await start({
      handler: async (event) => {
        calls += 1;
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await send(config.rawQueueUrl, "retried after 180 s");
    await eventually(
      async () => calls,
      (n) => expect(n).toBe(1),
    );
    await new Promise((r) => setTimeout(r, 2500));
    expect(calls).toBe(1);
    expect(poller.stats).toMatchObject({ received: 1, failed: 1, deleted: 0 });
    expect(await depth(config.rawQueueUrl)).toBe(1);
  });

  it("lets the long poll in flight end, and handles a message it brings, when stopped", async () => {
    const handled: string[] = [];
    const poller = await start({
      waitTimeSeconds: 2,
      handler: async (event) => {
        for (const r of event.Records) handled.push(r.body);
      },
    });
    // The first long poll is waiting on an empty queue; a message arrives just after stop().
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const stopped = poller.stop({ drainMs: 5000 });
    await send(config.rawQueueUrl, "arrived during the last poll");
    await stopped;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(handled).toEqual(["arrived during the last poll"]);
    expect(await depth(config.rawQueueUrl)).toBe(0);
  });

  it("finishes the current batch on stop, and drains what is queued only when asked", async () => {
    const slowHandler = (handled: string[]) => async (event: SQSEvent) => {
      await new Promise((r) => setTimeout(r, 300));
      for (const r of event.Records) handled.push(r.body);
    };
    const sendMany = (n: number) =>
      Promise.all(
        Array.from({ length: n / 5 }, (_, b) =>
          sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: config.rawQueueUrl,
              Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `e${i}`, MessageBody: `m${b * 5 + i}` })),
            }),
          ),
        ),
      );

    const first: string[] = [];
    const noDrain = await start({ handler: slowHandler(first) });
    await sendMany(25);
    await eventually(
      async () => first.length,
      (n) => expect(n).toBeGreaterThan(0),
      { timeoutMs: 5000 },
    );
    await noDrain.stop();
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(25);
    expect(await depth(config.rawQueueUrl)).toBe(25 - first.length);

    const second: string[] = [];
    const draining = await start({ handler: slowHandler(second) });
    await draining.stop({ drainMs: 10_000 });
    expect([...first, ...second].sort()).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`).sort());
    expect(await depth(config.rawQueueUrl)).toBe(0);
  });

  it("with several loops, handles batches side by side, retries only the reported failures, and drains on stop", async () => {
    let inFlight = 0;
    let peak = 0;
    const attempts = new Map<string, number>();
    const poller = await start({
      concurrency: 4,
      maxMessages: 5,
      failedVisibilitySeconds: 0,
      handler: async (event) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 200));
        inFlight -= 1;
        const failures: { itemIdentifier: string }[] = [];
        for (const r of event.Records) {
          const n = (attempts.get(r.body) ?? 0) + 1;
          attempts.set(r.body, n);
          // Every fifth message fails its first delivery.
          if (Number(r.body.slice(1)) % 5 === 0 && n === 1) failures.push({ itemIdentifier: r.messageId });
        }
        return { batchItemFailures: failures };
      },
    });
    const bodies = Array.from({ length: 60 }, (_, i) => `m${i}`);
    for (let b = 0; b < bodies.length; b += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: config.rawQueueUrl,
          Entries: bodies.slice(b, b + 10).map((body, i) => ({ Id: `e${i}`, MessageBody: body })),
        }),
      );
    }
    await eventually(
      async () => attempts.size,
      (n) => expect(n).toBeGreaterThan(10),
      { what: "a few batches handled", timeoutMs: 10_000 },
    );
    // Stop with most still queued: the drain handles the rest, all four loops taking part.
    await poller.stop({ drainMs: 20_000 });
    expect(peak, "batches in the handler at once").toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
    expect([...attempts.keys()].sort()).toEqual([...bodies].sort());
    for (const body of bodies) {
      expect(attempts.get(body), body).toBe(Number(body.slice(1)) % 5 === 0 ? 2 : 1);
    }
    expect(poller.stats).toMatchObject({ received: 72, deleted: 60, failed: 12, handlerErrors: 0 });
    expect(await depth(config.rawQueueUrl)).toBe(0);
  });
});
