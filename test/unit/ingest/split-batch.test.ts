import { describe, expect, it } from "vitest";
import { maxRawMessageBodyBytes } from "../../../packages/core/src/ingest/limits";
import { splitBatch } from "../../../packages/core/src/ingest/split-batch";
import { RawQueueMessage } from "../../../packages/core/src/queue-message";
import { maximumMessageSizeBytes } from "../../../packages/resources/src/definitions";

const meta = {
  workspaceId: "acme",
  source: "product",
  receivedAt: "2024-05-01T12:00:00.000Z",
  requestId: "req-1",
};

/** A track call whose own JSON is about `bytes` long. */
const call = (i: number, bytes = 200) => ({
  type: "track",
  userId: `u${i}`,
  event: "Report Exported",
  messageId: `m-${i}`,
  properties: { pad: "x".repeat(Math.max(0, bytes - 90)) },
});

function parsed(bodies: string[]) {
  return bodies.map((body) => RawQueueMessage.parse(JSON.parse(body)));
}

describe("splitBatch", () => {
  it("puts a small request in one message with the request's metadata", () => {
    const calls = [call(1), call(2)];
    const bodies = splitBatch(calls, meta, maxRawMessageBodyBytes);
    expect(parsed(bodies)).toEqual([{ v: 1, ...meta, calls }]);
  });

  it("leaves room under the queue's maximum message size for the attributes", () => {
    expect(maxRawMessageBodyBytes).toBeLessThan(maximumMessageSizeBytes);
    expect(maximumMessageSizeBytes - maxRawMessageBodyBytes).toBeGreaterThanOrEqual(4 * (11 + 6 + 64));
  });

  it("splits 2,500 events of ~200 bytes into messages each under the limit, every call exactly once, in order", () => {
    const calls = Array.from({ length: 2500 }, (_, i) => call(i));
    const bodies = splitBatch(calls, meta, maxRawMessageBodyBytes);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(maxRawMessageBodyBytes);
    const messages = parsed(bodies);
    expect(messages.flatMap((m) => m.calls)).toEqual(calls);
    for (const m of messages) expect(m).toMatchObject(meta);
  });

  it("packs messages close to the limit (no needless extra messages)", () => {
    const calls = Array.from({ length: 2500 }, (_, i) => call(i, 1000));
    const bodies = splitBatch(calls, meta, maxRawMessageBodyBytes);
    const total = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
    expect(bodies.length).toBe(Math.ceil(total / maxRawMessageBodyBytes));
  });

  it("handles 32 KB events against a small limit: each message holds what fits", () => {
    const calls = Array.from({ length: 20 }, (_, i) => call(i, 32_000));
    const bodies = splitBatch(calls, meta, 100_000);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(100_000);
    expect(parsed(bodies).map((m) => m.calls.length)).toEqual([3, 3, 3, 3, 3, 3, 2]);
  });

  it("lands exactly on the limit when the calls fill it", () => {
    const calls = [call(1), call(2)];
    const exact = Buffer.byteLength(splitBatch(calls, meta, 1_000_000)[0] as string);
    expect(splitBatch(calls, meta, exact)).toHaveLength(1);
    expect(splitBatch(calls, meta, exact - 1)).toHaveLength(2);
  });

  it("escapes characters SQS refuses, keeping their meaning and counting the escaped size", () => {
    const odd = { type: "track", userId: "u1", event: "Emoji 🎉", properties: { bad: "\uFFFE\uFFFF", nul: "\u0000" } };
    const [body] = splitBatch([odd], meta, maxRawMessageBodyBytes);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters SQS allows in a body.
    expect(body).not.toMatch(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/);
    expect(JSON.parse(body as string).calls).toEqual([odd]);
  });

  it("throws when one call cannot fit a message at all", () => {
    expect(() => splitBatch([call(1, 5000)], meta, 1000)).toThrow(/does not fit/);
  });
});
