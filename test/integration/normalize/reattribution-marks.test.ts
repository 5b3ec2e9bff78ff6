import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import type { StoredEvent } from "../../../packages/core/src/pipeline/model-store";
import { countingClient } from "../../support/counting-client";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * Membership re-attribution finds a user's events whose account came from its memberships through
 * the months marked on the user's profile: a user with none costs no per-user request, and the
 * marks are recorded before every such event is stored or moved, so no order or interleaving of
 * normalizers loses one (spec 3.1, 3.3).
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
const track = (messageId: string, userId: string, timestamp: string, account?: string) => ({
  type: "track",
  messageId,
  userId,
  event: "Report Built",
  timestamp,
  ...(account === undefined ? {} : { properties: { account_id: account } }),
});
const identify = (messageId: string, userId: string) => ({
  type: "identify",
  messageId,
  userId,
  timestamp: "2024-05-01T00:00:00.000Z",
  traits: { email: `${userId}@example.com` },
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
const plainStore = () => new DynamoModelStore(db, config);

describe("membership re-attribution, found through the months marked on the user", () => {
  it("costs no per-user Query or GetItem for 20 new memberships of users whose events all carry an account", async () => {
    const ws = freshWorkspace();
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    await deliver(plainStore(), ws, [
      ...users.map((u) => identify(`i-${u}`, u)),
      ...users.flatMap((u) => [
        track(`a-${u}`, u, "2024-05-03T00:00:00.000Z", "acc-ctx"),
        track(`b-${u}`, u, "2024-05-04T00:00:00.000Z", "acc-ctx"),
      ]),
    ]);
    const { db: counted, sent } = countingClient(config);
    await deliver(
      new DynamoModelStore(counted, config),
      ws,
      users.map((u, i) => group(`g-${u}`, u, `acc-${i % 4}`)),
    );
    // Before the marks: a Query of memberships, a GetItem of months and a Query per month, for each user.
    expect(sent.filter((s) => s === "Query" || s === "GetItem")).toEqual([]);
    // The batch's reads: tombstones, stored memberships, profiles, the users' months (one for all),
    // the deletion re-check, and the membership stage's account check (one per membership today).
    expect(sent.filter((s) => s === "BatchGetItem").length).toBeLessThanOrEqual(5 + 20);
    counted.destroy();
    expect((await reader.getEvent(ws, "a-u0"))?.account_id).toBe("acc-ctx");
  });

  for (const order of ["event first", "membership first"] as const) {
    it(`gives an event with no account context the user's account, ${order}`, async () => {
      const ws = freshWorkspace();
      const calls = [[track("m1", "u1", "2024-05-03T00:00:00.000Z")], [group("g1", "u1", "acc-1")]];
      for (const batch of order === "event first" ? calls : calls.reverse()) await deliver(plainStore(), ws, batch);
      expect(await reader.getEvent(ws, "m1")).toMatchObject({
        account_id: "acc-1",
        account_resolution: "user_single_account",
      });
      expect((await reader.getAccount(ws, "acc-1"))?.last_seen_at).toBe("2024-05-03T00:00:00.000Z");
    });
  }

  it("re-attributes an anonymous event an alias moved onto the user, when the membership arrives later", async () => {
    const ws = freshWorkspace();
    await deliver(plainStore(), ws, [
      { type: "track", messageId: "e1", anonymousId: "anon-1", event: "Viewed", timestamp: "2024-05-03T00:00:00Z" },
    ]);
    await deliver(plainStore(), ws, [
      { type: "alias", messageId: "al", previousId: "anon-1", userId: "u1", timestamp: "2024-05-04T00:00:00Z" },
    ]);
    expect(await reader.getEvent(ws, "e1")).toMatchObject({ user_id: "u1", account_id: null });
    await deliver(plainStore(), ws, [group("g1", "u1", "acc-1")]);
    expect((await reader.getEvent(ws, "e1"))?.account_id).toBe("acc-1");
  });

  it("still re-attributes the events of a user item written before the marks (no marker: every month searched)", async () => {
    const ws = freshWorkspace();
    await deliver(plainStore(), ws, [
      identify("i1", "u1"),
      track("m1", "u1", "2024-05-03T00:00:00.000Z"),
      track("m2", "u1", "2024-06-03T00:00:00.000Z"),
    ]);
    // What the item looked like before: its months, nothing about where its events' accounts came from.
    await db.send(
      new UpdateCommand({
        TableName: config.entitiesTable,
        Key: keys.user(ws, "u1"),
        UpdateExpression: "REMOVE from_user_months, from_user_complete",
      }),
    );
    await deliver(plainStore(), ws, [group("g1", "u1", "acc-1")]);
    for (const id of ["m1", "m2"]) expect((await reader.getEvent(ws, id))?.account_id).toBe("acc-1");
  });
});

/** A store that runs `between` once, before its `nth` call of `method` or after it (the race window). */
function racedStore(
  method: "userMemberships" | "insertEvents",
  window: { nth: number; when: "before" | "after" },
  between: () => Promise<void>,
) {
  const store = plainStore();
  const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
  let calls = 0;
  let raced = false;
  const race = async (when: "before" | "after") => {
    if (raced || calls !== window.nth || when !== window.when) return;
    raced = true;
    await between();
  };
  (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    calls++;
    await race("before");
    const result = await original(...args);
    await race("after");
    return result;
  };
  return { store, raced: () => raced };
}

describe("an event normalizer and a membership normalizer interleaved", () => {
  // Y stores u1's event (no account context): reads u1's memberships, marks the month, inserts
  // the event, reads the memberships again. X stores the membership and then reads the marks.
  // Whichever of Y's re-read and X's marks read comes second sees the other's write.
  const cases = [
    // X runs whole after Y read the memberships: X finds no mark, Y's re-read finds the membership.
    {
      window: "between the event's membership read and its mark",
      method: "userMemberships",
      at: { nth: 1, when: "after" },
    },
    // X runs whole after Y marked the month, before the event is in: X searches the month, finds
    // nothing yet; Y's re-read finds the membership.
    { window: "between the mark and the event insert", method: "insertEvents", at: { nth: 1, when: "before" } },
    // X runs whole after Y's re-read found no membership: X must find Y's mark, and the event.
    {
      window: "after the event's re-read of the memberships",
      method: "userMemberships",
      at: { nth: 2, when: "after" },
    },
  ] as const;
  for (const { window, method, at } of cases) {
    it(`leaves the event on the user's account when the membership lands ${window}`, async () => {
      const ws = freshWorkspace();
      await deliver(plainStore(), ws, [identify("i1", "u1")]);
      const { store, raced } = racedStore(method, at, () => deliver(plainStore(), ws, [group("g1", "u1", "acc-1")]));
      await deliver(store, ws, [track("m1", "u1", "2024-05-03T00:00:00.000Z")]);
      expect(raced()).toBe(true);
      const event = (await reader.getEvent(ws, "m1")) as StoredEvent;
      expect(event).toMatchObject({ account_id: "acc-1", account_resolution: "user_single_account" });
      expect((await reader.getAccount(ws, "acc-1"))?.last_seen_at).toBe("2024-05-03T00:00:00.000Z");
    });
  }
});
