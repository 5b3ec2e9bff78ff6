import { describe, expect, it } from "vitest";
import { LimitError, ValidationError } from "../../../packages/core/src/errors";
import { httpStatusOf } from "../../../packages/core/src/http/status";
import { checkRequestSize } from "../../../packages/core/src/ingest/body";
import { checkCalls } from "../../../packages/core/src/ingest/calls";

/** A track call whose JSON is exactly `bytes` bytes long. */
function eventOfBytes(bytes: number, index = 0) {
  const base = { type: "track", userId: `u${index}`, event: "Padded", properties: { pad: "" } };
  const overhead = JSON.stringify(base).length;
  return { ...base, properties: { pad: "x".repeat(bytes - overhead) } };
}

const track = (i: number) => ({ type: "track", userId: `u${i}`, event: "Signed Up", messageId: `m${i}` });

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("per-event limit: 32 KB (32,768 bytes of JSON)", () => {
  it("accepts an event of exactly 32,768 bytes", () => {
    const event = eventOfBytes(32 * 1024);
    expect(JSON.stringify(event).length).toBe(32_768);
    expect(checkCalls([event])).toHaveLength(1);
  });

  it("refuses an event of 32,769 bytes with 400 event.too_large, naming the limit and the event", () => {
    const error = thrown(() => checkCalls([track(0), eventOfBytes(32 * 1024 + 1, 1)]));
    expect(error).toBeInstanceOf(LimitError);
    expect(error).toMatchObject({ code: "event.too_large" });
    expect(httpStatusOf(error)).toBe(400);
    expect((error as Error).message).toContain("32 KB");
    expect((error as LimitError).details?.problems).toEqual([{ index: 1, message: expect.stringContaining("32769") }]);
  });

  it("measures multi-byte characters in UTF-8 bytes, not characters", () => {
    const event = eventOfBytes(32 * 1024 - 100);
    event.properties.pad += "é".repeat(60); // 60 characters, 120 bytes
    expect(() => checkCalls([event])).toThrow(/32 KB/);
  });
});

describe("per-request limit: 500 KB", () => {
  it("accepts 512,000 bytes and refuses 512,001 with 413 request.too_large", () => {
    expect(() => checkRequestSize(new Uint8Array(500 * 1024))).not.toThrow();
    const error = thrown(() => checkRequestSize(new Uint8Array(500 * 1024 + 1)));
    expect(error).toMatchObject({ code: "request.too_large" });
    expect(httpStatusOf(error)).toBe(413);
    expect((error as Error).message).toContain("500 KB");
  });
});

describe("per-batch limit: 2,500 events", () => {
  it("accepts 2,500 events", () => {
    const calls = Array.from({ length: 2500 }, (_, i) => track(i));
    expect(checkCalls(calls)).toHaveLength(2500);
  });

  it("refuses 2,501 events with 400 batch.too_many_events", () => {
    const error = thrown(() => checkCalls(Array.from({ length: 2501 }, (_, i) => track(i))));
    expect(error).toMatchObject({ code: "batch.too_many_events" });
    expect(httpStatusOf(error)).toBe(400);
    expect((error as Error).message).toContain("2500");
  });

  it("refuses an empty batch with 400 batch.empty", () => {
    const error = thrown(() => checkCalls([]));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: "batch.empty" });
    expect(httpStatusOf(error)).toBe(400);
  });
});
