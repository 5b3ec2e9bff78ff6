import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

let config: Config;
let reader: DynamoModelReader;
/** Write requests sent to the Entities table, by operation, since the last reset. */
const entityWrites: string[] = [];

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  reader = new DynamoModelReader(createDocumentClient(config), config);
});

/** A normalize handler whose document client records every write request to the Entities table. */
function countedHandler() {
  const db = createDocumentClient(config);
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      const input = args.input as {
        TableName?: string;
        RequestItems?: Record<string, unknown>;
        Statements?: { Statement: string }[];
      };
      const tables = [
        input.TableName,
        ...Object.keys(input.RequestItems ?? {}),
        ...(input.Statements ?? []).map((s) => s.Statement),
      ];
      const writes = /Put|Update|Delete|BatchWrite|TransactWrite|ExecuteStatement/.test(name);
      if (writes && tables.some((t) => t?.includes(config.entitiesTable)))
        entityWrites.push(`${name} ${JSON.stringify((args.input as { Key?: unknown }).Key ?? "")}`);
      return next(args);
    },
    { step: "initialize", name: "countEntityWrites" },
  );
  return createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
}

const track = (id: string, userId: string, timestamp: string, accountId = "acc-1") => ({
  type: "track",
  messageId: id,
  userId,
  event: "Report Built",
  timestamp,
  properties: { account_id: accountId },
});

describe("last_seen_at derived from the event indexes", () => {
  it("track events of profiles already seen this month write nothing to the Entities table", async () => {
    const ws = freshWorkspace();
    const handler = countedHandler();
    const first = [
      {
        type: "identify",
        messageId: "i1",
        userId: "u1",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { first_name: "Ada" },
      },
      track("t0", "u1", "2024-05-01T00:00:01Z"),
      track("t1", "u2", "2024-05-01T00:00:02Z"),
    ];
    expect((await handler(sqsEvent([rawMessage(ws, first)]))).batchItemFailures).toEqual([]);
    entityWrites.length = 0;
    const later = Array.from({ length: 20 }, (_, i) =>
      track(`t${i + 10}`, i % 2 ? "u1" : "u2", `2024-05-0${2 + (i % 7)}T10:00:${String(i).padStart(2, "0")}Z`),
    );
    expect(
      (await handler(sqsEvent([rawMessage(ws, later.slice(0, 10)), rawMessage(ws, later.slice(10))])))
        .batchItemFailures,
    ).toEqual([]);
    expect(entityWrites).toEqual([]);
    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-05-08T10:00:13.000Z");
    expect((await reader.getUser(ws, "u2"))?.last_seen_at).toBe("2024-05-08T10:00:06.000Z");
    expect((await reader.getAccount(ws, "acc-1"))?.last_seen_at).toBe("2024-05-08T10:00:13.000Z");
    const [account] = (await reader.accountsInBucket(ws, "subscribed", 10)).items;
    expect(account?.last_seen_at).toBe("2024-05-08T10:00:13.000Z");
  });

  it("an identify repeating what the profile already holds writes nothing", async () => {
    const ws = freshWorkspace();
    const handler = countedHandler();
    const identify = (id: string, timestamp: string, traits: Record<string, unknown>) => ({
      type: "identify",
      messageId: id,
      userId: "u1",
      timestamp,
      traits,
    });
    const first = identify("i1", "2024-05-01T00:00:00Z", { first_name: "Ada", company: { id: "acc-1" } });
    expect((await handler(sqsEvent([rawMessage(ws, [first])]))).batchItemFailures).toEqual([]);
    entityWrites.length = 0;
    // The same call redelivered, and an older call with the same traits: no field and no membership moves.
    const older = identify("i0", "2024-04-01T00:00:00Z", { first_name: "Ada" });
    expect((await handler(sqsEvent([rawMessage(ws, [first]), rawMessage(ws, [older])]))).batchItemFailures).toEqual([]);
    expect(entityWrites).toEqual([]);
  });

  it("after the newest event is gone, last_seen_at is the newest one left, in an earlier month if need be", async () => {
    const ws = freshWorkspace();
    const handler = countedHandler();
    const calls = [
      track("t1", "u1", "2024-05-03T00:00:00Z"),
      track("t2", "u1", "2024-05-20T00:00:00Z"),
      track("t3", "u1", "2024-06-01T00:00:00Z"),
    ];
    expect((await handler(sqsEvent([rawMessage(ws, calls)]))).batchItemFailures).toEqual([]);
    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-06-01T00:00:00.000Z");
    const db = createDocumentClient(config);
    await db.send(new DeleteCommand({ TableName: config.eventsTable, Key: keys.event(ws, "t3") }));
    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-05-20T00:00:00.000Z");
    expect((await reader.getAccount(ws, "acc-1"))?.last_seen_at).toBe("2024-05-20T00:00:00.000Z");
    await db.send(new DeleteCommand({ TableName: config.eventsTable, Key: keys.event(ws, "t2") }));
    expect((await reader.getAccounts(ws, ["acc-1"])).get("acc-1")?.last_seen_at).toBe("2024-05-03T00:00:00.000Z");
    db.destroy();
  });
});
