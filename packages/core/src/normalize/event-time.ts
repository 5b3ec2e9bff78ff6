/** The event time of a call (spec 3.1): the time last-write-wins orders by. */
import { ValidationError } from "../errors";
import type { SegmentCall } from "../segment/envelope";
import type { Problem } from "./problem";
import { readTime, toUtcTime } from "./time";

// Segment's own order of preference: when it happened, then when Segment or we saw it.
const CANDIDATES = ["timestamp", "originalTimestamp", "receivedAt", "sentAt"] as const;

/**
 * Picks the event time: `timestamp`, else `originalTimestamp`, `receivedAt`, `sentAt`, else the time
 * the queue message was received. A candidate without a zone or unreadable is skipped and recorded
 * as a `time.invalid` problem on `timestamp`, so a bad clock never blocks the call.
 *
 * @throws ValidationError `time.received_at_invalid` when `queueReceivedAt` is not a zoned time:
 *   it is set by our own ingest, so a bad one is a bug, not customer data.
 * @example
 * eventTime({ type: "track", timestamp: "2024-05-01 12:00:00", sentAt: "2024-05-01T12:00:01Z" }, now);
 * // { time: "2024-05-01T12:00:01.000Z", problems: [{ code: "time.invalid", field: "timestamp", … }] }
 */
export function eventTime(
  call: Pick<SegmentCall, (typeof CANDIDATES)[number]>,
  queueReceivedAt: string,
): { time: string; problems: Problem[] } {
  const problems: Problem[] = [];
  for (const key of CANDIDATES) {
    const raw = call[key];
    if (raw === undefined || raw === null || raw === "") continue;
    const iso = typeof raw === "string" ? toUtcTime(raw) : undefined;
    if (iso !== undefined) return { time: iso, problems };
    problems.push({ code: "time.invalid", field: "timestamp", message: timeMessage(key, raw), value: raw });
  }
  return { time: queueTime(queueReceivedAt), problems };
}

/**
 * The queue message's receive time in UTC.
 *
 * @throws ValidationError `time.received_at_invalid` when it is not a zoned ISO-8601 time.
 */
export function queueTime(receivedAt: string): string {
  const iso = toUtcTime(receivedAt);
  if (iso === undefined) {
    throw new ValidationError("time.received_at_invalid", "queue message receivedAt is not a zoned ISO-8601 time", {
      details: { receivedAt },
    });
  }
  return iso;
}

function timeMessage(key: string, raw: unknown): string {
  const reason =
    typeof raw === "string" && readTime(raw).kind === "no_zone" ? "has no zone" : "is not an ISO-8601 time";
  return `${key} ${reason}; the next candidate was used`;
}
