import { describe, expect, it } from "vitest";
import { normalizeBatch } from "../../../packages/core/src/pipeline/normalize-batch";
import { writeMemberships } from "../../../packages/core/src/pipeline/stages/memberships";
import { recordProblems } from "../../../packages/core/src/pipeline/stages/problems";
import { writeProfiles } from "../../../packages/core/src/pipeline/stages/profiles";
import { MemoryModelStore } from "../../support/memory-store";
import { batchOf, group, identify, NOW, record, track, WS } from "./batch";

const fieldOf = (store: MemoryModelStore, kind: "user" | "account", id: string, field: string) =>
  (store.profileOf(WS, kind, id)?.fields as Record<string, { v: unknown }> | undefined)?.[field]?.v;

describe("profiles stage", () => {
  it("merges every write of the batch into one write per profile, newest value per field", async () => {
    const { ctx, units, store } = batchOf([
      identify("u1", { first_name: "Late" }, { messageId: "a", timestamp: "2024-05-02T00:00:00Z" }),
      identify("u1", { first_name: "Early", last_name: "L" }, { messageId: "b", timestamp: "2024-05-01T00:00:00Z" }),
    ]);
    await writeProfiles(ctx, units);
    expect(fieldOf(store, "user", "u1", "first_name")).toBe("Late");
    expect(fieldOf(store, "user", "u1", "last_name")).toBe("L");
    expect(store.count("saveProfile")).toBe(1);
    expect(ctx.stats.profilesWritten).toBe(1);
  });

  it("an account's bucket is derived from its fields", async () => {
    const { ctx, units, store } = batchOf([group("u1", "acc", { traits: { name: "A", is_trial: true } })]);
    await writeProfiles(ctx, units);
    expect(store.profileOf(WS, "account", "acc")?.bucket).toBe("trial");
  });

  it("a lost race re-reads the profile alone and merges again over the winner's write", async () => {
    const store = new MemoryModelStore();
    const { ctx, units } = batchOf([identify("u1", { first_name: "Mine" })], store);
    let raced = false;
    store.fault = (method) => {
      if (method !== "saveProfile" || raced) return;
      raced = true;
      // Another writer's profile lands between this batch's read and its write.
      const item = store.profileOf(WS, "user", "u1") ?? { version: 0 };
      store.profiles.set(`${WS}\u0000user\u0000u1`, {
        ref: { workspaceId: WS, kind: "user", id: "u1" },
        fields: { last_name: { v: "Theirs", t: "2024-05-01T00:00:00.000Z", m: "other" } },
        version: item.version + 1,
        eventMonths: new Set(),
      });
    };
    await writeProfiles(ctx, units);
    expect(fieldOf(store, "user", "u1", "first_name")).toBe("Mine");
    expect(fieldOf(store, "user", "u1", "last_name")).toBe("Theirs");
    expect(store.count("loadProfiles")).toBe(2);
  });

  it("a call that would make the profile too large is a trait.too_large reject; the others are stored", async () => {
    const traits = (prefix: string) =>
      Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`${prefix}${i}`, "x".repeat(1000)]));
    const { ctx, units, store } = batchOf([
      identify("u1", traits("a"), { messageId: "fits" }),
      identify("u1", traits("b"), { messageId: "big" }),
      identify("u1", { first_name: "Ok" }, { messageId: "ok" }),
    ]);
    await writeProfiles(ctx, units);
    expect(ctx.rejects.map((r) => [r.reject.messageId, r.reject.code])).toEqual([["big", "trait.too_large"]]);
    expect(fieldOf(store, "user", "u1", "first_name")).toBe("Ok");
    expect(fieldOf(store, "user", "u1", "traits.a0")).toBe("x".repeat(1000));
    expect(fieldOf(store, "user", "u1", "traits.b0")).toBeUndefined();
  });

  it("a profile seen for the first time is written even with no fields; a known one without news is not", async () => {
    const store = new MemoryModelStore();
    const first = batchOf([identify("u1")], store);
    await writeProfiles(first.ctx, first.units);
    expect(store.profileOf(WS, "user", "u1")?.version).toBe(1);
    const again = batchOf([identify("u1")], store);
    await writeProfiles(again.ctx, again.units);
    expect(store.count("saveProfile")).toBe(1);
  });
});

describe("profiles stage: the batch's event months ride on the profile write", () => {
  it("a user written anyway takes a missing mark in that write, so the events stage writes it no second time", async () => {
    const store = new MemoryModelStore();
    // May is recorded for u1 by an event naming its account: no mark yet.
    await normalizeBatch([record([track("m1", { properties: { account_id: "acc" } })])], store, () => NOW);
    const touchesBefore = store.count("touchLastSeen");
    // A changed identify and, in the same month, an event naming no account (a marked month).
    const later = [identify("u1", { plan: "pro" }, { messageId: "i-2" }), track("m2")];
    await normalizeBatch([record(later)], store, () => NOW);
    expect(store.profileOf(WS, "user", "u1")?.marks?.months).toEqual(new Set(["2024-05"]));
    expect(store.count("touchLastSeen")).toBe(touchesBefore);
  });
});

describe("memberships stage", () => {
  it("writes each membership once, with the earliest time of the batch", async () => {
    const { ctx, units, store } = batchOf([
      group("u1", "acc", { messageId: "g1", timestamp: "2024-05-03T00:00:00Z" }),
      group("u1", "acc", { messageId: "g2", timestamp: "2024-05-01T00:00:00Z" }),
    ]);
    const { changed } = await writeMemberships(ctx, units);
    expect(changed.map((e) => [e.accountId, e.userId, e.since])).toEqual([["acc", "u1", "2024-05-01T00:00:00.000Z"]]);
    expect(store.count("saveMembership")).toBe(1);
    expect(ctx.stats.membershipsAdded).toBe(1);
  });

  it("a membership stored with the same time is reported as repeated, not written; an earlier one is written", async () => {
    const store = new MemoryModelStore();
    await store.saveMembership({ workspaceId: WS, accountId: "acc", userId: "u1", since: "2024-05-01T00:00:00.000Z" });
    await store.saveMembership({ workspaceId: WS, accountId: "acc2", userId: "u1", since: "2024-05-09T00:00:00.000Z" });
    const { ctx, units } = batchOf(
      [
        group("u1", "acc", { timestamp: "2024-05-01T00:00:00Z" }),
        group("u1", "acc2", { timestamp: "2024-05-02T00:00:00Z" }),
      ],
      store,
    );
    const { changed, repeated } = await writeMemberships(ctx, units);
    expect(repeated.map((e) => e.accountId)).toEqual(["acc"]);
    expect(changed.map((e) => [e.accountId, e.since])).toEqual([["acc2", "2024-05-02T00:00:00.000Z"]]);
  });

  it("an identify's company trait is a membership", async () => {
    const { ctx, units } = batchOf([identify("u1", { company: { id: "acc" } })]);
    const { changed } = await writeMemberships(ctx, units);
    expect(changed.map((e) => e.accountId)).toEqual(["acc"]);
  });
});

describe("problems stage", () => {
  it("records each problem of a call as a reject tied to its user", () => {
    const { ctx, units } = batchOf([identify("u1", { address: { city: "X" } }, { messageId: "m1" })]);
    recordProblems(ctx, units);
    expect(ctx.rejects.map((r) => [r.reject.messageId, r.reject.code, r.reject.field, r.reject.userId])).toEqual([
      ["m1", "trait.nested_object", "traits.address", "u1"],
    ]);
  });
});
