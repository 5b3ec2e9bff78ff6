import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../packages/core/src/errors";
import { eventTime, readTime, toUtcTime } from "../../../packages/core/src/normalize";

const QUEUE_RECEIVED_AT = "2024-05-01T12:00:05.000Z";

describe("readTime", () => {
  it("normalises zoned ISO-8601 times to UTC with milliseconds", () => {
    expect(toUtcTime("2024-05-01T12:00:00Z")).toBe("2024-05-01T12:00:00.000Z");
    expect(toUtcTime("2024-05-01T14:30:00+02:30")).toBe("2024-05-01T12:00:00.000Z");
    expect(toUtcTime("2024-05-01T07:00:00-0500")).toBe("2024-05-01T12:00:00.000Z");
    expect(toUtcTime("2024-05-01T12:00:00.123456Z")).toBe("2024-05-01T12:00:00.123Z");
    expect(toUtcTime("2024-05-01 12:00:00+00:00")).toBe("2024-05-01T12:00:00.000Z");
    expect(toUtcTime("2024-12-31T23:30:00-01:00")).toBe("2025-01-01T00:30:00.000Z");
  });

  it("tells a time without a zone from an unreadable one", () => {
    expect(readTime("2024-05-01T12:00:00")).toEqual({ kind: "no_zone", asUtc: "2024-05-01T12:00:00.000Z" });
    expect(readTime("2024-05-01")).toEqual({ kind: "no_zone", asUtc: "2024-05-01T00:00:00.000Z" });
    expect(readTime("May 1st")).toEqual({ kind: "invalid" });
    expect(readTime("2024-02-30T00:00:00Z")).toEqual({ kind: "invalid" });
    expect(readTime("2024-05-01T25:00:00Z")).toEqual({ kind: "invalid" });
    expect(readTime("1714564800000")).toEqual({ kind: "invalid" });
  });

  it("keeps years below 100 as written (no 19xx guess) and refuses years that overflow four digits", () => {
    expect(toUtcTime("0042-01-01T00:00:00Z")).toBe("0042-01-01T00:00:00.000Z");
    expect(readTime("9999-12-31T23:00:00-05:00")).toEqual({ kind: "invalid" });
  });
});

describe("eventTime", () => {
  it("prefers timestamp, then originalTimestamp, receivedAt and sentAt", () => {
    const call = {
      timestamp: "2024-05-01T10:00:00Z",
      originalTimestamp: "2024-05-01T09:00:00Z",
      receivedAt: "2024-05-01T11:00:00Z",
      sentAt: "2024-05-01T11:30:00Z",
    };
    expect(eventTime(call, QUEUE_RECEIVED_AT)).toEqual({
      time: "2024-05-01T10:00:00.000Z",
      fromDelivery: false,
      problems: [],
    });
    expect(eventTime({ ...call, timestamp: null }, QUEUE_RECEIVED_AT).time).toBe("2024-05-01T09:00:00.000Z");
    expect(eventTime({ receivedAt: call.receivedAt, sentAt: call.sentAt }, QUEUE_RECEIVED_AT).time).toBe(
      "2024-05-01T11:00:00.000Z",
    );
    expect(eventTime({ sentAt: call.sentAt }, QUEUE_RECEIVED_AT)).toEqual({
      time: "2024-05-01T11:30:00.000Z",
      // A retry may carry another sentAt: the pipeline fixes this time at the first receipt.
      fromDelivery: true,
      problems: [],
    });
  });

  it("falls back to the queue's receive time when the call carries none", () => {
    expect(eventTime({}, QUEUE_RECEIVED_AT)).toEqual({ time: QUEUE_RECEIVED_AT, fromDelivery: true, problems: [] });
  });

  it("reads a timestamp without a zone as UTC (time.no_zone) and skips an unreadable one (time.invalid)", () => {
    const zoneless = eventTime({ timestamp: "2024-05-01T10:00:00", sentAt: "2024-05-01T10:00:02Z" }, QUEUE_RECEIVED_AT);
    expect(zoneless.time).toBe("2024-05-01T10:00:00.000Z");
    expect(zoneless.fromDelivery).toBe(false);
    expect(zoneless.problems).toEqual([
      expect.objectContaining({ code: "time.no_zone", field: "timestamp", value: "2024-05-01T10:00:00" }),
    ]);
    const unreadable = eventTime(
      { timestamp: "not a date", originalTimestamp: "2024-05-01T09:00:00Z" },
      QUEUE_RECEIVED_AT,
    );
    expect(unreadable.time).toBe("2024-05-01T09:00:00.000Z");
    expect(unreadable.problems).toEqual([
      expect.objectContaining({ code: "time.invalid", field: "timestamp", value: "not a date" }),
    ]);
  });

  it("orders a time more than 24 h after the receive time by the receive time, recorded as time.future", () => {
    const far = eventTime({ timestamp: "9999-12-31T23:59:59.999Z" }, QUEUE_RECEIVED_AT);
    expect(far).toEqual({
      time: QUEUE_RECEIVED_AT,
      fromDelivery: true,
      problems: [
        expect.objectContaining({ code: "time.future", field: "timestamp", value: "9999-12-31T23:59:59.999Z" }),
      ],
    });
    // Within the tolerance a fast clock still orders the call.
    const fast = eventTime({ timestamp: "2024-05-02T12:00:00Z" }, QUEUE_RECEIVED_AT);
    expect(fast).toEqual({ time: "2024-05-02T12:00:00.000Z", fromDelivery: false, problems: [] });
  });

  it("keeps a time before 2000 for ordering and records it as time.too_old", () => {
    const old = eventTime({ timestamp: "1970-01-01T00:00:00Z" }, QUEUE_RECEIVED_AT);
    expect(old.time).toBe("1970-01-01T00:00:00.000Z");
    expect(old.problems).toEqual([expect.objectContaining({ code: "time.too_old", value: "1970-01-01T00:00:00Z" })]);
  });

  it("refuses a queue receive time that is not a zoned time: that is our own bug", () => {
    expect(() => eventTime({}, "yesterday")).toThrow(ValidationError);
  });
});
