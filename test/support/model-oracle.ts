import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../packages/aws/src/clients";
import type { Config } from "../../packages/aws/src/config";
import { DynamoModelReader } from "../../packages/aws/src/dynamo/model-reader";
import { type NormalizedCall, normalizeCall } from "../../packages/core/src/normalize/call";
import { resolveEventAccount } from "../../packages/core/src/normalize/event";
import { materializeAccount, materializeUser } from "../../packages/core/src/normalize/materialize";
import type { VersionedFields } from "../../packages/core/src/normalize/merge";
import { canonicalJson } from "../../packages/core/src/normalize/message-id";
import type { SegmentCall } from "../../packages/core/src/segment/envelope";
import { prng } from "./seeded-random";

/**
 * Generated Segment calls, the simple oracle of what they must store, and the export of what a
 * workspace did store: the property tests (order independence) and the reliability tests (no loss
 * under faults) compare the two.
 */

export interface CallOptions {
  /** User ids the calls draw from. Default u1..u4 (few ids: many calls touch the same profile). */
  users?: readonly string[];
  /** Account ids. Default a1..a3. */
  accounts?: readonly string[];
  /** Prefix of message ids (`<prefix>-<seed>-<i>`). Default `m`. */
  messageIdPrefix?: string;
}

const defaultUsers = ["u1", "u2", "u3", "u4"];
const defaultAccounts = ["a1", "a2", "a3"];

/** `n` ids `<prefix>1`..`<prefix>n`. */
export function ids(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

/**
 * Seeded identify, group, track and page calls over a few users and accounts, with few distinct
 * timestamps (so ties broken by messageId are common), `null` traits (clears), boolean strings,
 * arrays, memberships from group calls and `traits.company.id`, and events whose account comes
 * from `context.groupId` or from the user's memberships.
 *
 * @example
 * const calls = generateCalls(11, 300);
 */
export function generateCalls(seed: number, count: number, options: CallOptions = {}): Record<string, unknown>[] {
  const users = options.users ?? defaultUsers;
  const accounts = options.accounts ?? defaultAccounts;
  const prefix = options.messageIdPrefix ?? "m";
  const r = prng(seed);
  const time = () => new Date(Date.UTC(2024, 4, 1 + r.int(20), r.int(3), 0, r.int(2))).toISOString();
  const maybe = <T>(value: T) => (r.next() < 0.15 ? null : value);
  const calls: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const messageId = `${prefix}-${seed}-${i}`;
    const kind = r.pick(["identify", "group", "track", "track", "page"] as const);
    if (kind === "identify") {
      const traits: Record<string, unknown> = {};
      if (r.next() < 0.6) traits.first_name = maybe(r.pick(["Ada", "Grace", "Alan"]));
      if (r.next() < 0.5) traits.lastName = maybe(r.pick(["Lovelace", "Hopper", "Turing"]));
      if (r.next() < 0.4) traits.email = maybe(`${r.pick(["x", "y"])}@example.com`);
      if (r.next() < 0.3) traits.isActive = r.pick([true, false, "false"]);
      if (r.next() < 0.4) traits.score = maybe(r.int(100));
      if (r.next() < 0.2) traits.company = { id: r.pick(accounts) };
      calls.push({ type: "identify", messageId, userId: r.pick(users), timestamp: time(), traits });
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
        groupId: r.pick(accounts),
        timestamp: time(),
        traits,
      };
      if (r.next() < 0.6) call.userId = r.pick(users);
      calls.push(call);
    } else {
      const call: Record<string, unknown> = { type: kind, messageId, userId: r.pick(users), timestamp: time() };
      if (kind === "track") call.event = r.pick(["Clicked", "Viewed", "Built"]);
      if (r.next() < 0.3) call.context = { groupId: r.pick(accounts) };
      call.properties = { n: r.int(10) };
      calls.push(call);
    }
  }
  return calls;
}

/** (time, messageId) order, the order the oracles apply calls in. */
export const byTime = (a: NormalizedCall, b: NormalizedCall) =>
  a.time === b.time ? (a.messageId < b.messageId ? -1 : 1) : a.time < b.time ? -1 : 1;

/**
 * What the calls must store, computed the simple way: apply them one by one in (time, messageId)
 * order, overwriting fields; a membership dates from its earliest call; each messageId is one event,
 * its account resolved from the memberships at the event's time. Same shape as `exportWorkspace`.
 *
 * @example
 * expect(await exportWorkspace(config, ws)).toEqual(oracle(ws, calls));
 */
export function oracle(ws: string, calls: Record<string, unknown>[]): WorkspaceExport {
  const meta = { workspaceId: ws, source: "product", receivedAt: "2024-06-01T00:00:00.000Z" };
  const normalized: NormalizedCall[] = calls.map((c) => normalizeCall(c as SegmentCall, meta));
  normalized.sort(byTime);
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
    return { ...e, workspace_id: ws } as Record<string, unknown>;
  });
  return expectedExport(ws, profiles, since, lastSeen, resolved);
}

/**
 * The export an oracle's state makes: accounts and users (with `last_seen_at` and `account_ids`),
 * memberships and the resolved events, each sorted as `exportWorkspace` sorts them. Shared by
 * `oracle` and `adversarialOracle` (adversarial-calls.ts).
 */
export function expectedExport(
  ws: string,
  profiles: Map<string, VersionedFields>,
  since: Map<string, Map<string, string>>,
  lastSeen: Map<string, string>,
  resolved: Record<string, unknown>[],
): WorkspaceExport {
  // An account named only by a membership exists too, with no fields yet (issue 16).
  const memberAccounts = [...since.values()].flatMap((of) => [...of.keys()].map((id) => `account:${id}`));
  const idsOf = (kind: string) =>
    [...new Set([...profiles.keys(), ...lastSeen.keys(), ...memberAccounts].filter((k) => k.startsWith(`${kind}:`)))]
      .map((k) => k.slice(kind.length + 1))
      .sort();
  const accounts = idsOf("account").map((id) => ({
    ...materializeAccount(ws, id, profiles.get(`account:${id}`) ?? {}),
    last_seen_at: lastSeen.get(`account:${id}`) ?? null,
  }));
  const users = idsOf("user").map((id) => ({
    ...materializeUser(ws, id, profiles.get(`user:${id}`) ?? {}),
    account_ids: [...(since.get(id)?.keys() ?? [])].sort(),
    last_seen_at: lastSeen.get(`user:${id}`) ?? null,
  }));
  const memberships = [...since.entries()]
    .flatMap(([userId, of]) =>
      [...of.entries()].map(([accountId, t]) => ({ account_id: accountId, user_id: userId, since: t })),
    )
    .sort(byMembership);
  resolved.sort(byEventId);
  return { accounts, users, memberships, events: resolved };
}

export interface WorkspaceExport {
  accounts: Record<string, unknown>[];
  users: Record<string, unknown>[];
  memberships: { account_id: string; user_id: string; since: string }[];
  events: Record<string, unknown>[];
}

const byEventId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  (a.event_id as string) < (b.event_id as string) ? -1 : 1;
const byMembership = (a: { account_id: string; user_id: string }, b: { account_id: string; user_id: string }) =>
  a.account_id === b.account_id ? (a.user_id < b.user_id ? -1 : 1) : a.account_id < b.account_id ? -1 : 1;

async function scanAll(config: Config, table: string, pkPrefix: string): Promise<Record<string, unknown>[]> {
  const db = createDocumentClient(config);
  const items: Record<string, unknown>[] = [];
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: "begins_with(pk, :p)",
          ExpressionAttributeValues: { ":p": pkPrefix },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    db.destroy();
  }
  return items;
}

/**
 * Every item of a workspace's data (not its workspace, source and credential records) in the
 * Entities and Events tables: what must stay empty when nothing may be stored.
 */
export async function workspaceItems(config: Config, ws: string): Promise<{ entities: number; events: number }> {
  const [entities, events] = await Promise.all([
    scanAll(config, config.entitiesTable, `WS#${ws}#`),
    scanAll(config, config.eventsTable, `WS#${ws}#`),
  ]);
  return { entities: entities.length, events: events.length };
}

/**
 * Everything a workspace stored, as the read API shows it: every account and user profile
 * (materialized, with `last_seen_at`; users with their account ids), every membership with its
 * `since`, and every event without its table keys. Sorted by id.
 *
 * @example
 * const state = await exportWorkspace(config, ws);
 */
export async function exportWorkspace(
  config: Config,
  ws: string,
  options: { omitEventFields?: readonly string[] } = {},
): Promise<WorkspaceExport> {
  const [entities, eventItems] = await Promise.all([
    scanAll(config, config.entitiesTable, `WS#${ws}#`),
    scanAll(config, config.eventsTable, `WS#${ws}#`),
  ]);
  const db = createDocumentClient(config);
  try {
    const reader = new DynamoModelReader(db, config);
    const profileIds = (kind: string) =>
      entities
        .filter((i) => i.sk === "PROFILE" && i.kind === kind)
        .map((i) => i.id as string)
        .sort();
    const accounts: Record<string, unknown>[] = [];
    for (const id of profileIds("account")) {
      const account = await reader.getAccount(ws, id);
      if (account) accounts.push(account as unknown as Record<string, unknown>);
    }
    const users: Record<string, unknown>[] = [];
    for (const id of profileIds("user")) {
      const user = await reader.getUser(ws, id);
      if (user) users.push(user as unknown as Record<string, unknown>);
    }
    const memberships = entities
      .filter((i) => typeof i.sk === "string" && i.sk.startsWith("MEMBER#"))
      .map((i) => ({ account_id: i.account_id as string, user_id: i.user_id as string, since: i.since as string }))
      .sort(byMembership);
    const omitted = new Set(["pk", "sk", "apk", "ask", "upk", "usk", ...(options.omitEventFields ?? [])]);
    const events = eventItems
      .map((item) => Object.fromEntries(Object.entries(item).filter(([name]) => !omitted.has(name))))
      .sort(byEventId);
    return { accounts, users, memberships, events };
  } finally {
    db.destroy();
  }
}

/**
 * The canonical JSON of a workspace's state (keys sorted) with its workspace id replaced by `WS`,
 * so the states of two workspaces that received the same calls compare byte for byte.
 */
export function canonicalExport(state: WorkspaceExport, ws: string): string {
  return canonicalJson(state).replaceAll(ws, "WS");
}

/** How two exports differ, by entity id: what is missing, unexpected, or different. */
export interface ExportDiff {
  missing: string[];
  unexpected: string[];
  different: string[];
}

/**
 * Compares a stored export with the expected one entity by entity (`account:a1`, `user:u1`,
 * `membership:a1/u1`, `event:m-1`), so a failure names what was lost, duplicated or wrong instead
 * of printing two megabytes of JSON.
 */
export function diffExports(actual: WorkspaceExport, expected: WorkspaceExport): ExportDiff {
  const entries = (state: WorkspaceExport) =>
    new Map<string, string>([
      ...state.accounts.map((a) => [`account:${a.account_id}`, canonicalJson(a)] as const),
      ...state.users.map((u) => [`user:${u.user_id}`, canonicalJson(u)] as const),
      ...state.memberships.map((m) => [`membership:${m.account_id}/${m.user_id}`, canonicalJson(m)] as const),
      ...state.events.map((e) => [`event:${e.event_id}`, canonicalJson(e)] as const),
    ]);
  const got = entries(actual);
  const want = entries(expected);
  const diff: ExportDiff = { missing: [], unexpected: [], different: [] };
  for (const [key, value] of want) {
    if (!got.has(key)) diff.missing.push(key);
    else if (got.get(key) !== value) diff.different.push(key);
  }
  for (const key of got.keys()) if (!want.has(key)) diff.unexpected.push(key);
  return diff;
}
