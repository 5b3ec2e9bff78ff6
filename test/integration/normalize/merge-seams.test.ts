import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { IngestError } from "../../../packages/core/src/errors";
import { receiveIngestRequest } from "../../../packages/core/src/ingest/receive";
import { hashCredential } from "../../../packages/core/src/workspace/credentials";
import { provisionTestResources } from "../../support/local-resources";
import { workspaceItems } from "../../support/model-oracle";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * Where two rules meet: the tracking API's clock-skew correction (ingest) and the first-receipt
 * ordering and messageId conflicts (normalize); a call set aside to run alone and the rejects of
 * its record's other calls; the deletion re-check at the end of a batch and per-call isolation.
 * Found by an adversarial review after these were built separately; each test failed before.
 */

let config: Config;
let db: ReturnType<typeof createDocumentClient>;
let reader: DynamoModelReader;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  db = createDocumentClient(config);
  clients.push(db);
  reader = new DynamoModelReader(db, config);
});
afterAll(() => {
  for (const client of clients) client.destroy();
});

describe("tracking API calls retried by their sender", () => {
  const handler = () => createNormalizeHandler({ store: new DynamoModelStore(db, config) });

  /** One tracking API request through the real ingest at `receivedAt`, then its queued bodies through normalize. */
  async function track(ws: string, path: string, body: object, receivedAt: string) {
    const bodies: string[] = [];
    const result = await receiveIngestRequest(
      {
        method: "POST",
        path,
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${Buffer.from("wk:").toString("base64")}`,
        },
        body: new TextEncoder().encode(JSON.stringify(body)),
        requestId: `r-${receivedAt}`,
        receivedAt: new Date(receivedAt),
      },
      {
        credentials: {
          findSource: async () => undefined,
          findSourceByWriteKeyHash: async (hash) =>
            hash === hashCredential("wk") ? { workspaceId: ws, source: "product" } : undefined,
        },
        queue: { send: async (sent) => void bodies.push(...sent) },
      },
    );
    expect(result.ok).toBe(true);
    expect((await handler()(sqsEvent(bodies))).batchItemFailures).toEqual([]);
  }

  it("an identify without a timestamp, sent again after a newer identify, does not bring its old value back", async () => {
    const ws = freshWorkspace();
    const first = { userId: "u1", messageId: "c-1", traits: { title: "old" } };
    await track(ws, "/v1/identify", first, "2024-05-01T00:00:00.000Z");
    const newer = { userId: "u1", messageId: "c-2", timestamp: "2024-05-02T00:00:00.000Z", traits: { title: "new" } };
    await track(ws, "/v1/identify", newer, "2024-05-02T00:00:01.000Z");
    await track(ws, "/v1/identify", first, "2024-05-03T00:00:00.000Z");
    expect(await reader.getUser(ws, "u1")).toMatchObject({ title: "new" });
  });

  it("a track with timestamp and sentAt, sent again 10 minutes later, is a duplicate at its first corrected time", async () => {
    const ws = freshWorkspace();
    const call = {
      userId: "u1",
      messageId: "t-1",
      event: "E",
      timestamp: "2024-05-01T00:00:00.000Z",
      sentAt: "2024-05-01T00:00:01.000Z",
    };
    await track(ws, "/v1/track", call, "2024-05-01T00:00:02.000Z");
    await track(ws, "/v1/track", call, "2024-05-01T00:10:02.000Z");
    expect((await reader.listRejects(ws)).map((r) => r.code)).not.toContain("message_id.conflict");
    expect(await reader.getEvent(ws, "t-1")).toMatchObject({ timestamp: "2024-05-01T00:00:01.000Z" });
  });

  it("an identify stamped in year 9999, sent again after a newer identify, does not win", async () => {
    const ws = freshWorkspace();
    const evil = { userId: "u1", messageId: "f-1", timestamp: "9999-12-31T23:59:59.999Z", traits: { title: "evil" } };
    await track(ws, "/v1/identify", evil, "2024-05-01T00:00:00.000Z");
    const newer = { userId: "u1", messageId: "f-2", timestamp: "2024-05-02T00:00:00.000Z", traits: { title: "new" } };
    await track(ws, "/v1/identify", newer, "2024-05-02T00:00:01.000Z");
    await track(ws, "/v1/identify", evil, "2024-05-03T00:00:00.000Z");
    expect(await reader.getUser(ws, "u1")).toMatchObject({ title: "new" });
  });
});

describe("calls set aside to run alone", () => {
  it("a set-aside conflict winner does not hide the loser's message_id.conflict reject", async () => {
    const ws = freshWorkspace();
    const refusing = createDocumentClient(config);
    clients.push(refusing);
    let refused = 0;
    refusing.middlewareStack.add(
      (next, context) => async (args) => {
        const put = ["PutItemCommand", "BatchExecuteStatementCommand"].includes(String(context.commandName));
        if (put && JSON.stringify(args.input).includes("refuse-once") && refused++ === 0) {
          throw Object.assign(new Error("invalid"), {
            name: "ValidationException",
            $fault: "client",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: "initialize", name: "refuseOnce" },
    );
    const handler = createNormalizeHandler({ store: new DynamoModelStore(refusing, config) });
    const track = (messageId: string, timestamp: string, event: string) => ({
      type: "track",
      userId: "u1",
      messageId,
      timestamp,
      event,
    });
    const result = await handler(
      sqsEvent([
        rawMessage(ws, [
          track("m", "2024-05-01T12:00:00.000Z", "refuse-once"),
          track("m", "2024-05-01T11:00:00.000Z", "Loser"),
          track("other", "2024-05-01T12:00:00.000Z", "Other"),
        ]),
      ]),
    );
    expect(refused).toBeGreaterThan(0);
    expect(result.batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "m")).toMatchObject({ event_name: "refuse-once" });
    expect((await reader.listRejects(ws)).map((r) => [r.message_id, r.code])).toEqual([["m", "message_id.conflict"]]);
  });

  it("a failed deletion re-check sends the record back, and its redelivery undoes what the first one wrote", async () => {
    const ws = freshWorkspace();
    const normal = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
    const deletion = rawMessage(ws, [{ type: "delete", userId: "u1", messageId: "d1" }]);
    expect((await normal(sqsEvent([deletion]))).batchItemFailures).toEqual([]);

    // A normalizer that raced the deletion: its tombstone read saw none, so it stored the event,
    // and its re-check at the end of the batch was refused (permanently).
    class RacedTheDeletion extends DynamoModelStore {
      reads = 0;
      override async deletedUsers(workspaceId: string, userIds: string[]) {
        this.reads += 1;
        if (this.reads === 1) return new Set<string>();
        if (this.reads === 2) throw new IngestError("storage.rejected", "DynamoDB refused the tombstone read");
        return super.deletedUsers(workspaceId, userIds);
      }
    }
    const raced = createNormalizeHandler({ store: new RacedTheDeletion(db, config) });
    const track = { type: "track", userId: "u1", messageId: "a", event: "E", timestamp: "2024-05-01T12:00:00.000Z" };
    const record = sqsEvent([rawMessage(ws, [track])]);
    const first = await raced(record);
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(record.Records.map((r) => r.messageId));
    expect((await workspaceItems(config, ws)).events).toBe(1);

    // SQS delivers it again: the call is refused (its user is deleted) and what it wrote is removed.
    expect((await normal(record)).batchItemFailures).toEqual([]);
    expect((await workspaceItems(config, ws)).events).toBe(0);
    expect((await reader.listRejects(ws)).map((r) => [r.message_id, r.code])).toEqual([["a", "user.deleted"]]);
  });
});
