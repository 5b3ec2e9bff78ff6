import { describe, expect, it } from "vitest";
import { correctClockSkew } from "../../../packages/core/src/sources/tracking-api/clock-skew";

const receivedAt = new Date("2024-05-01T12:00:10.000Z");

describe("correctClockSkew: Segment's timestamp = receivedAt - (sentAt - originalTimestamp)", () => {
  it("moves a fast clock back and a slow one forward, keeping the sender's time as originalTimestamp", () => {
    const fast = correctClockSkew(
      { type: "track", timestamp: "2024-05-01T13:00:05.000Z", sentAt: "2024-05-01T13:00:09.000Z" },
      receivedAt,
    );
    expect(fast).toMatchObject({
      timestamp: "2024-05-01T12:00:06.000Z",
      originalTimestamp: "2024-05-01T13:00:05.000Z",
      receivedAt: "2024-05-01T12:00:10.000Z",
      sentAt: "2024-05-01T13:00:09.000Z",
    });
    const slow = correctClockSkew(
      { type: "track", timestamp: "2024-05-01T11:00:00+00:00", sentAt: "2024-05-01T11:00:08Z" },
      receivedAt,
    );
    expect(slow.timestamp).toBe("2024-05-01T12:00:02.000Z");
  });

  it("keeps an originalTimestamp the call already has", () => {
    const call = correctClockSkew(
      {
        type: "track",
        timestamp: "2024-05-01T12:00:00.000Z",
        originalTimestamp: "2024-05-01T11:59:59.000Z",
        sentAt: "2024-05-01T12:00:05.000Z",
      },
      receivedAt,
    );
    expect(call).toMatchObject({
      timestamp: "2024-05-01T12:00:05.000Z",
      originalTimestamp: "2024-05-01T11:59:59.000Z",
    });
  });

  it("only sets receivedAt (replacing the sender's) when there is no sentAt or no timestamp, or either is not a zoned time", () => {
    for (const fields of [
      { timestamp: "2024-05-01T12:00:00.000Z" },
      { sentAt: "2024-05-01T12:00:00.000Z" },
      { timestamp: "2024-05-01 12:00:00", sentAt: "2024-05-01T12:00:05Z" },
      { timestamp: "2024-05-01T12:00:00Z", sentAt: "yesterday" },
      { timestamp: 1714564800000, sentAt: "2024-05-01T12:00:05Z" },
    ]) {
      const call = { type: "track", receivedAt: "1999-01-01T00:00:00Z", ...fields };
      expect(correctClockSkew(call, receivedAt)).toEqual({ ...call, receivedAt: "2024-05-01T12:00:10.000Z" });
    }
  });

  it("does not change the call it is given", () => {
    const call = { type: "track", timestamp: "2024-05-01T12:00:00.000Z", sentAt: "2024-05-01T12:00:05.000Z" };
    const copy = structuredClone(call);
    correctClockSkew(call, receivedAt);
    expect(call).toEqual(copy);
  });
});
