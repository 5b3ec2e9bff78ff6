import { CreateQueueCommand, DeleteQueueCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createIngestHandler } from "../../../packages/aws/src/ingest/handler";
import { createRawQueueSender } from "../../../packages/aws/src/sqs/raw-queue";
import type { CredentialLookup, RawQueueSender } from "../../../packages/core/src/ingest/receive";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { freePort } from "../../../packages/local/src/services";
import {
  callsOf,
  drainQueue,
  type IngestStack,
  post,
  segmentSign,
  segmentTrack,
  startIngestStack,
} from "./ingest-stack";

let stack: IngestStack;
let secret: string;
const servers: HandlerServer[] = [];

beforeAll(async () => {
  stack = await startIngestStack();
  ({ sharedSecret: secret } = await stack.store.createWorkspace({ id: "acme" }));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await stack?.close();
});

/** The real handler with its credentials from the stack and the given queue sender. */
async function serverWith(
  queue: RawQueueSender,
  credentials: CredentialLookup = stack.store,
  maxMessageBytes?: number,
): Promise<HandlerServer> {
  const handler = createIngestHandler({ credentials, queue, maxMessageBytes });
  const server = await startHandlerServer([{ prefix: "/v1", handler }]);
  servers.push(server);
  return server;
}

function sendBatch(server: HandlerServer, count = 30) {
  const calls = Array.from({ length: count }, (_, i) => segmentTrack(i, { properties: { pad: "x".repeat(10_000) } }));
  const body = JSON.stringify(calls);
  return {
    calls,
    answer: post(`${server.url}/v1/webhooks/segment/acme`, body, {
      "x-signature": segmentSign(JSON.stringify(calls[0]), secret),
    }),
  };
}

/** An SQS client whose SendMessageBatch fails the entries `fail(id, tries)` says, counting tries per entry. */
function flakySqs(real: SQSClient, fail: (id: string, tries: number) => boolean) {
  const tries = new Map<string, number>();
  const client = {
    async send(command: SendMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      const failing: string[] = [];
      const passing = entries.filter((e) => {
        const id = e.Id as string;
        const n = (tries.get(id) ?? 0) + 1;
        tries.set(id, n);
        if (!fail(id, n)) return true;
        failing.push(id);
        return false;
      });
      const answer = passing.length
        ? await real.send(new SendMessageBatchCommand({ ...command.input, Entries: passing }))
        : { Successful: [] };
      return {
        ...answer,
        Failed: failing.map((Id) => ({ Id, Code: "InternalError", SenderFault: false, Message: "try again" })),
      };
    },
  };
  return { client: client as unknown as SQSClient, tries };
}

describe("SQS outage", () => {
  it("a deleted queue: 503 queue.unavailable", async () => {
    const created = await stack.sqs.send(new CreateQueueCommand({ QueueName: `gone-${Date.now()}` }));
    await stack.sqs.send(new DeleteQueueCommand({ QueueUrl: created.QueueUrl }));
    const server = await serverWith(createRawQueueSender(stack.sqs, created.QueueUrl as string));
    const { answer } = sendBatch(server);
    expect(await answer).toMatchObject({ status: 503, body: { success: false, code: "queue.unavailable" } });
  });

  it("an SQS endpoint that refuses connections: 503 within Segment's 5 s", async () => {
    const closed = createSqsClient({ region: "us-east-1", sqsEndpoint: `http://127.0.0.1:${await freePort()}` });
    const server = await serverWith(createRawQueueSender(closed, stack.config.rawQueueUrl));
    const started = Date.now();
    const { answer } = sendBatch(server);
    expect(await answer).toMatchObject({ status: 503, body: { code: "queue.unavailable" } });
    expect(Date.now() - started).toBeLessThan(5000);
    closed.destroy();
  });

  it("entries that fail once are sent again, and every call arrives exactly once", async () => {
    // Small messages: 30 calls → 30 messages → 3 SendMessageBatch calls of 10 entries.
    const flaky = flakySqs(stack.sqs, (id, n) => id !== "m0" && n === 1);
    const server = await serverWith(createRawQueueSender(flaky.client, stack.config.rawQueueUrl), stack.store, 12_000);
    const { calls, answer } = sendBatch(server);
    expect((await answer).status).toBe(200);
    expect(flaky.tries.size).toBe(30);
    expect(flaky.tries.get("m0")).toBe(1);
    expect(flaky.tries.get("m29")).toBe(2);
    const got = callsOf(await drainQueue(stack.sqs, stack.config.rawQueueUrl));
    expect(got).toHaveLength(30);
    expect(new Set(got.map((c) => c.messageId))).toEqual(new Set(calls.map((c) => c.messageId)));
  });

  it("entries that keep failing: 503 after a few tries each", async () => {
    const flaky = flakySqs(stack.sqs, (id) => id === "m17");
    const sender = createRawQueueSender(flaky.client, stack.config.rawQueueUrl, { attempts: 3 });
    const server = await serverWith(sender, stack.store, 12_000);
    const { answer } = sendBatch(server);
    expect(await answer).toMatchObject({ status: 503, body: { code: "queue.unavailable" } });
    expect(flaky.tries.get("m17")).toBe(3);
    expect(flaky.tries.get("m0")).toBe(1);
    // The others were queued; Segment retries the whole request and storage dedupes by messageId.
    expect(callsOf(await drainQueue(stack.sqs, stack.config.rawQueueUrl))).toHaveLength(29);
  });
});

describe("DynamoDB outage", () => {
  it("credentials that cannot be looked up: 503 credentials.unavailable", async () => {
    const db = createDocumentClient({ region: "us-east-1", dynamoEndpoint: `http://127.0.0.1:${await freePort()}` });
    const server = await serverWith(
      createRawQueueSender(stack.sqs, stack.config.rawQueueUrl),
      new WorkspaceStore(db, stack.config.entitiesTable),
    );
    const { answer } = sendBatch(server, 1);
    expect(await answer).toMatchObject({ status: 503, body: { code: "credentials.unavailable" } });
    db.destroy();
  });
});
