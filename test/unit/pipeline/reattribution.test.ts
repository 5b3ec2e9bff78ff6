import { describe, expect, it } from "vitest";
import { normalizeBatch } from "../../../packages/core/src/pipeline/normalize-batch";
import { reattributeAliasedEvents } from "../../../packages/core/src/pipeline/stages/alias-reattribution";
import { writeEvents } from "../../../packages/core/src/pipeline/stages/events";
import type { SeenMap } from "../../../packages/core/src/pipeline/stages/last-seen";
import { reattributeEvents } from "../../../packages/core/src/pipeline/stages/reattribution";
import { MemoryModelStore } from "../../support/memory-store";
import { batchOf, NOW, record, storageError, track, WS } from "./batch";

/** Runs calls through the whole pipeline, as earlier deliveries would have. */
async function deliver(store: MemoryModelStore, calls: Record<string, unknown>[]) {
  const outcome = await normalizeBatch([record(calls)], store, () => NOW);
  expect(outcome.failedRecordIds).toEqual([]);
}

const edge = (accountId: string, since: string) => ({ workspaceId: WS, accountId, userId: "u1", since });
const anonymousTrack = (messageId: string, timestamp = "2024-05-01T12:00:00Z") => ({
  type: "track",
  event: "Viewed",
  anonymousId: "anon-1",
  messageId,
  timestamp,
});
const alias = (to: string, timestamp: string) => ({
  type: "alias",
  previousId: "anon-1",
  userId: to,
  messageId: `al-${to}`,
  timestamp,
});

describe("membership re-attribution stage", () => {
  it("a new membership gives the user's earlier events with no account that account", async () => {
    const store = new MemoryModelStore();
    await deliver(store, [track("m1")]);
    expect(store.event(WS, "m1")?.account_id).toBeNull();
    await store.saveMembership(edge("acc", "2024-04-01T00:00:00.000Z"));
    const { ctx, units } = batchOf([], store);
    const seen: SeenMap = new Map();
    await reattributeEvents(ctx, { changed: [edge("acc", "2024-04-01T00:00:00.000Z")], repeated: [] }, units, seen);
    expect(store.event(WS, "m1")).toMatchObject({ account_id: "acc", account_resolution: "user_single_account" });
    expect(ctx.stats.eventsReattributed).toBe(1);
    expect([...seen.values()].map((s) => [s.ref.id, s.time])).toEqual([["acc", "2024-05-01T12:00:00.000Z"]]);
  });

  it("a second account makes the events ambiguous, and the account they left is recomputed", async () => {
    const store = new MemoryModelStore();
    await store.saveMembership(edge("acc1", "2024-04-01T00:00:00.000Z"));
    await deliver(store, [track("m1")]);
    expect(store.event(WS, "m1")?.account_id).toBe("acc1");
    await store.saveMembership(edge("acc2", "2024-04-02T00:00:00.000Z"));
    const { ctx, units } = batchOf([], store);
    await reattributeEvents(
      ctx,
      { changed: [edge("acc2", "2024-04-02T00:00:00.000Z")], repeated: [] },
      units,
      new Map(),
    );
    expect(store.event(WS, "m1")).toMatchObject({ account_id: null, account_resolution: "ambiguous" });
    expect(store.calls.filter((c) => c.method === "recomputeLastSeen").map((c) => c.args[0])).toEqual([
      { workspaceId: WS, kind: "account", id: "acc1" },
    ]);
    expect(store.profileOf(WS, "account", "acc1")?.lastSeenAt).toBeUndefined();
  });

  it("a repeated membership redoes the pass: seen noted even when unchanged, every account recomputed", async () => {
    const store = new MemoryModelStore();
    await store.saveMembership(edge("acc", "2024-04-01T00:00:00.000Z"));
    await deliver(store, [track("m1")]);
    const { ctx, units } = batchOf([], store);
    const seen: SeenMap = new Map();
    await reattributeEvents(ctx, { changed: [], repeated: [edge("acc", "2024-04-01T00:00:00.000Z")] }, units, seen);
    expect([...seen.values()].map((s) => s.ref.id)).toEqual(["acc"]);
    expect(store.count("recomputeLastSeen")).toBe(1);
    expect(ctx.stats.eventsReattributed).toBe(0);
  });
});

describe("membership re-attribution through the months marked on users", () => {
  it("reads every user's months once and searches only users with a marked month from `since` on", async () => {
    const store = new MemoryModelStore();
    // u1: an event with no account context (marked); u2: an event with its own account (not marked).
    await deliver(store, [track("m1"), track("m2", { userId: "u2", properties: { account_id: "ctx" } })]);
    const edges = [
      edge("acc", "2024-04-01T00:00:00.000Z"),
      { ...edge("acc", "2024-04-01T00:00:00.000Z"), userId: "u2" },
    ];
    for (const e of edges) await store.saveMembership(e);
    const { ctx, units } = batchOf([], store);
    const before = store.calls.length;
    await reattributeEvents(ctx, { changed: edges, repeated: [] }, units, new Map());
    const called = store.calls.slice(before);
    expect(called.filter((c) => c.method === "userMonths").length).toBe(1);
    expect(called.filter((c) => c.method === "userMemberships").map((c) => c.args[1])).toEqual(["u1"]);
    expect(store.event(WS, "m1")?.account_id).toBe("acc");
    expect(store.event(WS, "m2")?.account_id).toBe("ctx");
  });

  it("a marked month before `since` is not searched", async () => {
    const store = new MemoryModelStore();
    await deliver(store, [track("m1")]);
    await store.saveMembership(edge("acc", "2024-06-01T00:00:00.000Z"));
    const { ctx, units } = batchOf([], store);
    await reattributeEvents(
      ctx,
      { changed: [edge("acc", "2024-06-01T00:00:00.000Z")], repeated: [] },
      units,
      new Map(),
    );
    expect(store.count("userEventsResolvedFromMemberships")).toBe(0);
    expect(store.event(WS, "m1")?.account_id).toBeNull();
  });
});

describe("membership recheck after the event write", () => {
  /** Two users' events, whose memberships another normalizer stores right after the event read. */
  function racedBatch() {
    const store = new MemoryModelStore();
    const batch = batchOf([track("m1"), track("m2", { userId: "u2" })], store);
    store.fault = (method) => {
      if (method !== "insertEvents") return;
      for (const [userId, accountId] of [
        ["u1", "acc1"],
        ["u2", "acc2"],
      ] as const) {
        const since = "2024-04-01T00:00:00.000Z";
        store.memberships.set(`${userId}-${accountId}`, { workspaceId: WS, accountId, userId, since });
      }
    };
    return batch;
  }

  it("records every moved event's account in one pass before the rewrites", async () => {
    const { store, ctx, units } = racedBatch();
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")?.account_id).toBe("acc1");
    expect(store.event(WS, "m2")?.account_id).toBe("acc2");
    const after = store.calls.slice(store.calls.findIndex((c) => c.method === "insertEvents"));
    const methods = after.map((c) => c.method);
    expect(methods.filter((m) => m === "loadProfiles").length).toBe(1);
    expect(methods.lastIndexOf("touchLastSeen")).toBeLessThan(methods.indexOf("rewriteEvents"));
  });

  it("a user whose account could not be recorded keeps its event as it was, and its record goes back", async () => {
    const { store, ctx, units } = racedBatch();
    const race = store.fault;
    store.fault = (method, args) => {
      race(method, args);
      if (method === "touchLastSeen" && (args[0] as { id: string }).id === "acc2") throw storageError(true);
    };
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")?.account_id).toBe("acc1");
    expect(store.event(WS, "m2")?.account_id).toBeNull();
    expect(ctx.failed.size).toBe(1);
  });
});

describe("membership recheck after a conflict's replacement", () => {
  it("a replacing event whose account came from a membership read before another normalizer's is re-resolved", async () => {
    const store = new MemoryModelStore();
    const first = batchOf([track("m1", { event: "Earlier", timestamp: "2024-05-01T00:00:00Z" })], store);
    await writeEvents(first.ctx, first.units);
    const later = batchOf([track("m1", { event: "Later", timestamp: "2024-05-02T00:00:00Z" })], store);
    // Another normalizer stores the user's membership after this batch read the user's accounts
    // (none) and before its replacement lands.
    store.fault = (method) => {
      if (method !== "replaceEvent") return;
      const since = "2024-04-01T00:00:00.000Z";
      store.memberships.set("u1-acc", { workspaceId: WS, accountId: "acc", userId: "u1", since });
    };
    await writeEvents(later.ctx, later.units);
    expect(store.event(WS, "m1")).toMatchObject({ event_name: "Later", account_id: "acc" });
  });
});

describe("alias re-attribution stage", () => {
  it("a new link moves the anonymous id's events to the user", async () => {
    const store = new MemoryModelStore();
    await deliver(store, [anonymousTrack("e1")]);
    const { ctx, units } = batchOf([alias("u1", "2024-05-02T00:00:00Z")], store);
    await store.saveAlias(WS, "anon-1", "u1", "2024-05-02T00:00:00.000Z");
    const seen: SeenMap = new Map();
    const moves = await reattributeAliasedEvents(
      ctx,
      [{ workspaceId: WS, from: "anon-1", to: "u1", unit: units[0]! }],
      seen,
    );
    expect(store.event(WS, "e1")).toMatchObject({ user_id: "u1", user_from_alias: true });
    expect(moves.map((m) => m.eventIds)).toEqual([["e1"]]);
    expect([...(store.profileOf(WS, "user", "u1")?.eventMonths ?? [])]).toEqual(["2024-05"]);
    expect(ctx.stats.eventsReattributed).toBe(1);
  });

  it("a re-pointed link moves the events the previous user had through it, and recomputes that user", async () => {
    const store = new MemoryModelStore();
    await deliver(store, [anonymousTrack("e1"), alias("u1", "2024-05-02T00:00:00Z")]);
    expect(store.event(WS, "e1")?.user_id).toBe("u1");
    expect(store.profileOf(WS, "user", "u1")?.lastSeenAt).toBe("2024-05-01T12:00:00.000Z");
    await store.saveAlias(WS, "anon-1", "u2", "2024-05-03T00:00:00.000Z");
    const { ctx, units } = batchOf([alias("u2", "2024-05-03T00:00:00Z")], store);
    await reattributeAliasedEvents(
      ctx,
      [{ workspaceId: WS, from: "anon-1", to: "u2", previous: "u1", unit: units[0]! }],
      new Map(),
    );
    expect(store.event(WS, "e1")).toMatchObject({ user_id: "u2", user_from_alias: true });
    // u1 existed only through the moved event: recomputed away.
    expect(store.profileOf(WS, "user", "u1")).toBeUndefined();
    expect(store.profileOf(WS, "user", "u2")?.lastSeenAt).toBe("2024-05-01T12:00:00.000Z");
  });

  it("the moved events take the user's account, and their months are recorded before the rewrite", async () => {
    const store = new MemoryModelStore();
    await deliver(store, [anonymousTrack("e1")]);
    await store.saveMembership({ workspaceId: WS, accountId: "acc", userId: "u1", since: "2024-04-01T00:00:00.000Z" });
    const { ctx, units } = batchOf([alias("u1", "2024-05-02T00:00:00Z")], store);
    const before = store.calls.length;
    await reattributeAliasedEvents(ctx, [{ workspaceId: WS, from: "anon-1", to: "u1", unit: units[0]! }], new Map());
    const order = store.calls
      .slice(before)
      .map((c) => c.method)
      .filter((m) => m === "touchLastSeen" || m === "rewriteEvents");
    expect(order[0]).toBe("touchLastSeen");
    expect(order).toContain("rewriteEvents");
    expect(store.event(WS, "e1")?.account_id).toBe("acc");
  });
});
