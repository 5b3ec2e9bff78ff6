import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { gatheredStatements } from "../../../packages/aws/src/dynamo/gathered";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { countingClient } from "../../support/counting-client";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

const track = (id: string, userId: string, timestamp: string) => ({
  type: "track",
  messageId: id,
  userId,
  event: "Report Built",
  timestamp,
  properties: { account_id: "acc-1" },
});
const identify = (id: string, userId: string) => ({
  type: "identify",
  messageId: id,
  userId,
  timestamp: "2024-05-01T00:00:00.000Z",
  traits: { email: `${userId}@example.com` },
});

/** Earlier traffic: each user identified, with one event in May (acc-1 named by the events). */
async function seenInMay(ws: string, users: string[]) {
  const setup = createNormalizeHandler({ store: new DynamoModelStore(createDocumentClient(config), config) });
  await setup(
    sqsEvent([
      rawMessage(ws, [
        ...users.map((u) => identify(`i-${u}`, u)),
        ...users.map((u) => track(`m-${u}`, u, "2024-05-03T00:00:00.000Z")),
      ]),
    ]),
  );
}

describe("profiles' event months, gathered into batched PartiQL UPDATEs", () => {
  it("record a new month for 60 known profiles in a few requests instead of one UpdateItem each", async () => {
    const ws = freshWorkspace();
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    await seenInMay(ws, users);
    const { db, sent } = countingClient(config);
    const handler = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
    const june = users.map((u) => track(`j-${u}`, u, "2024-06-03T10:00:00.000Z"));
    const out = await handler(sqsEvent([rawMessage(ws, june, "product", "2024-06-04T00:00:00.000Z")]));
    expect(out.batchItemFailures).toEqual([]);
    // 60 users and acc-1 take June: 61 month writes in 3 requests (25 a request), the 60 event
    // inserts in 3 more, no UpdateItem.
    expect(sent.filter((s) => s === "UpdateItem" || s === "PutItem")).toEqual([]);
    expect(sent.filter((s) => s === "BatchExecuteStatement").length).toBeLessThanOrEqual(3 + 3);
    const reader = new DynamoModelReader(createDocumentClient(config), config);
    for (const u of ["u0", "u31", "u59"]) {
      const item = await createDocumentClient(config).send(
        new GetCommand({ TableName: config.entitiesTable, Key: keys.user(ws, u), ConsistentRead: true }),
      );
      expect([...((item.Item?.event_months as Set<string> | undefined) ?? [])].sort()).toEqual(["2024-05", "2024-06"]);
      expect((await reader.getUser(ws, u))?.last_seen_at).toBe("2024-06-03T10:00:00.000Z");
    }
  });

  it("let a profile the batch writes anyway take its new month in that same write", async () => {
    const ws = freshWorkspace();
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    await seenInMay(ws, users);
    const db = createDocumentClient(config);
    const statements: string[] = [];
    db.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Statements?: { Statement: string }[] };
        for (const s of input.Statements ?? []) statements.push(s.Statement);
        return next(args);
      },
      { step: "initialize", name: "listStatements" },
    );
    const handler = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
    const june = users.flatMap((u) => [
      { ...identify(`ji-${u}`, u), timestamp: "2024-06-02T00:00:00.000Z", traits: { email: `${u}@june.example` } },
      track(`j-${u}`, u, "2024-06-03T10:00:00.000Z"),
    ]);
    const out = await handler(sqsEvent([rawMessage(ws, june, "product", "2024-06-04T00:00:00.000Z")]));
    expect(out.batchItemFailures).toEqual([]);
    // The 40 users' June rides on their profile writes; only acc-1 (named by the events, not
    // written by these calls) takes its month on its own.
    const monthOnly = statements.filter((s) => s.includes("set_add") && !s.includes('"version"'));
    expect(monthOnly).toHaveLength(1);
    const reader = new DynamoModelReader(createDocumentClient(config), config);
    for (const u of ["u0", "u17", "u39"]) {
      const item = await createDocumentClient(config).send(
        new GetCommand({ TableName: config.entitiesTable, Key: keys.user(ws, u), ConsistentRead: true }),
      );
      expect([...((item.Item?.event_months as Set<string> | undefined) ?? [])].sort()).toEqual(["2024-05", "2024-06"]);
      const user = await reader.getUser(ws, u);
      expect(user?.last_seen_at).toBe("2024-06-03T10:00:00.000Z");
    }
  });

  it("give a new user written with its first months the marks re-attribution relies on", async () => {
    const ws = freshWorkspace();
    const doc = createDocumentClient(config);
    const handler = createNormalizeHandler({ store: new DynamoModelStore(doc, config) });
    // A new user's identify and an event naming no account: the profile write records the month,
    // the mark (its account comes from the user's memberships) and that the marks are complete.
    const bare = {
      type: "track",
      messageId: "t-1",
      userId: "n1",
      event: "Signed In",
      timestamp: "2024-05-03T00:00:00.000Z",
    };
    await handler(sqsEvent([rawMessage(ws, [identify("i-n1", "n1"), bare])]));
    const item = (
      await doc.send(
        new GetCommand({ TableName: config.entitiesTable, Key: keys.user(ws, "n1"), ConsistentRead: true }),
      )
    ).Item;
    expect([...((item?.event_months as Set<string> | undefined) ?? [])]).toEqual(["2024-05"]);
    expect([...((item?.from_user_months as Set<string> | undefined) ?? [])]).toEqual(["2024-05"]);
    expect(item?.from_user_complete).toBe(true);
    // A later membership finds the event through the mark and gives it the user's only account.
    const group = {
      type: "group",
      messageId: "g-1",
      userId: "n1",
      groupId: "acc-9",
      timestamp: "2024-05-01T00:00:00.000Z",
      traits: { name: "Nine" },
    };
    await handler(sqsEvent([rawMessage(ws, [group])]));
    const reader = new DynamoModelReader(createDocumentClient(config), config);
    expect((await reader.getAccount(ws, "acc-9"))?.last_seen_at).toBe("2024-05-03T00:00:00.000Z");
  });

  it("fill in what an incomplete or vanished profile lacks, as the UpdateItem always did", async () => {
    const ws = freshWorkspace();
    const doc = createDocumentClient(config);
    // An item without kind/id/workspace (written by hand here) and a profile that is gone.
    await doc.send(new PutCommand({ TableName: config.entitiesTable, Item: { ...keys.user(ws, "bare"), note: "x" } }));
    const store = new DynamoModelStore(doc, config);
    await Promise.all([
      store.touchLastSeen({ workspaceId: ws, kind: "user", id: "bare" }, "2024-06-01T00:00:00.000Z", ["2024-06"], true),
      store.touchLastSeen({ workspaceId: ws, kind: "user", id: "gone" }, "2024-06-01T00:00:00.000Z", ["2024-06"], true),
    ]);
    for (const id of ["bare", "gone"]) {
      const item = (
        await doc.send(
          new GetCommand({ TableName: config.entitiesTable, Key: keys.user(ws, id), ConsistentRead: true }),
        )
      ).Item;
      expect(item).toMatchObject({ kind: "user", id, workspace_id: ws });
      expect([...((item?.event_months as Set<string> | undefined) ?? [])]).toEqual(["2024-06"]);
    }
  });

  it("send a batch DynamoDB refuses again statement by statement, so only the bad one fails", async () => {
    const ws = freshWorkspace();
    const doc = createDocumentClient(config);
    const coalescer = gatheredStatements(doc, "test write");
    const good = (n: number) => ({
      Statement: `INSERT INTO "${config.entitiesTable}" VALUE {'pk': ?, 'sk': ?, 'n': ?}`,
      Parameters: [`${ws}#coalesce`, `ITEM#${n}`, n],
      key: { pk: `${ws}#coalesce`, sk: `ITEM#${n}` },
    });
    const bad = {
      Statement: `INSERT INTO "${config.entitiesTable}" VALUE {'pk': ?}`,
      Parameters: [`${ws}#coalesce-bad`],
      key: { pk: `${ws}#coalesce-bad`, sk: "" },
    };
    const outcomes = await Promise.allSettled([coalescer.ask(good(1)), coalescer.ask(bad), coalescer.ask(good(2))]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: "storage.rejected" });
    for (const n of [1, 2]) {
      const item = await doc.send(
        new GetCommand({ TableName: config.entitiesTable, Key: { pk: `${ws}#coalesce`, sk: `ITEM#${n}` } }),
      );
      expect(item.Item?.n).toBe(n);
    }
  });
});
