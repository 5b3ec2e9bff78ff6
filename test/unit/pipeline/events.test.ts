import { describe, expect, it } from "vitest";
import { type StoredEvent, scopedKey } from "../../../packages/core/src/pipeline/model-store";
import { settleConflicts } from "../../../packages/core/src/pipeline/stages/event-conflicts";
import { writeEvents } from "../../../packages/core/src/pipeline/stages/events";
import { noteSeen, type SeenMap, touchSeenProfiles } from "../../../packages/core/src/pipeline/stages/last-seen";
import { MemoryModelStore } from "../../support/memory-store";
import { batchOf, failing, storageError, track, WS } from "./batch";

describe("events stage", () => {
  it("stores each event once; copies of one call in the batch are duplicates", async () => {
    const { ctx, units, store } = batchOf([track("m1"), track("m1"), track("m2")]);
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")).toMatchObject({ event_name: "Report Exported", user_id: "u1" });
    expect(ctx.stats).toMatchObject({ eventsStored: 2, duplicates: 1 });
  });

  it("an event already stored by the same call is a duplicate, not written again", async () => {
    const store = new MemoryModelStore();
    const first = batchOf([track("m1")], store);
    await writeEvents(first.ctx, first.units);
    const again = batchOf([track("m1")], store);
    await writeEvents(again.ctx, again.units);
    expect(again.ctx.stats).toMatchObject({ eventsStored: 0, duplicates: 1 });
    expect(store.count("insertEvents")).toBe(1);
  });

  it("two calls sharing a messageId in one batch: the later one is stored, the other is a conflict reject", async () => {
    const { ctx, units, store } = batchOf([
      track("m1", { event: "Later", timestamp: "2024-05-02T00:00:00Z" }),
      track("m1", { event: "Earlier", timestamp: "2024-05-01T00:00:00Z" }),
    ]);
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")?.event_name).toBe("Later");
    expect(
      ctx.rejects.map((r) => [r.call, r.reject.code, (r.reject.value as { event_name: string }).event_name]),
    ).toEqual([[`${units[1]?.recordId}\u00001`, "message_id.conflict", "Earlier"]]);
  });

  it("a stored event of another call that ranks higher keeps its place; the incoming one is the reject", async () => {
    const store = new MemoryModelStore();
    const first = batchOf([track("m1", { event: "Later", timestamp: "2024-05-02T00:00:00Z" })], store);
    await writeEvents(first.ctx, first.units);
    const late = batchOf([track("m1", { event: "Earlier", userId: "u2", timestamp: "2024-05-01T00:00:00Z" })], store);
    await writeEvents(late.ctx, late.units);
    expect(store.event(WS, "m1")?.event_name).toBe("Later");
    expect(late.ctx.rejects.map((r) => r.reject.code)).toEqual(["message_id.conflict"]);
    // The loser never touched a profile's last seen, not even for a moment.
    expect(
      store.calls.filter((c) => c.method === "touchLastSeen").map((c) => (c.args[0] as { id: string }).id),
    ).toEqual(["u1"]);
  });

  it("a stored event of another call that ranks lower is replaced, and its reject recorded", async () => {
    const store = new MemoryModelStore();
    const first = batchOf([track("m1", { event: "Earlier", userId: "u0", timestamp: "2024-05-01T00:00:00Z" })], store);
    await writeEvents(first.ctx, first.units);
    const later = batchOf([track("m1", { event: "Later", timestamp: "2024-05-02T00:00:00Z" })], store);
    await writeEvents(later.ctx, later.units);
    expect(store.event(WS, "m1")?.event_name).toBe("Later");
    expect(later.ctx.rejects.map((r) => (r.reject.value as { event_name: string }).event_name)).toEqual(["Earlier"]);
    // The user the loser counted for lost its only event.
    expect(store.profileOf(WS, "user", "u0")).toBeUndefined();
  });

  it("an event naming no account takes the user's only account at its time", async () => {
    const store = new MemoryModelStore();
    await store.saveMembership({ workspaceId: WS, accountId: "acc", userId: "u1", since: "2024-04-01T00:00:00.000Z" });
    const { ctx, units } = batchOf([track("m1")], store);
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")).toMatchObject({ account_id: "acc", account_resolution: "user_single_account" });
    expect(store.profileOf(WS, "account", "acc")?.lastSeenAt).toBe("2024-05-01T12:00:00.000Z");
  });

  it("records months and last seen before the events are written", async () => {
    const { ctx, units, store } = batchOf([track("m1")]);
    await writeEvents(ctx, units);
    const order = store.calls.map((c) => c.method).filter((m) => m === "touchLastSeen" || m === "insertEvents");
    expect(order).toEqual(["touchLastSeen", "insertEvents"]);
    expect([...(store.profileOf(WS, "user", "u1")?.eventMonths ?? [])]).toEqual(["2024-05"]);
  });

  it("an event whose profile's month could not be recorded is not written (its record goes back)", async () => {
    const { ctx, units, store } = batchOf([track("m1"), track("m2", { userId: "u2" })]);
    failing(store, "touchLastSeen", storageError(true), (args) => (args[0] as { id: string }).id === "u2");
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")).toBeDefined();
    expect(store.event(WS, "m2")).toBeUndefined();
    expect(ctx.failed.size).toBe(1);
  });

  it("an event whose user's memberships cannot be read is not stored with no account", async () => {
    const { ctx, units, store } = batchOf([track("m1")]);
    failing(store, "userMemberships", storageError(true));
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")).toBeUndefined();
    expect(ctx.failed.size).toBe(1);
  });

  it("a membership stored by another normalizer after the read is caught by the recheck", async () => {
    const store = new MemoryModelStore();
    const { ctx, units } = batchOf([track("m1")], store);
    store.fault = (method) => {
      if (method === "insertEvents") {
        store.memberships.set("x", {
          workspaceId: WS,
          accountId: "acc",
          userId: "u1",
          since: "2024-04-01T00:00:00.000Z",
        });
      }
    };
    await writeEvents(ctx, units);
    expect(store.event(WS, "m1")?.account_id).toBe("acc");
    expect(ctx.stats.eventsReattributed).toBe(1);
  });
});

describe("conflict settlement", () => {
  it("a stored event replaced by a concurrent writer meanwhile is read again, and the winner put in place", async () => {
    const store = new MemoryModelStore();
    const { ctx, units } = batchOf([track("m1", { event: "New", timestamp: "2024-05-03T00:00:00Z" })], store);
    await writeEvents(ctx, units);
    const incoming = store.event(WS, "m1") as StoredEvent;
    const stored = (name: string, timestamp: string, hash: string, userId: string) => ({
      ...incoming,
      event_name: name,
      timestamp,
      content_hash: hash,
      user_id: userId,
    });
    store.events.set(`${WS}\u0000m1`, stored("Stored", "2024-05-02T00:00:00.000Z", "aaa", "u0"));
    await store.touchLastSeen({ workspaceId: WS, kind: "user", id: "u9" }, "2024-05-02T00:00:00.000Z", ["2024-05"]);
    let swapped = false;
    store.fault = (method) => {
      if (method !== "replaceEvent" || swapped) return;
      swapped = true;
      store.events.set(`${WS}\u0000m1`, stored("Swapped", "2024-05-02T12:00:00.000Z", "bbb", "u9"));
    };
    const settle = batchOf([track("m1", { event: "New", timestamp: "2024-05-03T00:00:00Z" })], store);
    await settleConflicts(settle.ctx, WS, [{ event: incoming, units: settle.units }]);
    expect(store.count("replaceEvent")).toBe(2);
    expect(store.event(WS, "m1")?.event_name).toBe("New");
    expect(settle.ctx.rejects.map((r) => (r.reject.value as { event_name: string }).event_name)).toEqual(["Swapped"]);
    // The loser's user had its last seen in the loser: recomputed (it has no event left, nor fields).
    expect(store.profileOf(WS, "user", "u9")).toBeUndefined();
  });
});

describe("last seen stage", () => {
  it("writes only profiles this batch moves, after one read for all", async () => {
    const store = new MemoryModelStore();
    await store.touchLastSeen({ workspaceId: WS, kind: "user", id: "u1" }, "2024-05-09T00:00:00.000Z", ["2024-05"]);
    // u1 was seen at 05-09: last_seen_at is derived from that stored event.
    const seenEvent = { workspace_id: WS, event_id: "m9", timestamp: "2024-05-09T00:00:00.000Z", user_id: "u1" };
    store.events.set(scopedKey(WS, "m9"), { ...seenEvent, account_id: null } as StoredEvent);
    const { ctx, units } = batchOf([track("m1")], store);
    const seen: SeenMap = new Map();
    noteSeen(seen, { workspaceId: WS, kind: "user", id: "u1" }, "2024-05-01T00:00:00.000Z", units);
    noteSeen(seen, { workspaceId: WS, kind: "user", id: "u2" }, "2024-05-01T00:00:00.000Z", units);
    expect(await touchSeenProfiles(ctx, seen)).toEqual(new Set());
    expect(
      store.calls.filter((c) => c.method === "touchLastSeen").map((c) => (c.args[0] as { id: string }).id),
    ).toEqual(["u1", "u2"]);
    expect(store.profileOf(WS, "user", "u1")?.lastSeenAt).toBe("2024-05-09T00:00:00.000Z");
  });

  it("a profile already at this time and month is not written", async () => {
    const store = new MemoryModelStore();
    await store.touchLastSeen({ workspaceId: WS, kind: "user", id: "u1" }, "2024-05-09T00:00:00.000Z", ["2024-05"]);
    const { ctx, units } = batchOf([track("m1")], store);
    const seen: SeenMap = new Map();
    noteSeen(seen, { workspaceId: WS, kind: "user", id: "u1" }, "2024-05-01T00:00:00.000Z", units);
    await touchSeenProfiles(ctx, seen);
    expect(store.count("touchLastSeen")).toBe(1);
  });

  it("returns the profiles whose touch failed", async () => {
    const { ctx, units, store } = batchOf([track("m1")]);
    failing(store, "touchLastSeen", storageError(true));
    const seen: SeenMap = new Map();
    noteSeen(seen, { workspaceId: WS, kind: "user", id: "u1" }, "2024-05-01T00:00:00.000Z", units);
    expect([...(await touchSeenProfiles(ctx, seen))]).toEqual([`${WS}\u0000user\u0000u1`]);
  });
});
