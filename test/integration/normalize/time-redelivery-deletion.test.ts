import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { runConcurrentNormalizers } from "../../support/concurrent-normalizers";
import { provisionTestResources } from "../../support/local-resources";
import { canonicalExport, exportWorkspace, workspaceItems } from "../../support/model-oracle";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";
import { prng, shuffle } from "../../support/seeded-random";

/**
 * Spec 3.1 (time rules), 3.2 (one messageId, one state) and 3.5a (deletion), each finding of issue
 * 17 reproduced: every order of a few calls through the real handler and DynamoDB Local (or, for
 * deletion, eight normalizers side by side on the real SQS server) must give the same, right state.
 */

let config: Config;
let db: ReturnType<typeof createDocumentClient>;
let reader: DynamoModelReader;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  db = createDocumentClient(config);
  reader = new DynamoModelReader(db, config);
  handler = createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
});
afterAll(() => db?.destroy());

/** A call with the time ingest received it. */
interface Delivery {
  call: Record<string, unknown>;
  receivedAt: string;
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** Delivers each call in its own SQS batch, in order; every batch must succeed. */
async function deliver(ws: string, deliveries: Delivery[]): Promise<void> {
  for (const { call, receivedAt } of deliveries) {
    const result = await handler(sqsEvent([rawMessage(ws, [call], "product", receivedAt)]));
    expect(result.batchItemFailures).toEqual([]);
  }
}

const rejectsOf = async (ws: string) =>
  (await reader.listRejects(ws)).map((r) => ({ message_id: r.message_id, code: r.code, value: r.value }));

describe("finding 1: a far-future or ancient timestamp", () => {
  const calls: Delivery[] = [
    {
      call: {
        type: "identify",
        messageId: "i-old",
        userId: "u1",
        timestamp: "2024-05-01T00:00:00.000Z",
        traits: { title: "first" },
      },
      receivedAt: "2024-05-01T00:00:01.000Z",
    },
    {
      call: {
        type: "identify",
        messageId: "i-evil",
        userId: "u1",
        timestamp: "9999-12-31T23:59:59.999Z",
        traits: { title: "evil" },
      },
      receivedAt: "2024-05-02T00:00:00.000Z",
    },
    {
      call: {
        type: "identify",
        messageId: "i-new",
        userId: "u1",
        timestamp: "2024-05-03T00:00:00.000Z",
        traits: { title: "second" },
      },
      receivedAt: "2024-05-03T00:00:01.000Z",
    },
    {
      call: {
        type: "track",
        messageId: "t-evil",
        userId: "u1",
        event: "Clicked",
        timestamp: "9999-12-31T23:59:59.999Z",
        context: { groupId: "a1" },
      },
      receivedAt: "2024-05-02T00:00:00.000Z",
    },
  ];
  const orders = permutations(calls);

  it(`is ordered by the receive time and recorded as time.future, in all ${orders.length} orders`, async () => {
    const exports = new Set<string>();
    for (const order of orders) {
      const ws = freshWorkspace();
      await deliver(ws, order);
      const user = await reader.getUser(ws, "u1");
      const account = await reader.getAccount(ws, "a1");
      expect(user?.title).toBe("second");
      expect(user?.last_seen_at).toBe("2024-05-02T00:00:00.000Z");
      expect(account?.last_seen_at).toBe("2024-05-02T00:00:00.000Z");
      expect((await reader.getEvent(ws, "t-evil"))?.timestamp).toBe("2024-05-02T00:00:00.000Z");
      const rejects = (await rejectsOf(ws)).filter((r) => r.code === "time.future");
      expect(rejects.map((r) => r.message_id).sort()).toEqual(["i-evil", "t-evil"]);
      expect(rejects[0]?.value).toBe("9999-12-31T23:59:59.999Z");
      exports.add(canonicalExport(await exportWorkspace(config, ws), ws));
    }
    expect(exports.size).toBe(1);
  });

  it("a time before 2000 still orders, but is recorded as time.too_old, and so is an ancient created_at", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        call: {
          type: "identify",
          messageId: "i-new",
          userId: "u1",
          timestamp: "2024-05-03T00:00:00.000Z",
          traits: { title: "real" },
        },
        receivedAt: "2024-05-03T00:00:01.000Z",
      },
      {
        call: {
          type: "identify",
          messageId: "i-1970",
          userId: "u1",
          timestamp: "1970-01-01T00:00:00.000Z",
          traits: { title: "epoch", created_at: "1901-01-01T00:00:00Z" },
        },
        receivedAt: "2024-05-04T00:00:00.000Z",
      },
    ]);
    const user = await reader.getUser(ws, "u1");
    expect(user?.title).toBe("real");
    expect(user?.created_at).toBe("1901-01-01T00:00:00.000Z");
    const rejects = (await rejectsOf(ws)).filter((r) => r.code === "time.too_old");
    expect(rejects.map((r) => [r.message_id, r.value])).toEqual(
      expect.arrayContaining([
        ["i-1970", "1970-01-01T00:00:00.000Z"],
        ["i-1970", "1901-01-01T00:00:00Z"],
      ]),
    );
  });
});

describe("finding 2: a redelivered call never changes state again", () => {
  it.each([
    {
      kind: "identify",
      first: { type: "identify", messageId: "c-1", userId: "u1", traits: { title: "old" } },
      newer: {
        type: "identify",
        messageId: "c-2",
        userId: "u1",
        timestamp: "2024-05-02T00:00:00.000Z",
        traits: { title: "new" },
      },
      read: async (ws: string) => (await reader.getUser(ws, "u1"))?.title,
      want: "new",
    },
    {
      kind: "group",
      first: { type: "group", messageId: "c-1", groupId: "a1", traits: { plan: "old" } },
      newer: {
        type: "group",
        messageId: "c-2",
        groupId: "a1",
        timestamp: "2024-05-02T00:00:00.000Z",
        traits: { plan: "new" },
      },
      read: async (ws: string) => (await reader.getAccount(ws, "a1"))?.plan_name,
      want: "new",
    },
    {
      kind: "alias",
      first: { type: "alias", messageId: "c-1", previousId: "anon-1", userId: "u-old" },
      newer: {
        type: "alias",
        messageId: "c-2",
        previousId: "anon-1",
        userId: "u-new",
        timestamp: "2024-05-02T00:00:00.000Z",
      },
      // The alias decides whose event an anonymous page is.
      read: async (ws: string) => {
        await deliver(ws, [
          {
            call: { type: "page", messageId: "p-1", anonymousId: "anon-1", timestamp: "2024-05-02T01:00:00.000Z" },
            receivedAt: "2024-05-04T00:00:00.000Z",
          },
        ]);
        return (await reader.getEvent(ws, "p-1"))?.user_id;
      },
      want: "u-new",
    },
  ])("$kind without a timestamp, delivered again after a newer call, keeps the newer data", async (c) => {
    const ws = freshWorkspace();
    await deliver(ws, [
      { call: c.first, receivedAt: "2024-05-01T00:00:00.000Z" },
      { call: c.newer, receivedAt: "2024-05-02T00:00:01.000Z" },
      // The same call again (same messageId, same body), received by ingest a day later.
      { call: c.first, receivedAt: "2024-05-03T00:00:00.000Z" },
    ]);
    expect(await c.read(ws)).toBe(c.want);
  });

  it("a call stamped 30 h ahead, retried by its source 12 h later, still orders by its first receipt", async () => {
    const ws = freshWorkspace();
    const fast = {
      type: "identify",
      messageId: "f-1",
      userId: "u1",
      timestamp: "2024-05-02T06:00:00.000Z",
      traits: { title: "fast clock" },
    };
    await deliver(ws, [
      // 30 h after its receipt: ordered by the receipt, 2024-05-01T00:00.
      { call: fast, receivedAt: "2024-05-01T00:00:00.000Z" },
      {
        call: {
          type: "identify",
          messageId: "f-2",
          userId: "u1",
          timestamp: "2024-05-01T12:00:00.000Z",
          traits: { title: "new" },
        },
        receivedAt: "2024-05-01T12:00:01.000Z",
      },
      // The retry's own receipt would put the stamp within the 24 h tolerance, and let it win.
      { call: fast, receivedAt: "2024-05-01T12:00:00.000Z" },
    ]);
    expect((await reader.getUser(ws, "u1"))?.title).toBe("new");
  });

  it("a zoneless timestamp is read as UTC and recorded as time.no_zone", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        call: {
          type: "identify",
          messageId: "z-2",
          userId: "u1",
          timestamp: "2024-05-01T13:00:00Z",
          traits: { title: "later" },
        },
        receivedAt: "2024-05-01T13:00:01.000Z",
      },
      {
        call: {
          type: "identify",
          messageId: "z-1",
          userId: "u1",
          timestamp: "2024-05-01T12:00:00",
          traits: { title: "zoneless" },
        },
        receivedAt: "2024-05-05T00:00:00.000Z",
      },
    ]);
    expect((await reader.getUser(ws, "u1"))?.title).toBe("later");
    const rejects = (await rejectsOf(ws)).filter((r) => r.message_id === "z-1");
    expect(rejects).toEqual([{ message_id: "z-1", code: "time.no_zone", value: "2024-05-01T12:00:00" }]);
  });
});

describe("finding 3: deletion with normalizers side by side", () => {
  it("8 normalizers, 300 tracks of 10 users and a delete of each halfway: nothing of them is stored or served", async () => {
    const ws = freshWorkspace();
    const r = prng(1703);
    const users = Array.from({ length: 10 }, (_, i) => `du${i + 1}`);
    const track = (i: number) => ({
      type: "track",
      messageId: `t-${i}`,
      userId: users[i % users.length],
      event: "Clicked",
      timestamp: new Date(Date.UTC(2024, 4, 1, 0, i)).toISOString(),
      ...(i % 3 === 0 ? { context: { groupId: `a${i % 4}` } } : {}),
    });
    const identifies = users.map((u, i) => ({
      type: "identify",
      messageId: `i-${u}`,
      userId: u,
      timestamp: "2024-05-01T00:00:00.000Z",
      traits: { first_name: "X", company: { id: `a${i % 4}` } },
    }));
    const deletes = users.map((u) => ({
      type: "delete",
      messageId: `d-${u}`,
      userId: u,
      timestamp: "2024-05-02T00:00:00.000Z",
    }));
    const tracks = Array.from({ length: 300 }, (_, i) => track(i));
    // Tracks in messages of 10, each delete alone, the deletes spread through the middle of the stream.
    const chunks: Record<string, unknown>[][] = [identifies];
    for (let i = 0; i < tracks.length; i += 10) chunks.push(tracks.slice(i, i + 10));
    const messages = chunks.map((c) => rawMessage(ws, c));
    for (const [i, d] of shuffle(deletes, r).entries()) messages.splice(10 + i * 2, 0, rawMessage(ws, [d]));
    const run = await runConcurrentNormalizers(config, handler, messages, { normalizers: 8, maxMessages: 3 });
    expect(run.deleted).toBe(messages.length);

    const { events } = await exportWorkspace(config, ws);
    expect(events.map((e) => e.event_id)).toEqual([]);
    for (const u of users) {
      expect(await reader.getUser(ws, u), u).toBeUndefined();
      expect(await reader.userAccountIds(ws, u), u).toEqual([]);
      expect(await reader.getDeletion(ws, u), u).toBeDefined();
    }
    for (const a of ["a0", "a1", "a2", "a3"]) {
      expect((await reader.getAccount(ws, a))?.last_seen_at ?? null, a).toBeNull();
      expect(await reader.accountUserIds(ws, a), a).toEqual([]);
    }
  }, 180_000);

  it("a profile written after the deletion is never served (reads check the tombstone)", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        call: {
          type: "identify",
          messageId: "i-1",
          userId: "u1",
          timestamp: "2024-05-01T00:00:00.000Z",
          traits: { title: "x" },
        },
        receivedAt: "2024-05-01T00:00:01.000Z",
      },
      { call: { type: "delete", messageId: "d-1", userId: "u1" }, receivedAt: "2024-05-02T00:00:00.000Z" },
    ]);
    // A normalizer that passed its tombstone check before the deletion writes the profile late.
    const store = new DynamoModelStore(db, config);
    await store.saveProfile(
      { workspaceId: ws, kind: "user", id: "u1" },
      { title: { v: "x", t: "2024-05-01T00:00:00.000Z", m: "i-1" } },
      0,
    );
    expect(await reader.getUser(ws, "u1")).toBeUndefined();
    expect((await reader.getUsers(ws, ["u1"])).size).toBe(0);
  });
});

describe("finding 4: a deleted user's anonymous events", () => {
  const calls: Delivery[] = [
    {
      call: {
        type: "identify",
        messageId: "i-1",
        userId: "u1",
        anonymousId: "anon-1",
        timestamp: "2024-05-01T00:00:00.000Z",
        traits: { title: "x" },
      },
      receivedAt: "2024-05-01T00:00:01.000Z",
    },
    {
      call: {
        type: "page",
        messageId: "p-1",
        anonymousId: "anon-1",
        name: "Home",
        timestamp: "2024-05-01T00:01:00.000Z",
      },
      receivedAt: "2024-05-01T00:01:01.000Z",
    },
    { call: { type: "delete", messageId: "d-1", userId: "u1" }, receivedAt: "2024-05-02T00:00:00.000Z" },
  ];
  it.each(permutations(calls).map((order) => [order.map((d) => d.call.messageId).join(" "), order] as const))(
    "order %s leaves nothing of the user or the anonymous id",
    async (_, order) => {
      const ws = freshWorkspace();
      await deliver(ws, [...order]);
      const state = await exportWorkspace(config, ws);
      expect(state.events).toEqual([]);
      expect(state.users).toEqual([]);
      // Only the tombstones and the rejects (ids only) remain.
      const left = await workspaceItems(config, ws);
      expect(left.events).toBe(0);
    },
  );
});

describe("finding 4, continued: an anonymous id linked to the deleted user by a link that lost", () => {
  it("is deleted too, with the events a newer link gave another user", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        call: {
          type: "alias",
          messageId: "al-v",
          previousId: "anon-1",
          userId: "v",
          timestamp: "2024-05-03T00:00:00.000Z",
        },
        receivedAt: "2024-05-03T00:00:01.000Z",
      },
      // Older than the link to v, so it never becomes the link; but anon-1 was u's too.
      {
        call: {
          type: "alias",
          messageId: "al-u",
          previousId: "anon-1",
          userId: "u",
          timestamp: "2024-05-01T00:00:00.000Z",
        },
        receivedAt: "2024-05-01T00:00:01.000Z",
      },
      {
        call: { type: "page", messageId: "p-1", anonymousId: "anon-1", timestamp: "2024-05-04T00:00:00.000Z" },
        receivedAt: "2024-05-04T00:00:01.000Z",
      },
      { call: { type: "delete", messageId: "d-u", userId: "u" }, receivedAt: "2024-05-05T00:00:00.000Z" },
    ]);
    const state = await exportWorkspace(config, ws);
    expect(state.events).toEqual([]);
    // v keeps nothing it had only through anon-1.
    expect(state.users).toEqual([]);
  });
});

describe("finding 5: last_seen_at after an alias is re-pointed", () => {
  const calls: Delivery[] = [
    {
      call: { type: "alias", messageId: "al-2", previousId: "a", userId: "b", timestamp: "2024-05-02T00:00:00.000Z" },
      receivedAt: "2024-05-02T00:00:01.000Z",
    },
    {
      call: { type: "alias", messageId: "al-1", previousId: "a", userId: "c", timestamp: "2024-05-01T00:00:00.000Z" },
      receivedAt: "2024-05-01T00:00:01.000Z",
    },
    {
      call: {
        type: "track",
        messageId: "t-3",
        anonymousId: "a",
        event: "Clicked",
        timestamp: "2024-05-03T00:00:00.000Z",
      },
      receivedAt: "2024-05-03T00:00:01.000Z",
    },
  ];
  const orders = permutations(calls);
  it(`every one of the ${orders.length} orders leaves the event and last_seen_at with b only`, async () => {
    const exports = new Set<string>();
    for (const order of orders) {
      const ws = freshWorkspace();
      await deliver(ws, order);
      const state = await exportWorkspace(config, ws);
      const label = order.map((d) => d.call.messageId).join(" ");
      expect(
        state.events.map((e) => e.user_id),
        label,
      ).toEqual(["b"]);
      expect(
        state.users.map((u) => [u.user_id, u.last_seen_at]),
        label,
      ).toEqual([["b", "2024-05-03T00:00:00.000Z"]]);
      exports.add(canonicalExport(state, ws));
    }
    expect(exports.size).toBe(1);
  });
});

describe("finding 6: two different calls with one messageId", () => {
  const a: Delivery = {
    call: { type: "track", messageId: "dup-1", userId: "u1", event: "Alpha", timestamp: "2024-05-01T00:00:00.000Z" },
    receivedAt: "2024-05-01T00:00:01.000Z",
  };
  const b: Delivery = {
    call: { type: "track", messageId: "dup-1", userId: "u1", event: "Beta", timestamp: "2024-05-02T00:00:00.000Z" },
    receivedAt: "2024-05-02T00:00:01.000Z",
  };
  it("store the same winner in either order and record the loser as message_id.conflict", async () => {
    const exports = new Set<string>();
    const losers = new Set<string>();
    for (const order of [
      [a, b],
      [b, a],
      [a, b, a],
      [b, a, b],
    ]) {
      const ws = freshWorkspace();
      await deliver(ws, order);
      const state = await exportWorkspace(config, ws);
      expect(state.events).toHaveLength(1);
      // The later ordering time wins.
      expect(state.events[0]?.event_name).toBe("Beta");
      const conflicts = (await rejectsOf(ws)).filter((r) => r.code === "message_id.conflict");
      expect(conflicts).toHaveLength(1);
      losers.add(JSON.stringify(conflicts[0]?.value));
      exports.add(canonicalExport(state, ws));
    }
    expect(exports.size).toBe(1);
    expect(losers.size).toBe(1);
  });
});
