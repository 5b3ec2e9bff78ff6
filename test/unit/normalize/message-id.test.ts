import { describe, expect, it } from "vitest";
import { callContentHash, callMessageId, canonicalJson, normalizeCall } from "../../../packages/core/src/normalize";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";

const meta = { workspaceId: "ws_1", source: "product", receivedAt: "2024-05-01T12:00:05Z" };

describe("messageId", () => {
  it("uses the call's messageId, numbers as strings", () => {
    expect(callMessageId(SegmentCall.parse({ type: "track", userId: "u", event: "E", messageId: 123 }))).toBe("123");
  });

  it("hashes a call without messageId stably, whatever its key order", () => {
    const a = SegmentCall.parse(
      JSON.parse(`{ "type": "track", "userId": "u1", "event": "Signed Up",
        "properties": { "plan": "pro", "seats": 3, "nested": { "b": 1, "a": 2 } }, "timestamp": "2024-05-01T00:00:00Z" }`),
    );
    const b = SegmentCall.parse(
      JSON.parse(`{ "timestamp": "2024-05-01T00:00:00Z", "properties": { "nested": { "a": 2, "b": 1 }, "seats": 3, "plan": "pro" },
        "event": "Signed Up", "userId": "u1", "type": "track" }`),
    );
    const id = callMessageId(a);
    expect(id).toMatch(/^hash-[0-9a-f]{64}$/);
    expect(callMessageId(b)).toBe(id);
    expect(normalizeCall(b, meta).event?.event_id).toBe(id);
  });

  it("gives different calls different hashes", () => {
    const call = { type: "track", userId: "u1", event: "Signed Up" } as const;
    expect(callMessageId(SegmentCall.parse(call))).not.toBe(
      callMessageId(SegmentCall.parse({ ...call, userId: "u2" })),
    );
  });

  it("leaves the writeKey out of the hash", () => {
    const call = { type: "track", userId: "u1", event: "Signed Up" } as const;
    expect(callMessageId(SegmentCall.parse({ ...call, writeKey: "wk_1" }))).toBe(
      callMessageId(SegmentCall.parse(call)),
    );
  });

  it("writes canonical JSON with sorted keys at every level", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], u: undefined })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });

  describe("callContentHash", () => {
    // A sender's call at 00:00:00 by its clock, sent at 00:00:01 and received at 00:00:02; retried
    // ten minutes later by a clock that has jumped 28 s ahead. Ingest corrected each delivery.
    const sent = { type: "track", messageId: "m1", event: "A", originalTimestamp: "2024-05-01T00:00:00.000Z" };
    const first = {
      ...sent,
      timestamp: "2024-05-01T00:00:01.000Z",
      sentAt: "2024-05-01T00:00:01.000Z",
      receivedAt: "2024-05-01T00:00:02.000Z",
    };
    const retry = {
      ...sent,
      timestamp: "2024-04-30T23:59:32.000Z",
      sentAt: "2024-05-01T00:10:30.000Z",
      receivedAt: "2024-05-01T00:10:02.000Z",
    };

    it("is the same for two tracking API deliveries whose skew-corrected timestamps differ", () => {
      expect(retry.timestamp).not.toBe(first.timestamp);
      expect(callContentHash(retry, { tracking: true })).toBe(callContentHash(first, { tracking: true }));
    });

    it("is the same for a call sent uncorrected (no sentAt) by the tracking API and by a webhook", () => {
      const call = { ...sent, timestamp: "2024-05-01T00:00:00Z", receivedAt: "2024-05-01T00:00:02.000Z" };
      expect(callContentHash(call, { tracking: true })).toBe(callContentHash(call));
    });

    it("keeps a webhook's timestamp: two Segment events that differ in it are two calls", () => {
      expect(callContentHash(retry)).not.toBe(callContentHash(first));
    });

    it("leaves out sentAt and receivedAt on a webhook", () => {
      expect(callContentHash({ ...first, receivedAt: "2024-05-02T00:00:00.000Z", sentAt: "x" })).toBe(
        callContentHash(first),
      );
    });
  });
});
