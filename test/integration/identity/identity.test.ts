import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoIdentityStore } from "../../../packages/aws/src/dynamo/identity-store";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { parseEntityMapUpload, planEntityMapUpload } from "../../../packages/core/src/identity/entity-map";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

let config: Config;
let reader: DynamoModelReader;
let identity: DynamoIdentityStore;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  const store = new DynamoModelStore(db, config);
  reader = new DynamoModelReader(db, config);
  identity = new DynamoIdentityStore(db, config, store);
  handler = createNormalizeHandler({ store, now: () => "2024-06-02T00:00:00.000Z" });
});

async function deliver(ws: string, calls: Record<string, unknown>[], source = "product") {
  const result = await handler(sqsEvent([rawMessage(ws, calls, source)]));
  expect(result.batchItemFailures).toEqual([]);
}

async function upload(ws: string, csv: string, replace = false) {
  const entries = parseEntityMapUpload(csv, "text/csv");
  const plan = planEntityMapUpload(entries, await identity.storedMaps(ws, entries), { replace });
  if (plan.conflicts.length === 0) await identity.applyPlan(ws, plan, "2024-06-02T00:00:00.000Z");
  return plan;
}

describe("entity maps", () => {
  it("lands a Salesforce group call on the mapped product account", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      { type: "group", messageId: "p-g", groupId: "acme", timestamp: "2024-05-01T00:00:00Z", traits: { name: "Acme" } },
    ]);
    await upload(
      ws,
      "source,kind,external_id,canonical_id\nsalesforce,account,001A000001,acme\nsalesforce,user,003U1,u-ada\n",
    );
    await deliver(
      ws,
      [
        {
          type: "group",
          messageId: "sf-g",
          groupId: "001A000001",
          userId: "003U1",
          timestamp: "2024-05-02T00:00:00Z",
          traits: { industry: "Anvils", mrr: 900 },
        },
      ],
      "salesforce",
    );
    expect(await reader.getAccount(ws, "acme")).toMatchObject({ name: "Acme", industry: "Anvils", mrr: 900 });
    expect(await reader.getAccount(ws, "001A000001")).toBeUndefined();
    expect(await reader.accountUserIds(ws, "acme")).toEqual(["u-ada"]);
  });

  it("holds an unmapped call as pending and applies it once the map is uploaded", async () => {
    const ws = freshWorkspace();
    const call = {
      type: "group",
      messageId: "sf-wait",
      groupId: "001B",
      timestamp: "2024-05-03T00:00:00Z",
      traits: { plan: "Enterprise" },
    };
    await deliver(ws, [call], "salesforce");
    const held = await identity.allPending(ws);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      source: "salesforce",
      messageId: "sf-wait",
      missing: [{ source: "salesforce", kind: "account", externalId: "001B" }],
    });
    expect(held[0]?.call).toEqual(call);
    expect(await identity.releasable(ws)).toEqual([]);

    await upload(ws, "source,kind,external_id,canonical_id\nsalesforce,account,001B,globex\n");
    const ready = await identity.releasable(ws);
    expect(ready.map((p) => p.messageId)).toEqual(["sf-wait"]);
    // What the API does on upload: queue them again, in time order, then drop them from pending.
    await deliver(
      ws,
      ready.map((p) => p.call),
      "salesforce",
    );
    await identity.removePending(ready.map((p) => p.key));
    expect(await reader.getAccount(ws, "globex")).toMatchObject({ plan_name: "Enterprise" });
    expect(await identity.allPending(ws)).toEqual([]);
  });

  it("expires pending calls after the retention as id.unmapped rejects, keeping the call", async () => {
    const ws = freshWorkspace();
    const call = {
      type: "identify",
      messageId: "sf-old",
      userId: "003X",
      timestamp: "2024-05-03T00:00:00Z",
      traits: { title: "VP" },
    };
    await deliver(ws, [call], "hubspot");
    expect(await identity.expirePending(ws, "2024-06-10T00:00:00.000Z", 14)).toBe(0);
    expect(await identity.expirePending(ws, "2024-06-20T00:00:00.000Z", 14)).toBe(1);
    expect(await identity.allPending(ws)).toEqual([]);
    const rejects = await reader.listRejects(ws);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ code: "id.unmapped", message_id: "sf-old", value: call });
  });

  it("plans conflicts without writing: in the upload, and against what is stored", async () => {
    const ws = freshWorkspace();
    await upload(ws, "source,kind,external_id,canonical_id\nsalesforce,account,A,acme\n");
    const plan = await upload(
      ws,
      "source,kind,external_id,canonical_id\nsalesforce,account,A,other\nsalesforce,account,B,b1\nsalesforce,account,B,b2\nsalesforce,account,C,c\n",
    );
    expect(plan.conflicts.map((c) => [c.entry.external_id, c.other])).toEqual([
      ["A", "acme"],
      ["B", "b1"],
    ]);
    expect(plan.created.map((e) => e.external_id)).toEqual(["C"]);
    // Nothing was written because of the conflicts.
    const stored = await identity.listMaps(ws, "salesforce", "account", 100);
    expect(stored.items.map((e) => [e.external_id, e.canonical_id])).toEqual([["A", "acme"]]);
  });
});

describe("aliases", () => {
  it("attributes anonymous events sent before identify to the user once the link arrives", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "group",
        messageId: "g",
        userId: "u1",
        groupId: "acc-1",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "One" },
      },
      {
        type: "page",
        messageId: "anon-page",
        anonymousId: "device-9",
        name: "Pricing",
        timestamp: "2024-05-02T00:00:00Z",
      },
      {
        type: "track",
        messageId: "anon-track",
        anonymousId: "device-9",
        event: "Signup Started",
        timestamp: "2024-05-02T00:01:00Z",
      },
    ]);
    expect((await reader.getEvent(ws, "anon-page"))?.user_id).toBeNull();
    await deliver(ws, [
      {
        type: "identify",
        messageId: "idn",
        userId: "u1",
        anonymousId: "device-9",
        timestamp: "2024-05-02T00:02:00Z",
        traits: { first_name: "Ada" },
      },
    ]);
    expect(await reader.getEvent(ws, "anon-page")).toMatchObject({
      user_id: "u1",
      anonymous_id: "device-9",
      account_id: "acc-1",
    });
    expect((await reader.getEvent(ws, "anon-track"))?.user_id).toBe("u1");
    // A later anonymous call is attributed straight away, and alias (previousId → userId) works the same.
    await deliver(ws, [
      { type: "alias", messageId: "al", previousId: "device-10", userId: "u1", timestamp: "2024-05-03T00:00:00Z" },
      {
        type: "track",
        messageId: "anon-later",
        anonymousId: "device-10",
        event: "Clicked",
        timestamp: "2024-05-03T00:01:00Z",
      },
    ]);
    expect((await reader.getEvent(ws, "anon-later"))?.user_id).toBe("u1");
    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-05-03T00:01:00.000Z");
  });
});

describe("deletion", () => {
  it("removes a user's data, leaves a tombstone, and keeps the user deleted when old calls are replayed", async () => {
    const ws = freshWorkspace();
    const history = [
      {
        type: "identify",
        messageId: "d-i",
        userId: "gone",
        anonymousId: "dev-gone",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { email: "gone@example.com", address: { city: "x" } },
      },
      {
        type: "group",
        messageId: "d-g",
        userId: "gone",
        groupId: "acc-d",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "D" },
      },
      { type: "track", messageId: "d-t", userId: "gone", event: "Clicked", timestamp: "2024-05-02T00:00:00Z" },
      {
        type: "track",
        messageId: "other-t",
        userId: "stays",
        event: "Clicked",
        timestamp: "2024-05-01T00:00:00Z",
        context: { groupId: "acc-d" },
      },
    ];
    await deliver(ws, history);
    expect((await reader.listRejects(ws)).length).toBe(1);
    await deliver(ws, [{ type: "delete", messageId: "del-1", userId: "gone", timestamp: "2024-05-05T00:00:00Z" }]);

    expect(await reader.getUser(ws, "gone")).toBeUndefined();
    expect(await reader.getEvent(ws, "d-t")).toBeUndefined();
    expect(await reader.accountUserIds(ws, "acc-d")).toEqual([]);
    expect(await reader.getEvent(ws, "other-t")).toBeDefined();
    expect((await reader.getAccount(ws, "acc-d"))?.last_seen_at).toBe("2024-05-01T00:00:00.000Z");
    expect(await reader.listRejects(ws)).toEqual([]);
    expect(await reader.getDeletion(ws, "gone")).toMatchObject({
      user_id: "gone",
      deleted_at: "2024-06-02T00:00:00.000Z",
    });

    await deliver(ws, history);
    expect(await reader.getUser(ws, "gone")).toBeUndefined();
    expect(await reader.getEvent(ws, "d-t")).toBeUndefined();
    const rejects = await reader.listRejects(ws);
    expect(rejects.map((r) => r.code).sort()).toEqual(["user.deleted", "user.deleted", "user.deleted"]);
    expect(JSON.stringify(rejects)).not.toContain("gone@example.com");
  });
});
