/**
 * Property test (spec 3.1): a few hundred generated identify/group calls over 3 users and 3 accounts,
 * delivered in several random orders with random duplicates, always merge to the same state, equal to
 * an oracle that sorts calls by (time, messageId) and overwrites fields in that order.
 */
import { describe, expect, it } from "vitest";
import {
  compareStamps,
  materializeAccount,
  materializeUser,
  mergeFields,
  type NormalizedCall,
  normalizeCall,
  type VersionedFields,
} from "../../../packages/core/src/normalize";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";
import { prng } from "../../support/seeded-random";

const meta = { workspaceId: "ws_1", source: "product", receivedAt: "2024-06-01T00:00:00Z" };
const USERS = ["u1", "u2", 3];
const ACCOUNTS = ["acc_a", "acc_b", 77];

type Rng = ReturnType<typeof prng>;

// Few distinct instants, so many writes tie on time and the messageId tie-break is exercised.
function randomTime(rng: Rng): Record<string, string> {
  const minute = String(rng.int(6)).padStart(2, "0");
  const zoned = `2024-05-01T10:${minute}:00Z`;
  const roll = rng.int(10);
  if (roll === 0) return { originalTimestamp: zoned };
  if (roll === 1) return { timestamp: `2024-05-01T10:${minute}:00`, sentAt: zoned }; // no zone → falls back
  return { timestamp: roll === 2 ? `2024-05-01T12:${minute}:00+02:00` : zoned };
}

const USER_TRAITS: [string, (rng: Rng) => unknown][] = [
  ["firstName", (r) => r.pick(["Ada", "Grace", null])],
  ["first_name", (r) => r.pick(["Alan", "Edsger"])],
  ["lastName", (r) => r.pick(["Lovelace", "Hopper", null])],
  ["email", (r) => r.pick(["a@example.com", "b@example.com"])],
  ["createdAt", (r) => r.pick(["2023-01-01T00:00:00Z", "2023-02-01T00:00:00+01:00", "2023-03-01"])],
  ["isActive", (r) => r.pick([true, false, "false", "TRUE"])],
  ["plan_tier", (r) => r.pick(["gold", "silver", null, 3])],
  ["tags", (r) => r.pick([["a", "b"], [1, 2], [], ["a", 1]])],
  ["address", () => ({ city: "Oslo" })],
];

const ACCOUNT_TRAITS: [string, (rng: Rng) => unknown][] = [
  ["name", (r) => r.pick(["Acme", "Globex", null])],
  ["isTrial", (r) => r.pick([true, false, "true", "False"])],
  ["is_churned", (r) => r.pick([true, false])],
  ["mrr", (r) => r.pick([10, "49.5", null, "lots"])],
  ["trial_end", (r) => r.pick(["2024-06-01T00:00:00Z", "2024-07-01T00:00:00+02:00"])],
  ["plan", (r) => r.pick(["Growth", "Scale"])],
  ["plan_name", (r) => r.pick(["Enterprise", null])],
  ["website", (r) => r.pick(["acme.example", "https://globex.example", null])],
  ["seats", (r) => r.pick([1, 5, 10])],
];

function randomTraits(rng: Rng, pool: [string, (rng: Rng) => unknown][]): Record<string, unknown> {
  return Object.fromEntries(pool.filter(() => rng.next() < 0.4).map(([key, make]) => [key, make(rng)]));
}

function randomCall(rng: Rng, i: number): SegmentCall {
  // Some calls carry no messageId, so the hashed id is part of the ordering too.
  const id = rng.next() < 0.15 ? {} : { messageId: `msg-${String(rng.int(1_000_000)).padStart(6, "0")}-${i}` };
  const base = { ...id, ...randomTime(rng) };
  if (rng.next() < 0.5) {
    return SegmentCall.parse({
      type: "identify",
      userId: rng.pick(USERS),
      traits: randomTraits(rng, USER_TRAITS),
      ...base,
    });
  }
  const group = { type: "group", groupId: rng.pick(ACCOUNTS), traits: randomTraits(rng, ACCOUNT_TRAITS), ...base };
  return SegmentCall.parse(rng.next() < 0.5 ? { ...group, userId: rng.pick(USERS) } : group);
}

type State = Map<string, VersionedFields>;

function applyMerge(calls: NormalizedCall[]): State {
  const state: State = new Map();
  for (const call of calls) {
    for (const write of call.profiles) {
      const key = `${write.kind}:${write.id}`;
      state.set(key, mergeFields(state.get(key) ?? {}, write.fields, call.stamp).fields);
    }
  }
  return state;
}

/** The oracle: no versions compared, just overwrite in (time, messageId) order. */
function applyOracle(calls: NormalizedCall[]): State {
  const unique = [...new Map(calls.map((call) => [call.messageId, call])).values()];
  unique.sort((a, b) => compareStamps(a.stamp, b.stamp));
  const state: State = new Map();
  for (const call of unique) {
    for (const write of call.profiles) {
      const key = `${write.kind}:${write.id}`;
      const fields = { ...state.get(key) };
      for (const [name, v] of Object.entries(write.fields)) fields[name] = { v, t: call.stamp.t, m: call.stamp.m };
      state.set(key, fields);
    }
  }
  return state;
}

function materialize(state: State) {
  return [...state.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, fields]) => {
      const [kind, id = ""] = key.split(":");
      return kind === "account" ? materializeAccount("ws_1", id, fields) : materializeUser("ws_1", id, fields);
    });
}

/** A delivery: every call at least once, some several times, in a shuffled order. */
function delivery(rng: Rng, calls: NormalizedCall[]): NormalizedCall[] {
  const out = [...calls];
  for (const call of calls) while (rng.next() < 0.2) out.push(call);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as NormalizedCall, out[i] as NormalizedCall];
  }
  return out;
}

describe("order independence of profile merges", () => {
  it.each([1, 7, 2024])("seed %i: any order, any duplicates, same state as the oracle", (seed) => {
    const rng = prng(seed);
    const calls = Array.from({ length: 300 }, (_, i) => normalizeCall(randomCall(rng, i), meta));
    const expectedState = applyOracle(calls);
    const expected = materialize(expectedState);
    expect(expected.length).toBeGreaterThan(3);

    for (let run = 0; run < 8; run++) {
      const state = applyMerge(delivery(rng, calls));
      expect(state).toEqual(expectedState);
      expect(materialize(state)).toEqual(expected);
      expect(JSON.stringify(materialize(state))).toBe(JSON.stringify(expected));
    }
  });

  it("generates data that exercises ties, clears and rejects", () => {
    const rng = prng(1);
    const calls = Array.from({ length: 300 }, (_, i) => normalizeCall(randomCall(rng, i), meta));
    const times = new Set(calls.map((call) => call.time));
    expect(times.size).toBeLessThan(10);
    expect(calls.some((call) => call.messageId.startsWith("hash-"))).toBe(true);
    expect(calls.some((call) => call.profiles.some((w) => Object.values(w.fields).includes(null)))).toBe(true);
    expect(calls.some((call) => call.problems.length > 0)).toBe(true);
  });
});
