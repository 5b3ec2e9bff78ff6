import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { BatchContext, type QueueRecord } from "../../../packages/core/src/pipeline/batch-context";
import type { ModelStore, ProfileRef } from "../../../packages/core/src/pipeline/model-store";
import { writeMemberships } from "../../../packages/core/src/pipeline/stages/memberships";
import { parseRecords } from "../../../packages/core/src/pipeline/stages/parse";
import { writeProfiles } from "../../../packages/core/src/pipeline/stages/profiles";
import { countingClient } from "../../support/counting-client";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace } from "../../support/normalize-harness";
import { throttleStatements } from "../../support/statement-throttling";

/**
 * The profiles and memberships stages write a batch's items in gathered requests (PartiQL in
 * BatchExecuteStatement, 25 a request; one BatchGetItem for every account the memberships name)
 * instead of one UpdateItem (and a read) per item, with the outcomes the per-item writes had.
 */

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

/** A batch context and its units, over `store`, of one record of these calls. */
function batchOf(ws: string, store: ModelStore, calls: Record<string, unknown>[]) {
  const records: QueueRecord[] = [
    {
      id: `rec-${ws}-${Math.random()}`,
      body: JSON.stringify({
        v: 1,
        workspaceId: ws,
        source: "product",
        receivedAt: "2024-06-01T00:00:00.000Z",
        requestId: `req-${ws}`,
        calls,
      }),
    },
  ];
  const ctx = new BatchContext(records, store, () => "2024-06-01T00:00:00.000Z");
  return { ctx, units: parseRecords(records, ctx) };
}

const identify = (userId: string, traits: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "identify",
  userId,
  messageId: `i-${userId}-${JSON.stringify(traits)}`,
  timestamp: "2024-05-01T12:00:00.000Z",
  traits,
  ...extra,
});

const group = (userId: string, groupId: string, timestamp: string, traits: Record<string, unknown> = {}) => ({
  type: "group",
  userId,
  groupId,
  messageId: `g-${userId}-${groupId}-${timestamp}`,
  timestamp,
  traits,
});

async function itemOf(key: { pk: string; sk: string }) {
  const out = await createDocumentClient(config).send(
    new GetCommand({ TableName: config.entitiesTable, Key: key, ConsistentRead: true }),
  );
  return out.Item;
}

const fieldOf = (item: Record<string, unknown> | undefined, name: string) =>
  (item?.f as Record<string, { v: unknown }> | undefined)?.[name]?.v;

describe("profile writes of a batch, gathered", () => {
  it("create 60 profiles and then change them in at most 3 requests each time, no UpdateItem", async () => {
    const ws = freshWorkspace();
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    const first = countingClient(config);
    const created = batchOf(
      ws,
      new DynamoModelStore(first.db, config),
      users.map((u) => identify(u, { first_name: `F-${u}` })),
    );
    await writeProfiles(created.ctx, created.units);
    expect(created.ctx.failed.size + created.ctx.rejects.length).toBe(0);
    expect(created.ctx.stats.profilesWritten).toBe(60);
    expect(first.count("UpdateItem")).toBe(0);
    expect(first.count("BatchExecuteStatement")).toBeLessThanOrEqual(3);

    const second = countingClient(config);
    const changed = batchOf(
      ws,
      new DynamoModelStore(second.db, config),
      users.map((u) => identify(u, { last_name: `L-${u}` }, { timestamp: "2024-05-02T12:00:00.000Z" })),
    );
    await writeProfiles(changed.ctx, changed.units);
    expect(changed.ctx.stats.profilesWritten).toBe(60);
    expect(second.count("UpdateItem")).toBe(0);
    expect(second.count("BatchExecuteStatement")).toBeLessThanOrEqual(3);
    expect(second.count("BatchGetItem")).toBe(1);
    for (const u of ["u0", "u29", "u59"]) {
      const item = await itemOf(keys.user(ws, u));
      expect(item).toMatchObject({ kind: "user", id: u, workspace_id: ws, version: 2 });
      expect([fieldOf(item, "first_name"), fieldOf(item, "last_name")]).toEqual([`F-${u}`, `L-${u}`]);
    }
  });

  it("a write that loses the optimistic-lock race re-reads and merges over the winner's", async () => {
    const ws = freshWorkspace();
    const doc = createDocumentClient(config);
    const store = new DynamoModelStore(doc, config);
    // Known and new profiles alike: another writer lands between this batch's read and its write.
    await store.saveProfile({ workspaceId: ws, kind: "user", id: "known" }, {}, 0);
    await doc.send(
      new PutCommand({
        TableName: config.entitiesTable,
        Item: { ...keys.user(ws, "listed"), kind: "user", id: "listed", workspace_id: ws },
      }),
    );
    const load = store.loadProfiles.bind(store);
    let loads = 0;
    store.loadProfiles = async (refs: ProfileRef[]) => {
      const read = await load(refs);
      if (loads++ > 0) return read;
      for (const id of ["known", "new", "listed"]) {
        const theirs = { nickname: { v: `theirs-${id}`, t: "2024-05-01T00:00:00.000Z", m: "other" } };
        await doc.send(
          new UpdateCommand({
            TableName: config.entitiesTable,
            Key: keys.user(ws, id),
            UpdateExpression: "SET f = :f, version = if_not_exists(version, :zero) + :one",
            ExpressionAttributeValues: { ":f": theirs, ":zero": 0, ":one": 1 },
          }),
        );
      }
      return read;
    };
    const { ctx, units } = batchOf(ws, store, [
      identify("known", { first_name: "Mine" }),
      identify("new", { first_name: "Mine too" }),
      identify("listed", { first_name: "Mine as well" }),
    ]);
    await writeProfiles(ctx, units);
    expect(ctx.failed.size + ctx.rejects.length).toBe(0);
    expect(loads).toBeGreaterThan(1);
    const known = await itemOf(keys.user(ws, "known"));
    expect([fieldOf(known, "first_name"), fieldOf(known, "nickname"), known?.version]).toEqual([
      "Mine",
      "theirs-known",
      3,
    ]);
    const fresh = await itemOf(keys.user(ws, "new"));
    expect([fieldOf(fresh, "first_name"), fieldOf(fresh, "nickname"), fresh?.version]).toEqual([
      "Mine too",
      "theirs-new",
      2,
    ]);
    const listed = await itemOf(keys.user(ws, "listed"));
    expect([fieldOf(listed, "first_name"), fieldOf(listed, "nickname"), listed?.version]).toEqual([
      "Mine as well",
      "theirs-listed",
      2,
    ]);
  });

  it("an item without a version (a listed account, an events-only user) takes its first fields and keeps the rest", async () => {
    const ws = freshWorkspace();
    const doc = createDocumentClient(config);
    const index = keys.bucketIndex(ws, "subscribed", "acc");
    await doc.send(
      new PutCommand({
        TableName: config.entitiesTable,
        Item: {
          ...keys.account(ws, "acc"),
          kind: "account",
          id: "acc",
          workspace_id: ws,
          bucket: "subscribed",
          ...index,
        },
      }),
    );
    await doc.send(
      new PutCommand({
        TableName: config.entitiesTable,
        Item: {
          ...keys.user(ws, "seen"),
          kind: "user",
          id: "seen",
          workspace_id: ws,
          event_months: new Set(["2024-04"]),
        },
      }),
    );
    const { db, count } = countingClient(config);
    const { ctx, units } = batchOf(ws, new DynamoModelStore(db, config), [
      group("seen", "acc", "2024-05-01T12:00:00.000Z", { name: "Acme", is_trial: true }),
      identify("seen", { first_name: "Seen" }),
    ]);
    await writeProfiles(ctx, units);
    expect(ctx.stats.profilesWritten).toBe(2);
    expect(count("UpdateItem")).toBe(0);
    // Both read as there without a version: one gathered UPDATE each, no INSERT tried first.
    expect(count("BatchExecuteStatement")).toBe(1);
    const account = await itemOf(keys.account(ws, "acc"));
    expect(account).toMatchObject({ version: 1, bucket: "trial", ...keys.bucketIndex(ws, "trial", "acc") });
    expect(fieldOf(account, "name")).toBe("Acme");
    const user = await itemOf(keys.user(ws, "seen"));
    expect(user).toMatchObject({ version: 1, kind: "user", id: "seen" });
    expect(fieldOf(user, "first_name")).toBe("Seen");
    expect([...((user?.event_months as Set<string> | undefined) ?? [])]).toEqual(["2024-04"]);
  });

  it("a profile near the 300 KB cap is written by INSERT and then by UPDATE, as UpdateItem wrote it", async () => {
    const ws = freshWorkspace();
    const store = new DynamoModelStore(createDocumentClient(config), config);
    const big = (tag: string) => ({ blob: { v: tag.repeat(290 * 1024), t: "2024-05-01T00:00:00.000Z", m: "m" } });
    const ref = { workspaceId: ws, kind: "user" as const, id: "big" };
    expect(await store.saveProfile(ref, big("a"), 0)).toBe(true);
    expect(await store.saveProfile(ref, big("b"), 1)).toBe(true);
    const item = await itemOf(keys.user(ws, "big"));
    expect([item?.version, (fieldOf(item, "blob") as string).length, (fieldOf(item, "blob") as string)[0]]).toEqual([
      2,
      290 * 1024,
      "b",
    ]);
  });

  it("a profile write DynamoDB keeps throttling fails alone, retryable; the others of its request land", async () => {
    const ws = freshWorkspace();
    const db = createDocumentClient(config);
    throttleStatements(db, (s) => JSON.stringify(s.Parameters).includes("#U#hot"));
    const store = new DynamoModelStore(db, config);
    const small = { name: { v: "ok", t: "2024-05-01T00:00:00.000Z", m: "m" } };
    const outcomes = await Promise.allSettled(
      ["a", "hot", "b"].map((id) => store.saveProfile({ workspaceId: ws, kind: "user", id }, small, 0)),
    );
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : "failed"))).toEqual([true, "failed", true]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ retryable: true });
    expect(fieldOf(await itemOf(keys.user(ws, "b")), "name")).toBe("ok");
    expect(await itemOf(keys.user(ws, "hot"))).toBeUndefined();
  });

  it("a profile write DynamoDB refuses fails alone; the batch's other writes land", async () => {
    const ws = freshWorkspace();
    const store = new DynamoModelStore(createDocumentClient(config), config);
    // Over DynamoDB's 400 KB item size: refused whatever the request (the stage caps profiles far lower).
    const huge = { blob: { v: "x".repeat(420 * 1024), t: "2024-05-01T00:00:00.000Z", m: "m" } };
    const small = { name: { v: "ok", t: "2024-05-01T00:00:00.000Z", m: "m" } };
    await store.saveProfile({ workspaceId: ws, kind: "user", id: "old" }, {}, 0);
    const outcomes = await Promise.allSettled([
      store.saveProfile({ workspaceId: ws, kind: "user", id: "a" }, small, 0),
      store.saveProfile({ workspaceId: ws, kind: "user", id: "big" }, huge, 0),
      store.saveProfile({ workspaceId: ws, kind: "user", id: "old" }, small, 1),
      store.saveProfile({ workspaceId: ws, kind: "user", id: "stale" }, small, 3),
    ]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : "failed"))).toEqual([true, "failed", true, false]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: "storage.rejected" });
    expect(await itemOf(keys.user(ws, "big"))).toBeUndefined();
    expect(fieldOf(await itemOf(keys.user(ws, "old")), "name")).toBe("ok");
  });
});

describe("membership writes of a batch, gathered", () => {
  it("30 new memberships over three accounts: one read of the accounts, a few requests, no UpdateItem", async () => {
    const ws = freshWorkspace();
    const doc = createDocumentClient(config);
    const setup = new DynamoModelStore(doc, config);
    // "named" has fields, "listed" is listed without fields, "fresh" does not exist yet.
    await setup.saveProfile({ workspaceId: ws, kind: "account", id: "named" }, {}, 0, "trial");
    await doc.send(
      new PutCommand({
        TableName: config.entitiesTable,
        Item: {
          ...keys.account(ws, "listed"),
          kind: "account",
          id: "listed",
          workspace_id: ws,
          bucket: "subscribed",
          ...keys.bucketIndex(ws, "subscribed", "listed"),
        },
      }),
    );
    const accounts = ["named", "listed", "fresh"];
    const calls = Array.from({ length: 30 }, (_, i) =>
      group(`u${i}`, accounts[i % 3] as string, `2024-05-${String(1 + (i % 9)).padStart(2, "0")}T00:00:00.000Z`),
    );
    const { db, count } = countingClient(config);
    const { ctx, units } = batchOf(ws, new DynamoModelStore(db, config), calls);
    const { changed } = await writeMemberships(ctx, units);
    expect(changed).toHaveLength(30);
    expect(ctx.stats.membershipsAdded).toBe(30);
    expect(count("UpdateItem")).toBe(0);
    // One read of the memberships, one of the three accounts.
    expect(count("BatchGetItem")).toBe(2);
    expect(count("BatchExecuteStatement")).toBeLessThanOrEqual(4);
    const index = keys.membershipIndex(ws, "fresh", "u2");
    expect(await itemOf(keys.membership(ws, "fresh", "u2"))).toEqual({
      ...keys.membership(ws, "fresh", "u2"),
      ...index,
      since: "2024-05-03T00:00:00.000Z",
      account_id: "fresh",
      user_id: "u2",
      workspace_id: ws,
    });
    // The account a membership named first is listed, in the default bucket, as before.
    expect(await itemOf(keys.account(ws, "fresh"))).toEqual({
      ...keys.account(ws, "fresh"),
      ...keys.bucketIndex(ws, "subscribed", "fresh"),
      kind: "account",
      id: "fresh",
      workspace_id: ws,
      bucket: "subscribed",
    });
    expect(await itemOf(keys.account(ws, "named"))).toMatchObject({ bucket: "trial", version: 1 });
  });

  it("the earliest since wins, whether it comes first, later, or at the same time as another", async () => {
    const ws = freshWorkspace();
    const store = new DynamoModelStore(createDocumentClient(config), config);
    const edge = (userId: string, day: string) => ({
      workspaceId: ws,
      accountId: "acc",
      userId,
      since: `2024-05-${day}T00:00:00.000Z`,
    });
    expect(await store.saveMembership(edge("u1", "05"))).toBe(true);
    // Concurrent writes of a stored membership and of a new one: the earliest since wins.
    const outcomes = await Promise.all([
      store.saveMembership(edge("u1", "03")),
      store.saveMembership(edge("u1", "09")),
      store.saveMembership(edge("u2", "07")),
      store.saveMembership(edge("u2", "02")),
    ]);
    expect([outcomes[0], outcomes[1], outcomes[3]]).toEqual([true, false, true]);
    expect(await store.saveMembership(edge("u1", "04"))).toBe(false);
    expect((await itemOf(keys.membership(ws, "acc", "u1")))?.since).toBe("2024-05-03T00:00:00.000Z");
    expect((await itemOf(keys.membership(ws, "acc", "u2")))?.since).toBe("2024-05-02T00:00:00.000Z");

    const { ctx, units } = batchOf(ws, store, [group("u1", "acc", "2024-05-01T00:00:00.000Z")]);
    const { changed } = await writeMemberships(ctx, units);
    expect(changed.map((e) => e.since)).toEqual(["2024-05-01T00:00:00.000Z"]);
    expect((await itemOf(keys.membership(ws, "acc", "u1")))?.since).toBe("2024-05-01T00:00:00.000Z");
  });

  it("a membership write DynamoDB refuses fails alone; the others land", async () => {
    const ws = freshWorkspace();
    const store = new DynamoModelStore(createDocumentClient(config), config);
    // A user id over DynamoDB's 1024-byte sort key limit: refused whatever the request.
    const long = "x".repeat(1100);
    const outcomes = await Promise.allSettled(
      ["ok1", long, "ok2"].map((userId) =>
        store.saveMembership({ workspaceId: ws, accountId: "acc", userId, since: "2024-05-01T00:00:00.000Z" }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: "storage.rejected" });
    expect(await itemOf(keys.membership(ws, "acc", "ok2"))).toMatchObject({ since: "2024-05-01T00:00:00.000Z" });
  });
});
