import { describe, expect, it } from "vitest";
import { scopedKey } from "../../../packages/core/src/pipeline/model-store";
import { attributeAnonymousEvents, saveAliases } from "../../../packages/core/src/pipeline/stages/aliases";
import { applyDeletions, refuseDeletedUsers } from "../../../packages/core/src/pipeline/stages/deleted-users";
import { fixDeliveryTimes } from "../../../packages/core/src/pipeline/stages/delivery-times";
import { translateIds } from "../../../packages/core/src/pipeline/stages/translate";
import { MemoryModelStore } from "../../support/memory-store";
import { batch, batchOf, failing, group, identify, record, storageError, track, WS } from "./batch";

describe("delivery times stage", () => {
  const untimed = { type: "track", event: "E", userId: "u1", messageId: "m1" };

  it("a call timed by its delivery records its first receipt; a redelivery orders by it", async () => {
    const store = new MemoryModelStore();
    const first = batch([record([untimed], { receivedAt: "2024-05-01T00:00:00.000Z" })], store);
    const fixed1 = await fixDeliveryTimes(first.ctx, first.units);
    expect(fixed1[0]?.call.time).toBe("2024-05-01T00:00:00.000Z");
    const again = batch([record([untimed], { receivedAt: "2024-05-09T00:00:00.000Z" })], store);
    const fixed2 = await fixDeliveryTimes(again.ctx, again.units);
    expect(fixed2[0]?.call.time).toBe("2024-05-01T00:00:00.000Z");
    expect(fixed2[0]?.call.receivedAt).toBe("2024-05-01T00:00:00.000Z");
  });

  it("calls with their own time are not looked up", async () => {
    const { ctx, units, store } = batchOf([track("m1")]);
    expect(await fixDeliveryTimes(ctx, units)).toEqual(units);
    expect(store.count("firstReceipts")).toBe(0);
  });

  it("a call whose receipt cannot be read leaves the batch and its record goes back", async () => {
    const { ctx, units, store } = batchOf([untimed, track("m2")]);
    failing(store, "firstReceipts", storageError(true));
    const kept = await fixDeliveryTimes(ctx, units);
    expect(kept.map((u) => u.call.messageId)).toEqual(["m2"]);
    expect(ctx.failed.size).toBe(1);
  });
});

describe("translate stage", () => {
  const crm = (calls: Record<string, unknown>[], store: MemoryModelStore) =>
    batch([record(calls, { source: "crm" })], store);

  it("ids of another source are translated through the entity maps", async () => {
    const store = new MemoryModelStore();
    store.mapEntity(WS, { source: "crm", kind: "user", externalId: "c-1" }, "u1");
    const { ctx, units } = crm([track("m1", { userId: "c-1" })], store);
    const [unit] = await translateIds(ctx, units);
    expect(unit?.call.event?.user_id).toBe("u1");
    expect(store.pending).toEqual([]);
  });

  it("a call with an unmapped id is held as pending, counted, and leaves the batch", async () => {
    const store = new MemoryModelStore();
    const { ctx, units } = crm([track("m1", { userId: "c-9" })], store);
    expect(await translateIds(ctx, units)).toEqual([]);
    expect(ctx.stats.pending).toBe(1);
    expect(store.pending[0]?.pending).toMatchObject({
      messageId: "m1",
      missing: [{ source: "crm", kind: "user", externalId: "c-9" }],
    });
    // Retention (14 days) plus a week, from the hold time.
    expect(store.pending[0]?.expiresAt).toBe(Date.parse("2024-06-01T00:00:00.000Z") / 1000 + 21 * 86400);
  });

  it("primary-source calls are not looked up", async () => {
    const { ctx, units, store } = batchOf([track("m1")]);
    expect(await translateIds(ctx, units)).toHaveLength(1);
    expect(store.count("lookupEntityMaps")).toBe(0);
  });
});

describe("deleted-user refusal stage", () => {
  it("a call about a deleted user is a user.deleted reject and is refused whole", async () => {
    const store = new MemoryModelStore();
    store.tombstones.add(scopedKey(WS, "u1"));
    const { ctx, units } = batchOf([track("m1"), track("m2", { userId: "u2" })], store);
    const { kept, refused } = await refuseDeletedUsers(ctx, units);
    expect(kept.map((u) => u.call.messageId)).toEqual(["m2"]);
    expect(refused.map((u) => u.call.messageId)).toEqual(["m1"]);
    expect(ctx.rejects.map((r) => [r.reject.messageId, r.reject.code, r.reject.value])).toEqual([
      ["m1", "user.deleted", { user_id: "u1", type: "track" }],
    ]);
    expect(ctx.stats.refusedForDeletedUsers).toBe(1);
  });

  it("a group call naming a deleted user keeps the account but not the membership", async () => {
    const store = new MemoryModelStore();
    store.tombstones.add(scopedKey(WS, "u1"));
    const { ctx, units } = batchOf([group("u1", "acc")], store);
    const { kept } = await refuseDeletedUsers(ctx, units);
    expect(kept[0]?.call.memberships).toEqual([]);
    expect(kept[0]?.call.profiles.map((p) => p.id)).toEqual(["acc"]);
    expect(ctx.rejects.map((r) => r.reject.code)).toEqual(["user.deleted"]);
  });

  it("an anonymous event of a deleted anonymous id is refused", async () => {
    const store = new MemoryModelStore();
    store.anonymousTombstones.add(scopedKey(WS, "anon-1"));
    const { ctx, units } = batchOf([{ ...track("m1"), userId: undefined, anonymousId: "anon-1" }], store);
    const { kept, refused } = await refuseDeletedUsers(ctx, units);
    expect(kept).toEqual([]);
    expect(refused).toHaveLength(1);
    expect(ctx.rejects[0]?.reject.field).toBe("anonymousId");
  });

  it("a refused alias to a deleted user deletes its anonymous id too", async () => {
    const store = new MemoryModelStore();
    store.tombstones.add(scopedKey(WS, "u1"));
    const alias = {
      type: "alias",
      previousId: "anon-1",
      userId: "u1",
      messageId: "a1",
      timestamp: "2024-05-01T00:00:00Z",
    };
    const { ctx, units } = batchOf([alias], store);
    await refuseDeletedUsers(ctx, units);
    expect(store.anonymousTombstones.has(scopedKey(WS, "anon-1"))).toBe(true);
  });

  it("a live user's alias from a deleted anonymous id keeps the call, less the link", async () => {
    const store = new MemoryModelStore();
    store.anonymousTombstones.add(scopedKey(WS, "anon-1"));
    const alias = {
      type: "alias",
      previousId: "anon-1",
      userId: "u2",
      messageId: "a1",
      timestamp: "2024-05-01T00:00:00Z",
    };
    const { ctx, units } = batchOf([alias], store);
    const { kept } = await refuseDeletedUsers(ctx, units);
    expect(kept[0]?.call.aliases).toEqual([]);
    expect(ctx.rejects.map((r) => r.reject.field)).toEqual(["anonymousId"]);
  });

  it("a user deleted in this very batch refuses the batch's other calls about them", async () => {
    const { ctx, units } = batchOf([{ type: "delete", userId: "u1", messageId: "d1" }, track("m1")]);
    const { kept } = await refuseDeletedUsers(ctx, units);
    expect(kept.map((u) => u.call.type)).toEqual(["delete"]);
  });

  it("applyDeletions deletes the user, counts it and removes the deletion from the batch", async () => {
    const store = new MemoryModelStore();
    const { ctx, units } = batchOf(
      [{ type: "delete", userId: "u1", messageId: "d1" }, track("m1", { userId: "u2" })],
      store,
    );
    const rest = await applyDeletions(ctx, units);
    expect(rest.map((u) => u.call.messageId)).toEqual(["m1"]);
    expect(store.tombstones.has(scopedKey(WS, "u1"))).toBe(true);
    expect(ctx.stats.deletedUsers).toBe(1);
  });
});

describe("alias stage", () => {
  const alias = (from: string, to: string, timestamp: string) => ({
    type: "alias",
    previousId: from,
    userId: to,
    messageId: `al-${from}-${to}-${timestamp}`,
    timestamp,
  });

  it("saveAliases reports new links, and re-pointed ones with the user they pointed to", async () => {
    const store = new MemoryModelStore();
    const first = batchOf([alias("anon-1", "u1", "2024-05-01T00:00:00Z")], store);
    expect((await saveAliases(first.ctx, first.units)).map((c) => [c.from, c.to, c.previous])).toEqual([
      ["anon-1", "u1", undefined],
    ]);
    const second = batchOf([alias("anon-1", "u2", "2024-05-02T00:00:00Z")], store);
    expect((await saveAliases(second.ctx, second.units)).map((c) => [c.from, c.to, c.previous])).toEqual([
      ["anon-1", "u2", "u1"],
    ]);
    const older = batchOf([alias("anon-1", "u3", "2024-04-01T00:00:00Z")], store);
    expect(await saveAliases(older.ctx, older.units)).toEqual([]);
  });

  it("an event with only an anonymous id gets the user its alias links to", async () => {
    const store = new MemoryModelStore();
    await store.saveAlias(WS, "anon-1", "u1", "2024-05-01T00:00:00.000Z");
    const { ctx, units } = batchOf([{ ...track("m1"), userId: undefined, anonymousId: "anon-1" }, track("m2")], store);
    const out = await attributeAnonymousEvents(ctx, units);
    expect(
      out.map((u) => [u.call.event?.user_id, (u.call.event as { user_from_alias?: boolean }).user_from_alias]),
    ).toEqual([
      ["u1", true],
      ["u1", undefined],
    ]);
  });

  it("anonymous events whose links cannot be read leave the batch; the others stay", async () => {
    const { ctx, units, store } = batchOf([
      { ...track("m1"), userId: undefined, anonymousId: "anon-1" },
      identify("u1"),
    ]);
    failing(store, "aliasTargets", storageError(true));
    const out = await attributeAnonymousEvents(ctx, units);
    expect(out.map((u) => u.call.type)).toEqual(["identify"]);
    expect(ctx.failed.size).toBe(1);
  });
});
