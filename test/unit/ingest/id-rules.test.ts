import { describe, expect, it } from "vitest";
import { callIdProblems, maxIdBytes, readIdValue } from "../../../packages/core/src/ids";
import { admitCalls, trackingOrigin, webhookOrigin } from "../../../packages/core/src/ingest/call-admission";
import { segmentSignature, segmentSignatureCoverage } from "../../../packages/core/src/ingest/signature";
import { normalizeCall } from "../../../packages/core/src/normalize/call";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";

describe("the id rules (ids.ts)", () => {
  it("trims ids, and a blank one is absent", () => {
    expect(readIdValue(" u1 ")).toEqual({ kind: "ok", id: "u1" });
    expect(readIdValue("\t\n u1\u00a0")).toEqual({ kind: "ok", id: "u1" });
    expect(readIdValue(42)).toEqual({ kind: "ok", id: "42" });
    for (const blank of ["", "   ", "\t\n", undefined, null]) expect(readIdValue(blank)).toEqual({ kind: "absent" });
    expect(readIdValue({ id: 1 })).toEqual({ kind: "wrong_type" });
  });

  it("counts the limit in bytes of UTF-8, not characters", () => {
    expect(maxIdBytes).toBe(512);
    expect(readIdValue("a".repeat(512)).kind).toBe("ok");
    expect(readIdValue("a".repeat(513))).toMatchObject({ kind: "refused", code: "id.too_long" });
    expect(readIdValue("é".repeat(256)).kind).toBe("ok");
    expect(readIdValue("é".repeat(257))).toMatchObject({ kind: "refused", code: "id.too_long" });
    // Astral characters are 4 bytes (2 UTF-16 units): 128 of them fit.
    expect(readIdValue("😀".repeat(128)).kind).toBe("ok");
    expect(readIdValue("😀".repeat(129))).toMatchObject({ code: "id.too_long" });
  });

  it("refuses lone surrogates, high or low, anywhere; a surrogate pair is fine", () => {
    for (const id of ["s\ud800", "\ud800s", "s\udc00", "a\udc00\ud800b", "\udbff"]) {
      expect(readIdValue(id), JSON.stringify(id)).toMatchObject({ kind: "refused", code: "id.malformed" });
    }
    expect(readIdValue("s\ud83d\ude00")).toEqual({ kind: "ok", id: "s😀" });
  });

  it("lists every id of a call that can reach a key, own properties only", () => {
    const long = "x".repeat(600);
    expect(callIdProblems({ type: "track", event: "E", userId: "u1", context: { group_id: long } })).toEqual([
      {
        code: "id.too_long",
        field: "context.group_id",
        message: "context.group_id is 600 bytes of UTF-8; an id is at most 512",
      },
    ]);
    expect(
      callIdProblems({ type: "identify", userId: "u1", traits: { company: { id: long }, account_id: 7 } }),
    ).toEqual([expect.objectContaining({ field: "traits.company.id" })]);
    // A group's traits.account_id is a custom trait, not an id; a track's traits are not read for ids either.
    expect(callIdProblems({ type: "group", groupId: "g", traits: { account_id: long } })).toEqual([]);
    expect(callIdProblems({ type: "track", event: "E", userId: "u", traits: { companyId: long } })).toEqual([]);
    expect(callIdProblems(JSON.parse(`{"__proto__":{"userId":"${long}"},"type":"track","event":"E"}`))).toEqual([]);
  });

  it("the normalizer reads ids trimmed: ' u ' is user u, and a blank userId is no user", () => {
    const meta = { workspaceId: "w", source: "product", receivedAt: "2024-05-01T00:00:00.000Z" };
    const call = (c: Record<string, unknown>) => normalizeCall(SegmentCall.parse(c), meta);
    expect(call({ type: "identify", userId: " u ", traits: { name: "U" } }).profiles[0]?.id).toBe("u");
    expect(call({ type: "track", event: "E", userId: "  ", anonymousId: " a " }).event).toMatchObject({
      user_id: null,
      anonymous_id: "a",
    });
    expect(SegmentCall.safeParse({ type: "track", event: "E", userId: "   " }).success).toBe(false);
    expect(SegmentCall.safeParse({ type: "delete", userId: " \t" }).success).toBe(false);
  });
});

describe("per-call admission at ingest", () => {
  const track = (i: number, extra: Record<string, unknown> = {}) => ({
    type: "track",
    event: "E",
    userId: `u${i}`,
    ...extra,
  });

  it("refuses a delete from the tracking API, alone", () => {
    const calls = [track(0), { type: "delete", userId: "victim" }, track(2)];
    const { admitted, refused } = admitCalls(calls, trackingOrigin, false);
    expect(admitted).toEqual([track(0), track(2)]);
    expect(refused).toEqual([{ index: 1, code: "delete.not_allowed", message: expect.stringMatching(/write key/) }]);
  });

  it("webhooks: a delete is signed when the body is, or first in a batch signed on it, or with a bearer token", () => {
    const calls = [{ type: "delete", userId: "a" }, track(1), { type: "delete", userId: "b" }];
    expect(admitCalls(calls, webhookOrigin("body", false), false).refused).toEqual([]);
    expect(admitCalls(calls, webhookOrigin("first_element", true), false).refused).toEqual([]);
    expect(admitCalls(calls, webhookOrigin("first_element", false), false).refused).toEqual([
      expect.objectContaining({ index: 2, code: "delete.not_allowed" }),
    ]);
  });

  it("a request with nothing left is refused: one call's own code, or the shared code, or batch.refused", () => {
    const long = "x".repeat(513);
    expect(() => admitCalls([track(0, { userId: long })], trackingOrigin, true)).toThrowError(
      expect.objectContaining({ code: "id.too_long" }),
    );
    expect(() =>
      admitCalls([track(0, { userId: long }), track(1, { messageId: long })], trackingOrigin, false),
    ).toThrowError(expect.objectContaining({ code: "id.too_long" }));
    expect(() =>
      admitCalls([track(0, { userId: long }), { type: "delete", userId: "v" }], trackingOrigin, false),
    ).toThrowError(expect.objectContaining({ code: "batch.refused" }));
  });

  it("the signature says what it covers", () => {
    const calls = [track(0), { type: "delete", userId: "v" }];
    const body = JSON.stringify(calls);
    expect(segmentSignatureCoverage(body, segmentSignature(body, "s"), ["s"])).toBe("body");
    expect(segmentSignatureCoverage(body, segmentSignature(JSON.stringify(calls[0]), "s"), ["s"])).toBe(
      "first_element",
    );
    expect(segmentSignatureCoverage(body, segmentSignature("other", "s"), ["s"])).toBeUndefined();
  });
});
