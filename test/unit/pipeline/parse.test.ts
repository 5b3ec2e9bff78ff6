import { describe, expect, it } from "vitest";
import { BatchContext, callKey } from "../../../packages/core/src/pipeline/batch-context";
import { parseRecords } from "../../../packages/core/src/pipeline/stages/parse";
import { MemoryModelStore } from "../../support/memory-store";
import { NOW, record, track, WS } from "./batch";

const parse = (records: { id: string; body: string }[]) => {
  const ctx = new BatchContext(records, new MemoryModelStore(), () => NOW);
  return { ctx, units: parseRecords(records, ctx) };
};

describe("parse stage", () => {
  it("a body that is not a raw message is one record-level message.invalid reject", () => {
    const { ctx, units } = parse([{ id: "r1", body: "{not json" }]);
    expect(units).toEqual([]);
    expect(ctx.rejects).toEqual([
      {
        recordId: "r1",
        call: callKey("r1"),
        reject: expect.objectContaining({ workspaceId: "unknown", messageId: "sqs-r1", code: "message.invalid" }),
      },
    ]);
  });

  it("keeps the workspace of a message that is JSON but not a raw message", () => {
    const { ctx } = parse([{ id: "r1", body: JSON.stringify({ workspaceId: WS, calls: [] }) }]);
    expect(ctx.rejects[0]?.reject.workspaceId).toBe(WS);
  });

  it("a call that breaks the envelope is its own reject; its neighbours become units", () => {
    const rec = record([track("good"), { type: "track", messageId: "bad" }, track("good-2")]);
    const { ctx, units } = parse([rec]);
    expect(units.map((u) => [u.index, u.call.messageId])).toEqual([
      [0, "good"],
      [2, "good-2"],
    ]);
    expect(ctx.rejects.map((r) => [r.call, r.reject.messageId, r.reject.code])).toEqual([
      [callKey(rec.id, 1), "bad", "envelope.invalid"],
    ]);
  });

  it("a call whose id breaks the id rules is refused before it reaches a key", () => {
    const rec = record([track("m1", { userId: "u".repeat(2100) })]);
    const { ctx, units } = parse([rec]);
    expect(units).toEqual([]);
    expect(ctx.rejects.map((r) => [r.call, r.reject.code, r.reject.field])).toEqual([
      [callKey(rec.id, 0), "id.too_long", "userId"],
    ]);
  });

  it("a unit carries its record, index, origin and the raw call", () => {
    const rec = record([track("m1")], { route: "tracking" });
    const { units } = parse([rec]);
    expect(units[0]).toMatchObject({
      recordId: rec.id,
      index: 0,
      origin: { workspaceId: WS, route: "tracking" },
      raw: { messageId: "m1" },
      call: { workspaceId: WS, messageId: "m1", type: "track" },
    });
  });
});
