import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { IngestError } from "../../../packages/core/src/errors";
import type { EventVersion } from "../../../packages/core/src/pipeline/model-store";
import { normalizeSubscription } from "../../../packages/resources/src/definitions";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";
import { throttleStatements } from "../../support/statement-throttling";

/**
 * Review probes of issue 21's second round: gathered writes of one item from two batches sharing a
 * store (one gathered flush), and a membership racing the profile write that carries a user's first
 * months and marks.
 */

let config: Config;
let db: ReturnType<typeof createDocumentClient>;
let reader: DynamoModelReader;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  db = createDocumentClient(config);
  reader = new DynamoModelReader(db, config);
});
afterAll(() => db.destroy());

const RECV = "2024-06-01T00:00:00.000Z";
const track = (messageId: string, userId: string, timestamp: string) => ({
  type: "track",
  messageId,
  userId,
  event: "Report Built",
  timestamp,
});
const identify = (messageId: string, userId: string, traits: Record<string, unknown>) => ({
  type: "identify",
  messageId,
  userId,
  timestamp: "2024-05-01T00:00:00.000Z",
  traits,
});
const group = (messageId: string, userId: string, groupId: string, timestamp = "2024-04-01T00:00:00.000Z") => ({
  type: "group",
  messageId,
  userId,
  groupId,
  timestamp,
  traits: { name: `Account ${groupId}` },
});

async function deliver(store: DynamoModelStore, ws: string, calls: Record<string, unknown>[]) {
  const out = await createNormalizeHandler({ store })(sqsEvent([rawMessage(ws, calls, "product", RECV)]));
  expect(out.batchItemFailures).toEqual([]);
}

async function itemOf(key: { pk: string; sk: string }) {
  const out = await db.send(new GetCommand({ TableName: config.entitiesTable, Key: key, ConsistentRead: true }));
  return out.Item;
}

describe("one store, two batches at once (their writes share gathered flushes)", () => {
  it("a new user and a new account written by both keep both batches' fields, memberships and months", async () => {
    const ws = freshWorkspace();
    const store = new DynamoModelStore(db, config);
    await Promise.all([
      deliver(store, ws, [
        identify("i1", "u1", { first_name: "Ada" }),
        group("g1", "u1", "acc-1", "2024-04-02T00:00:00.000Z"),
        track("t1", "u1", "2024-05-03T00:00:00.000Z"),
      ]),
      deliver(store, ws, [
        identify("i2", "u1", { last_name: "Lovelace" }),
        group("g2", "u2", "acc-1", "2024-04-01T00:00:00.000Z"),
        track("t2", "u1", "2024-06-03T00:00:00.000Z"),
      ]),
    ]);
    const user = await itemOf(keys.user(ws, "u1"));
    const f = user?.f as Record<string, { v: unknown }>;
    expect([f.first_name?.v, f.last_name?.v]).toEqual(["Ada", "Lovelace"]);
    expect([...((user?.event_months as Set<string> | undefined) ?? [])].sort()).toEqual(["2024-05", "2024-06"]);
    expect((await itemOf(keys.membership(ws, "acc-1", "u1")))?.since).toBe("2024-04-02T00:00:00.000Z");
    expect((await itemOf(keys.membership(ws, "acc-1", "u2")))?.since).toBe("2024-04-01T00:00:00.000Z");
    for (const id of ["t1", "t2"]) expect((await reader.getEvent(ws, id))?.account_id).toBe("acc-1");
  });
});

describe("a membership racing the profile write that records a new user's first months and marks", () => {
  for (const when of ["before", "after"] as const) {
    it(`re-attributes the user's event when the membership lands ${when} that write`, async () => {
      const ws = freshWorkspace();
      const store = new DynamoModelStore(db, config);
      const save = store.saveProfile.bind(store);
      let raced = false;
      store.saveProfile = async (...args: Parameters<DynamoModelStore["saveProfile"]>) => {
        const race = async () => {
          if (raced || args[0].kind !== "user") return;
          raced = true;
          await deliver(new DynamoModelStore(db, config), ws, [group("g1", "u1", "acc-1")]);
        };
        if (when === "before") await race();
        const saved = await save(...args);
        if (when === "after") await race();
        return saved;
      };
      await deliver(store, ws, [
        identify("i1", "u1", { email: "u1@example.com" }),
        track("m1", "u1", "2024-05-03T00:00:00.000Z"),
      ]);
      expect(raced).toBe(true);
      expect(await reader.getEvent(ws, "m1")).toMatchObject({
        account_id: "acc-1",
        account_resolution: "user_single_account",
      });
      expect((await reader.getAccount(ws, "acc-1"))?.last_seen_at).toBe("2024-05-03T00:00:00.000Z");
    });
  }
});

/** A store that refuses, on its merits, every read of stored events naming the `poison` event (a step the batch's calls share). */
class PoisonedLookups extends DynamoModelStore {
  lookups = 0;
  override async existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>> {
    this.lookups++;
    if (eventIds.includes("poison")) {
      throw new IngestError("storage.rejected", "DynamoDB refused batch read: ValidationException (test)");
    }
    return super.existingEvents(workspaceId, eventIds);
  }
}

describe("a full batch with one call whose shared step DynamoDB refuses on its merits", () => {
  it("isolates that call without re-running every neighbour alone (a 1,000-record batch must fit the function's timeout)", async () => {
    const ws = freshWorkspace();
    const size = normalizeSubscription.batchSize;
    const messages = Array.from({ length: size }, (_, i) =>
      rawMessage(
        ws,
        [
          track(
            i === 11 ? "poison" : `m${i}`,
            `u${i % 200}`,
            `2024-05-01T10:00:${String(i % 60).padStart(2, "0")}.000Z`,
          ),
        ],
        "product",
        RECV,
      ),
    );
    const store = new PoisonedLookups(db, config);
    const started = Date.now();
    const result = await createNormalizeHandler({ store })(sqsEvent(messages));
    const seconds = (Date.now() - started) / 1000;
    console.log(`poisoned ${size}-record batch: ${seconds.toFixed(1)} s, ${store.lookups} event lookups`);
    // The poison call is its own reject; every other call is stored; no record goes back.
    expect(result.batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "poison")).toBeUndefined();
    for (const i of [0, 10, 12, size - 1]) expect((await reader.getEvent(ws, `m${i}`))?.event_id).toBe(`m${i}`);
    expect((await reader.listRejects(ws)).map((r) => r.message_id)).toEqual(["poison"]);
    // Re-running the 999 neighbours one at a time costs a whole pipeline run each (about 1,000
    // here): far past the normalize function's 30 s on DynamoDB's latencies.
    expect(store.lookups).toBeLessThan(100);
  }, 300_000);
});

describe("a full batch with one event DynamoDB keeps throttling", () => {
  it("sends back only that event's record; the other 999 events are stored", async () => {
    const ws = freshWorkspace();
    const size = normalizeSubscription.batchSize;
    const messages = Array.from({ length: size }, (_, i) =>
      rawMessage(
        ws,
        [track(i === 11 ? "hot" : `m${i}`, `u${i % 200}`, `2024-05-01T10:00:${String(i % 60).padStart(2, "0")}.000Z`)],
        "product",
        RECV,
      ),
    );
    const throttled = createDocumentClient(config);
    throttleStatements(
      throttled,
      (s) => s.Statement.startsWith("INSERT") && JSON.stringify(s.Parameters).includes('"hot"'),
    );
    const event = sqsEvent(messages);
    const result = await createNormalizeHandler({ store: new DynamoModelStore(throttled, config) })(event);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[11]?.messageId }]);
    for (const i of [0, 10, 12, size - 1]) expect((await reader.getEvent(ws, `m${i}`))?.event_id).toBe(`m${i}`);
  }, 300_000);
});
