import { describe, expect, it } from "vitest";
import { callKey, eachLimited, unitKey } from "../../../packages/core/src/pipeline/batch-context";
import { batch, batchOf, record, storageError, track } from "./batch";

describe("BatchContext: the guard every storage step runs under", () => {
  it("a retryable failure sends the step's records back and records nothing else", async () => {
    const { ctx, units } = batch([record([track("a")]), record([track("b")])]);
    expect(await ctx.run(units, "event", () => Promise.reject(storageError(true)))).toBe(false);
    expect([...ctx.failed].sort()).toEqual(units.map((u) => u.recordId).sort());
    expect(ctx.rejects).toEqual([]);
    expect(ctx.suspects.size).toBe(0);
  });

  it("a permanent failure of one call's step becomes that call's reject, named by the step", async () => {
    const { ctx, units } = batchOf([track("a")]);
    await ctx.run(units, "alias", () => Promise.reject(storageError(false)));
    expect(ctx.failed.size).toBe(0);
    expect(ctx.rejects).toEqual([
      {
        recordId: units[0]?.recordId,
        call: unitKey(units[0]!),
        reject: expect.objectContaining({ messageId: "a", code: "storage.rejected", field: "alias", value: null }),
      },
    ]);
  });

  it("a permanent failure of a step several calls shared sets them all aside to run alone", async () => {
    const { ctx, units } = batchOf([track("a"), track("b")]);
    await ctx.run(units, "event", () => Promise.reject(storageError(false)));
    expect([...ctx.suspects.keys()]).toEqual(units.map(unitKey));
    expect(ctx.rejects).toEqual([]);
    expect(ctx.failed.size).toBe(0);
  });

  it("read gives the result, or undefined after handling the failure", async () => {
    const { ctx, units } = batchOf([track("a")]);
    expect(await ctx.read(units, "x", async () => new Map([["k", 1]]))).toEqual(new Map([["k", 1]]));
    expect(await ctx.read(units, "x", () => Promise.reject(storageError(true)))).toBeUndefined();
    expect(ctx.failed.has(units[0]!.recordId)).toBe(true);
  });

  it("orSendBack sends the records back even for a permanent failure", async () => {
    const { ctx, units } = batchOf([track("a")]);
    expect(await ctx.orSendBack(units, () => Promise.reject(storageError(false)))).toBeUndefined();
    expect(ctx.failed.has(units[0]!.recordId)).toBe(true);
    expect(ctx.rejects).toEqual([]);
  });

  it("ownRejects leaves out only the rejects of calls set aside (they write their own when run alone)", async () => {
    const { ctx, units } = batchOf([track("a"), track("b")]);
    const [a, b] = units as [(typeof units)[0], (typeof units)[0]];
    ctx.reject(a, { ...a.call, code: "x", field: "f", message: "m", value: null });
    ctx.reject(b, { ...b.call, code: "x", field: "f", message: "m", value: null });
    ctx.reject(
      { recordId: a.recordId },
      { ...a.call, code: "message.invalid", field: "body", message: "m", value: null },
    );
    ctx.suspects.set(unitKey(a), { recordId: a.recordId, index: a.index, raw: a.raw, origin: a.origin });
    expect(ctx.ownRejects().map((r) => r.call)).toEqual([unitKey(b), callKey(a.recordId)]);
  });
});

describe("eachLimited", () => {
  it("runs every item with at most `limit` in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await eachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      done.push(n);
      inFlight--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });
});
