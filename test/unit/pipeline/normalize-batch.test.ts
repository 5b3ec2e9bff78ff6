import { describe, expect, it } from "vitest";
import { scopedKey } from "../../../packages/core/src/pipeline/model-store";
import { normalizeBatch } from "../../../packages/core/src/pipeline/normalize-batch";
import { attributeAnonymousEvents } from "../../../packages/core/src/pipeline/stages/aliases";
import { undoWritesAboutDeletedUsers } from "../../../packages/core/src/pipeline/stages/deletion-undo";
import { MemoryModelStore } from "../../support/memory-store";
import { batchOf, group, identify, NOW, record, storageError, track, WS } from "./batch";

const run = (store: MemoryModelStore, ...records: ReturnType<typeof record>[]) =>
  normalizeBatch(records, store, () => NOW);

describe("normalizeBatch: the stages in order over one context", () => {
  it("identify, group and track of one batch: profiles, membership, the event's account, last seen, rejects", async () => {
    const store = new MemoryModelStore();
    const outcome = await run(
      store,
      record([
        identify("u1", { first_name: "Ada", address: { city: "X" } }, { messageId: "i1" }),
        group("u1", "acc"),
        track("t1", { timestamp: "2024-05-02T00:00:00Z" }),
      ]),
    );
    expect(outcome.failedRecordIds).toEqual([]);
    expect(outcome.stats).toMatchObject({ records: 1, calls: 3, eventsStored: 1, membershipsAdded: 1, rejects: 1 });
    expect(store.event(WS, "t1")?.account_id).toBe("acc");
    expect(store.profileOf(WS, "account", "acc")?.lastSeenAt).toBe("2024-05-02T00:00:00.000Z");
    expect(store.rejectList()).toEqual([["i1", "trait.nested_object", "traits.address"]]);
  });

  it("a permanent refusal of a shared write: the calls run alone, only the refused one is a reject", async () => {
    const store = new MemoryModelStore();
    store.fault = (method, args) => {
      if (method === "insertEvents" && (args[0] as { event_id: string }[]).some((e) => e.event_id === "poison")) {
        throw storageError(false);
      }
    };
    const outcome = await run(store, record([track("a"), track("poison")]), record([track("b")]));
    expect(outcome.failedRecordIds).toEqual([]);
    expect(store.event(WS, "a")).toBeDefined();
    expect(store.event(WS, "b")).toBeDefined();
    expect(store.event(WS, "poison")).toBeUndefined();
    expect(store.rejectList()).toEqual([["poison", "storage.rejected", "event"]]);
    expect(outcome.stats.eventsStored).toBe(2);
  });

  it("a transient failure sends back only the records of the calls it served", async () => {
    const store = new MemoryModelStore();
    store.fault = (method, args) => {
      if (method === "saveAlias") throw storageError(true);
      void args;
    };
    const aliasRecord = record([
      { type: "alias", previousId: "anon-1", userId: "u1", messageId: "al", timestamp: NOW },
    ]);
    const other = record([track("t1")]);
    const outcome = await run(store, aliasRecord, other);
    expect(outcome.failedRecordIds).toEqual([aliasRecord.id]);
    expect(outcome.stats.failedRecords).toBe(1);
    expect(store.event(WS, "t1")).toBeDefined();
  });

  it("an alias re-pointed to another user moves the events the first link gave, whatever came first", async () => {
    const store = new MemoryModelStore();
    const anonymous = {
      type: "track",
      event: "Viewed",
      anonymousId: "anon-1",
      messageId: "e1",
      timestamp: "2024-05-01T00:00:00Z",
    };
    const link = (to: string, timestamp: string) => ({
      type: "alias",
      previousId: "anon-1",
      userId: to,
      messageId: `al-${to}`,
      timestamp,
    });
    await run(store, record([anonymous]));
    await run(store, record([link("u1", "2024-05-02T00:00:00Z")]));
    expect(store.event(WS, "e1")?.user_id).toBe("u1");
    await run(store, record([link("u2", "2024-05-03T00:00:00Z")]));
    expect(store.event(WS, "e1")?.user_id).toBe("u2");
    expect(store.profileOf(WS, "user", "u1")?.lastSeenAt).toBeUndefined();
  });

  it("a deletion another normalizer processed during the batch: what the batch wrote about the user is removed", async () => {
    const store = new MemoryModelStore();
    store.fault = (method) => {
      // The deletion's tombstone lands after this batch read the tombstones, and its sweep ran before the writes.
      if (method === "insertEvents") store.tombstones.add(scopedKey(WS, "u1"));
    };
    const outcome = await run(store, record([identify("u1", { first_name: "Ada" }), track("t1")]));
    expect(outcome.failedRecordIds).toEqual([]);
    expect(store.event(WS, "t1")).toBeUndefined();
    expect(store.profileOf(WS, "user", "u1")).toBeUndefined();
  });
});

describe("normalizeBatch: profiles seen by re-attributed events", () => {
  it("an account that a new membership gives earlier events is seen at their time", async () => {
    const store = new MemoryModelStore();
    await run(store, record([track("t1")]));
    await run(store, record([group("u1", "acc", { timestamp: "2024-04-01T00:00:00Z" })]));
    expect(store.event(WS, "t1")?.account_id).toBe("acc");
    expect(store.profileOf(WS, "account", "acc")?.lastSeenAt).toBe("2024-05-01T12:00:00.000Z");
  });
});

describe("deletion undo stage", () => {
  it("names the anonymous events the batch attributed to a user, for an anonymous id deleted meanwhile", async () => {
    const store = new MemoryModelStore();
    const anonymous = { type: "track", event: "V", anonymousId: "anon-1", messageId: "e1", timestamp: NOW };
    await store.saveAlias(WS, "anon-1", "u1", "2024-05-01T00:00:00.000Z");
    await run(store, record([anonymous]));
    expect(store.event(WS, "e1")).toMatchObject({ user_id: "u1", user_from_alias: true });
    const { ctx, units } = batchOf([anonymous], store);
    const attributed = await attributeAnonymousEvents(ctx, units);
    // Another normalizer deleted the anonymous id after this batch attributed its event: the link is gone.
    store.aliases.delete(scopedKey(WS, "anon-1"));
    store.anonymousTombstones.add(scopedKey(WS, "anon-1"));
    await undoWritesAboutDeletedUsers(ctx, attributed, []);
    expect(store.event(WS, "e1")).toBeUndefined();
  });

  it("runs the deletion again for a user deleted since the batch began, naming the events it wrote", async () => {
    const store = new MemoryModelStore();
    await run(store, record([track("t1")]));
    store.tombstones.add(scopedKey(WS, "u1"));
    const { ctx, units } = batchOf([track("t1")], store);
    await undoWritesAboutDeletedUsers(ctx, units, []);
    const deletion = store.calls.find((c) => c.method === "deleteUser");
    expect(deletion?.args[3]).toEqual({ eventIds: ["t1"] });
    expect(store.event(WS, "t1")).toBeUndefined();
  });

  it("covers anonymous ids too, and leaves live users alone", async () => {
    const store = new MemoryModelStore();
    const anonymous = { type: "track", event: "V", anonymousId: "anon-1", messageId: "e1", timestamp: NOW };
    await run(store, record([anonymous, track("t2", { userId: "u2" })]));
    store.anonymousTombstones.add(scopedKey(WS, "anon-1"));
    const { ctx, units } = batchOf([anonymous, track("t2", { userId: "u2" })], store);
    await undoWritesAboutDeletedUsers(ctx, units, []);
    expect(store.event(WS, "e1")).toBeUndefined();
    expect(store.event(WS, "t2")).toBeDefined();
    expect(store.count("deleteUser")).toBe(0);
  });

  it("a failure, even a permanent one, sends the records back", async () => {
    const store = new MemoryModelStore();
    store.tombstones.add(scopedKey(WS, "u1"));
    store.fault = (method) => {
      if (method === "deleteUser") throw storageError(false);
    };
    const { ctx, units } = batchOf([track("t1")], store);
    await undoWritesAboutDeletedUsers(ctx, units, []);
    expect([...ctx.failed]).toEqual([units[0]?.recordId]);
    expect(ctx.rejects).toEqual([]);
  });
});
