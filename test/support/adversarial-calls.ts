import { type NormalizedCall, normalizeCall } from "../../packages/core/src/normalize/call";
import { resolveEventAccount } from "../../packages/core/src/normalize/event";
import type { VersionedFields } from "../../packages/core/src/normalize/merge";
import type { SegmentCall } from "../../packages/core/src/segment/envelope";
import { byTime, expectedExport, type WorkspaceExport } from "./model-oracle";
import { prng, type Random, shuffle } from "./seeded-random";

/**
 * The adversarial side of the order-independence property (issue 17): generated calls with
 * deletes, aliases (chains and re-points), nulls, missing, zoneless and far-future timestamps and
 * messageIds reused by different calls, each with the time ingest first received it; deliveries of
 * them in random orders with random redeliveries; and the oracle that applies the rules of
 * docs/data-model.md ("Time rules", "Deletion") in time order.
 */

/** A call and the time ingest first received it. */
export interface ReceivedCall {
  call: Record<string, unknown>;
  receivedAt: string;
}

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Seeded calls over users u1..u6 (u6 is deleted), accounts a1..a3 and anonymous ids n1..n8.
 * Every call has its own first receipt.
 *
 * @example
 * const calls = generateAdversarialCalls(17, 160);
 */
export function generateAdversarialCalls(seed: number, count: number): ReceivedCall[] {
  const r = prng(seed);
  const users = ["u1", "u2", "u3", "u4", "u5", "u6"];
  const accounts = ["a1", "a2", "a3"];
  const anonymous = ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"];
  const out: ReceivedCall[] = [];
  // Receipts over ten days of May 2024, on a coarse grid so equal times (ties) happen.
  const receipt = () => Date.UTC(2024, 4, 1 + r.int(10), r.int(4)) + r.int(3) * 1000;
  /** A timestamp of one of the adversarial kinds, for a call first received at `received`. */
  const stamp = (received: number): Record<string, unknown> => {
    const kind = r.pick(["normal", "normal", "normal", "missing", "zoneless", "far_future", "near_future"] as const);
    const sent = received - (1 + r.int(3)) * HOUR;
    switch (kind) {
      case "normal":
        return { timestamp: iso(sent) };
      case "missing":
        return {};
      case "zoneless":
        return { timestamp: iso(sent).slice(0, 19) };
      case "far_future":
        return { timestamp: "9999-12-31T23:59:59.999Z" };
      case "near_future":
        // 30 h ahead of its receipt: past the 24 h tolerance, but not absurd.
        return { timestamp: iso(received + 30 * HOUR) };
    }
  };
  const maybe = <T>(value: T) => (r.next() < 0.2 ? null : value);
  for (let i = 0; i < count; i++) {
    const messageId = `m-${seed}-${i}`;
    const received = receipt();
    const kind = r.pick(["identify", "identify", "group", "track", "track", "page", "alias"] as const);
    let call: Record<string, unknown>;
    if (kind === "identify") {
      const traits: Record<string, unknown> = {};
      if (r.chance(0.6)) traits.first_name = maybe(r.pick(["Ada", "Grace", "Alan"]));
      if (r.chance(0.5)) traits.title = maybe(r.pick(["CTO", "CEO", "Eng"]));
      if (r.chance(0.3)) traits.score = maybe(r.int(100));
      if (r.chance(0.2)) traits.company = { id: r.pick(accounts) };
      call = { type: "identify", messageId, userId: r.pick(users), traits };
      if (r.chance(0.25)) call.anonymousId = r.pick(anonymous);
    } else if (kind === "group") {
      const traits: Record<string, unknown> = {};
      if (r.chance(0.7)) traits.name = maybe(r.pick(["Acme", "Globex", "Initech"]));
      if (r.chance(0.4)) traits.plan = maybe(r.pick(["free", "pro"]));
      call = { type: "group", messageId, groupId: r.pick(accounts), traits };
      if (r.chance(0.6)) call.userId = r.pick(users);
    } else if (kind === "alias") {
      // Anonymous ids re-pointed between users, and chains through user ids (u1 → u2 → u3).
      const from = r.chance(0.75) ? r.pick(anonymous) : r.pick(users);
      const to = r.pick(users.filter((u) => u !== from));
      call = { type: "alias", messageId, previousId: from, userId: to };
    } else {
      call = { type: kind, messageId, properties: { n: r.int(10) } };
      if (kind === "track") call.event = r.pick(["Clicked", "Viewed"]);
      if (kind === "page") call.name = r.pick(["Home", "Pricing"]);
      if (r.chance(0.35)) call.anonymousId = r.pick(anonymous);
      if (!call.anonymousId || r.chance(0.5)) call.userId = r.pick(users);
      if (r.chance(0.3)) call.context = { groupId: r.pick(accounts) };
    }
    Object.assign(call, stamp(received));
    out.push({ call, receivedAt: iso(received) });
    // Another call with the same messageId: same user, other content (spec 3.2's conflict).
    if ((kind === "track" || kind === "page") && r.chance(0.15)) {
      const other = { ...call, properties: { n: 10 + r.int(10) } };
      Object.assign(other, stamp(received));
      out.push({ call: other, receivedAt: iso(received + r.int(3) * HOUR) });
    }
  }
  for (const userId of ["u6"]) {
    const received = receipt();
    out.push({ call: { type: "delete", messageId: `d-${seed}-${userId}`, userId }, receivedAt: iso(received) });
  }
  return out;
}

/** One delivery: a call and the receive time ingest gave this copy. */
export interface Delivery {
  call: Record<string, unknown>;
  receivedAt: string;
}

/**
 * Two phases of deliveries in a random order: every call's first receipt with a fifth of them
 * duplicated as SQS redelivers (the same message), then, once those were handled, a third of the
 * calls sent again by their source (a retry: a new request, received 1 to 20 hours later).
 */
export function adversarialDeliveries(calls: ReceivedCall[], r: Random): { first: Delivery[]; retries: Delivery[] } {
  const first = shuffle([...calls, ...calls.filter(() => r.chance(0.2))], r);
  const retries = shuffle(
    calls
      .filter(() => r.chance(0.33))
      .map((c) => ({ call: c.call, receivedAt: iso(Date.parse(c.receivedAt) + (1 + r.int(20)) * HOUR) })),
    r,
  );
  return { first, retries };
}

/** Later ordering time, then greater content hash: the winner among calls that share a messageId. */
const ranksAbove = (a: NonNullable<NormalizedCall["event"]>, b: NonNullable<NormalizedCall["event"]>) =>
  a.timestamp !== b.timestamp ? a.timestamp > b.timestamp : (a.content_hash ?? "") > (b.content_hash ?? "");

/**
 * What the calls must store, applying the rules one by one in time order: each call ordered by
 * its time at first receipt; deleted users, and anonymous ids any call links to them, leave
 * nothing (their calls refused, a group call keeping only the account's part); of calls sharing a
 * messageId, the highest-ranked event; alias links newest first (ties: the greater user id),
 * one step (not transitive); everything else as `oracle` in model-oracle.ts.
 */
export function adversarialOracle(ws: string, calls: ReceivedCall[]): WorkspaceExport {
  const normalized = calls.map((c) =>
    normalizeCall(c.call as SegmentCall, { workspaceId: ws, source: "product", receivedAt: c.receivedAt }),
  );
  const deletedUsers = new Set(normalized.flatMap((n) => (n.deletion ? [n.deletion.userId] : [])));
  const deletedAnonymous = new Set(
    normalized.flatMap((n) => n.aliases.filter((a) => deletedUsers.has(a.to)).map((a) => a.from)),
  );
  const kept: NormalizedCall[] = [];
  for (const n of normalized) {
    if (n.deletion) continue;
    const about = [
      ...n.profiles.filter((p) => p.kind === "user").map((p) => p.id),
      ...(n.event?.user_id ? [n.event.user_id] : []),
      ...n.aliases.map((a) => a.to),
    ];
    if (about.some((id) => deletedUsers.has(id))) continue;
    const anonymousOnly = n.event && n.event.user_id === null ? n.event.anonymous_id : null;
    if (anonymousOnly !== null && deletedAnonymous.has(anonymousOnly)) continue;
    kept.push({
      ...n,
      aliases: n.aliases.filter((a) => !deletedAnonymous.has(a.from)),
      memberships: n.memberships.filter((m) => !deletedUsers.has(m.userId)),
    });
  }
  kept.sort(byTime);

  const profiles = new Map<string, VersionedFields>();
  const since = new Map<string, Map<string, string>>();
  const links = new Map<string, { to: string; time: string }>();
  const events = new Map<string, NonNullable<NormalizedCall["event"]>>();
  for (const call of kept) {
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
    for (const link of call.aliases) {
      const current = links.get(link.from);
      if (!current || current.time < call.time || (current.time === call.time && current.to <= link.to)) {
        links.set(link.from, { to: link.to, time: call.time });
      }
    }
    if (call.event) {
      const current = events.get(call.event.event_id);
      if (!current || ranksAbove(call.event, current)) events.set(call.event.event_id, call.event);
    }
  }
  const lastSeen = new Map<string, string>();
  const seen = (key: string, t: string) => {
    if ((lastSeen.get(key) ?? "") < t) lastSeen.set(key, t);
  };
  const resolved = [...events.values()].map((raw) => {
    let event: NonNullable<NormalizedCall["event"]> & { user_from_alias?: boolean } = raw;
    if (raw.user_id === null && raw.anonymous_id !== null) {
      // Attributed through the link when there is one; an event never attributed carries no flag.
      const target = links.get(raw.anonymous_id)?.to;
      if (target !== undefined) event = { ...raw, user_id: target, user_from_alias: true };
    }
    const accounts = [...(since.get(event.user_id ?? "") ?? new Map()).entries()]
      .filter(([, t]) => t <= event.timestamp)
      .map(([a]) => a);
    const e = event.account_from_user ? resolveEventAccount(event, event.user_id === null ? [] : accounts) : event;
    if (e.user_id) seen(`user:${e.user_id}`, e.timestamp);
    if (e.account_id) seen(`account:${e.account_id}`, e.timestamp);
    return { ...e, workspace_id: ws } as Record<string, unknown>;
  });
  return expectedExport(ws, profiles, since, lastSeen, resolved);
}
