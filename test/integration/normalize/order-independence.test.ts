import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { type NormalizedCall, normalizeCall } from "../../../packages/core/src/normalize/call";
import { resolveEventAccount } from "../../../packages/core/src/normalize/event";
import { materializeAccount, materializeUser } from "../../../packages/core/src/normalize/materialize";
import type { VersionedFields } from "../../../packages/core/src/normalize/merge";
import type { SegmentCall } from "../../../packages/core/src/segment/envelope";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/** A small seeded PRNG (mulberry32): the same seed gives the same calls and orders on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick, int: (n: number) => Math.floor(next() * n) };
}

const USERS = ["u1", "u2", "u3", "u4"];
const ACCOUNTS = ["a1", "a2", "a3"];

function generateCalls(seed: number, count: number): Record<string, unknown>[] {
  const r = prng(seed);
  // Few distinct seconds, so equal timestamps (ties broken by messageId) happen often.
  const time = () => new Date(Date.UTC(2024, 4, 1 + r.int(20), r.int(3), 0, r.int(2))).toISOString();
  const maybe = <T>(value: T) => (r.next() < 0.15 ? null : value);
  const calls: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const messageId = `m-${seed}-${i}`;
    const kind = r.pick(["identify", "group", "track", "track", "page"] as const);
    if (kind === "identify") {
      const traits: Record<string, unknown> = {};
      if (r.next() < 0.6) traits.first_name = maybe(r.pick(["Ada", "Grace", "Alan"]));
      if (r.next() < 0.5) traits.lastName = maybe(r.pick(["Lovelace", "Hopper", "Turing"]));
      if (r.next() < 0.4) traits.email = maybe(`${r.pick(["x", "y"])}@example.com`);
      if (r.next() < 0.3) traits.isActive = r.pick([true, false, "false"]);
      if (r.next() < 0.4) traits.score = maybe(r.int(100));
      if (r.next() < 0.2) traits.company = { id: r.pick(ACCOUNTS) };
      calls.push({ type: "identify", messageId, userId: r.pick(USERS), timestamp: time(), traits });
    } else if (kind === "group") {
      const traits: Record<string, unknown> = {};
      if (r.next() < 0.7) traits.name = maybe(r.pick(["Acme", "Globex", "Initech"]));
      if (r.next() < 0.4) traits.is_trial = r.pick([true, false, "true"]);
      if (r.next() < 0.3) traits.isChurned = r.pick([true, false]);
      if (r.next() < 0.4) traits.mrr = maybe(r.int(1000));
      if (r.next() < 0.3) traits.tags = r.pick([["a"], ["b", "c"], []]);
      const call: Record<string, unknown> = {
        type: "group",
        messageId,
        groupId: r.pick(ACCOUNTS),
        timestamp: time(),
        traits,
      };
      if (r.next() < 0.6) call.userId = r.pick(USERS);
      calls.push(call);
    } else {
      const call: Record<string, unknown> = { type: kind, messageId, userId: r.pick(USERS), timestamp: time() };
      if (kind === "track") call.event = r.pick(["Clicked", "Viewed", "Built"]);
      if (r.next() < 0.3) call.context = { groupId: r.pick(ACCOUNTS) };
      call.properties = { n: r.int(10) };
      calls.push(call);
    }
  }
  return calls;
}

/** The simple oracle: apply the calls one by one in (time, messageId) order, overwriting. */
function oracle(ws: string, calls: Record<string, unknown>[]) {
  const meta = { workspaceId: ws, source: "product", receivedAt: "2024-06-01T00:00:00.000Z" };
  const normalized: NormalizedCall[] = calls.map((c) => normalizeCall(c as SegmentCall, meta));
  normalized.sort((a, b) => (a.time === b.time ? (a.messageId < b.messageId ? -1 : 1) : a.time < b.time ? -1 : 1));
  const profiles = new Map<string, VersionedFields>();
  const since = new Map<string, Map<string, string>>();
  const events = new Map<string, NonNullable<NormalizedCall["event"]>>();
  for (const call of normalized) {
    for (const write of call.profiles) {
      const key = `${write.kind}:${write.id}`;
      const fields = profiles.get(key) ?? {};
      for (const [name, value] of Object.entries(write.fields))
        fields[name] = { v: value, t: call.time, m: call.messageId };
      profiles.set(key, fields);
    }
    for (const m of call.memberships) {
      const ofUser = since.get(m.userId) ?? new Map<string, string>();
      if (!ofUser.has(m.accountId)) ofUser.set(m.accountId, call.time);
      since.set(m.userId, ofUser);
    }
    if (call.event && !events.has(call.event.event_id)) events.set(call.event.event_id, call.event);
  }
  const lastSeen = new Map<string, string>();
  const seen = (key: string, t: string) => {
    if ((lastSeen.get(key) ?? "") < t) lastSeen.set(key, t);
  };
  const resolved = [...events.values()].map((event) => {
    const accounts = [...(since.get(event.user_id ?? "") ?? new Map()).entries()]
      .filter(([, t]) => t <= event.timestamp)
      .map(([a]) => a);
    const e = event.account_from_user ? resolveEventAccount(event, accounts) : event;
    if (e.user_id) seen(`user:${e.user_id}`, e.timestamp);
    if (e.account_id) seen(`account:${e.account_id}`, e.timestamp);
    return { ...e, workspace_id: ws };
  });
  const accounts = ACCOUNTS.filter((id) => profiles.has(`account:${id}`) || lastSeen.has(`account:${id}`)).map(
    (id) => ({
      ...materializeAccount(ws, id, profiles.get(`account:${id}`) ?? {}),
      last_seen_at: lastSeen.get(`account:${id}`) ?? null,
    }),
  );
  const users = USERS.filter((id) => profiles.has(`user:${id}`) || lastSeen.has(`user:${id}`)).map((id) => ({
    ...materializeUser(ws, id, profiles.get(`user:${id}`) ?? {}),
    account_ids: [...(since.get(id)?.keys() ?? [])].sort(),
    last_seen_at: lastSeen.get(`user:${id}`) ?? null,
  }));
  resolved.sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
  return { accounts, users, events: resolved };
}

let config: Config;
let reader: DynamoModelReader;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  reader = new DynamoModelReader(db, config);
  handler = createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
});

async function exportState(ws: string) {
  const accounts = [];
  for (const id of ACCOUNTS) {
    const a = await reader.getAccount(ws, id);
    if (a) accounts.push(a);
  }
  const users = [];
  for (const id of USERS) {
    const u = await reader.getUser(ws, id);
    if (u) users.push(u);
  }
  const db = createDocumentClient(config);
  const events = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: config.eventsTable,
        FilterExpression: "workspace_id = :ws",
        ExpressionAttributeValues: { ":ws": ws },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const { pk: _pk, sk: _sk, apk: _apk, ask: _ask, upk: _upk, usk: _usk, ...event } = item;
      events.push(event);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  events.sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
  return { accounts, users, events };
}

/** Delivers the calls in a shuffled order with duplicates, in SQS batches of random shape. */
async function deliverShuffled(ws: string, calls: Record<string, unknown>[], seed: number) {
  const r = prng(seed);
  const copies = [...calls, ...calls.filter(() => r.next() < 0.2)];
  for (let i = copies.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [copies[i], copies[j]] = [copies[j] as Record<string, unknown>, copies[i] as Record<string, unknown>];
  }
  let index = 0;
  while (index < copies.length) {
    const messages = [];
    for (let m = 1 + r.int(5); m > 0 && index < copies.length; m--) {
      const size = 1 + r.int(20);
      messages.push(rawMessage(ws, copies.slice(index, index + size)));
      index += size;
    }
    const result = await handler(sqsEvent(messages));
    expect(result.batchItemFailures).toEqual([]);
  }
}

describe("order and duplicate independence", () => {
  it.each([11, 23])("any delivery order with duplicates gives the oracle's state (seed %i)", async (seed) => {
    const calls = generateCalls(seed, 300);
    const states = [];
    for (let order = 0; order < 3; order++) {
      const ws = freshWorkspace();
      await deliverShuffled(ws, calls, seed * 100 + order);
      states.push({ ws, state: await exportState(ws) });
    }
    const strip = (state: unknown, ws: string) => JSON.parse(JSON.stringify(state).replaceAll(ws, "WS"));
    const expected = strip(oracle("WS", calls), "WS");
    const uniqueEvents = new Set(
      calls.filter((c) => ["track", "page"].includes(c.type as string)).map((c) => c.messageId),
    ).size;
    for (const { ws, state } of states) {
      expect(state.events).toHaveLength(uniqueEvents);
      expect(strip(state, ws)).toEqual(expected);
    }
  });
});
