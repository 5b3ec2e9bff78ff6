/** The event time of a call (spec 3.1): the time last-write-wins orders by. */
import { ValidationError } from "../errors";
import type { SegmentCall } from "../segment/envelope";
import type { Problem } from "./problem";
import { readTime, toUtcTime } from "./time";

// Segment's own order of preference: when it happened, then when Segment or we saw it.
const CANDIDATES = ["timestamp", "originalTimestamp", "receivedAt", "sentAt"] as const;

/**
 * How far past our receive time an event time may be and still order the call: client clocks run
 * a little fast, and time zones were got wrong by a day; a year-9999 stamp must not win for ever.
 */
export const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;
/** Event and profile times before this are accepted but recorded as `time.too_old`. */
export const OLDEST_PLAUSIBLE_TIME = "2000-01-01T00:00:00.000Z";

/** The outcome of {@link eventTime}. */
export interface EventTime {
  /** The ordering time, ISO UTC with milliseconds. */
  time: string;
  /**
   * True when the time depends on the delivery rather than the call's own clock: it is the queue
   * message's receive time (no usable timestamp, or one too far in the future) or the call's
   * `sentAt` (which a retry may change). The pipeline fixes such a time at the call's first receipt.
   */
  fromDelivery: boolean;
  problems: Problem[];
}

/**
 * Picks the event time: `timestamp`, else `originalTimestamp`, `receivedAt`, `sentAt`, else the time
 * the queue message was received. An unreadable candidate is skipped (`time.invalid`); one without a
 * zone is read as UTC (`time.no_zone`). A time more than {@link FUTURE_TOLERANCE_MS} after the
 * receive time (the call's own `receivedAt` when earlier than the queue message's, else the queue
 * message's) is replaced by the receive time (`time.future`, with the value sent); one before
 * {@link OLDEST_PLAUSIBLE_TIME} still orders the call (`time.too_old`). A bad clock never blocks a call.
 *
 * @throws ValidationError `time.received_at_invalid` when `queueReceivedAt` is not a zoned time:
 *   it is set by our own ingest, so a bad one is a bug, not customer data.
 * @example
 * eventTime({ type: "track", timestamp: "2024-05-01 12:00:00" }, "2024-05-01T12:00:05Z");
 * // { time: "2024-05-01T12:00:00.000Z", fromDelivery: false, problems: [{ code: "time.no_zone", … }] }
 */
export function eventTime(
  call: Pick<SegmentCall, (typeof CANDIDATES)[number]>,
  queueReceivedAt: string,
  options: { tracking?: boolean } = {},
): EventTime {
  const queued = queueTime(queueReceivedAt);
  const tracking = options.tracking === true;
  // Segment's own receivedAt (the same on every retry of a webhook) is the receive time when it is
  // earlier than ours; a later one is not trusted, or a client could lift the bound with it. On
  // the tracking API the call's receivedAt is ours, set per request: it is the delivery's time.
  const own = !tracking && typeof call.receivedAt === "string" ? toUtcTime(call.receivedAt) : undefined;
  const received = own !== undefined && own < queued ? own : queued;
  // On the tracking API ingest corrected `timestamp` by this request's `receivedAt - sentAt`
  // (clock-skew.ts), so with a `sentAt` it depends on the delivery too.
  const deliveryDependent = (key: (typeof CANDIDATES)[number]) =>
    key === "sentAt" || (tracking && key === "timestamp" && call.sentAt !== undefined && call.sentAt !== null);
  const problems: Problem[] = [];
  for (const key of CANDIDATES) {
    if (tracking && key === "receivedAt") continue;
    const raw = call[key];
    if (raw === undefined || raw === null || raw === "") continue;
    const reading = typeof raw === "string" ? readTime(raw) : ({ kind: "invalid" } as const);
    if (reading.kind === "invalid") {
      problems.push({
        code: "time.invalid",
        field: key,
        message: `${key} is not an ISO-8601 time; the next candidate was used`,
        value: raw,
      });
      continue;
    }
    let time: string;
    if (reading.kind === "no_zone") {
      time = reading.asUtc;
      problems.push({
        code: "time.no_zone",
        field: key,
        message: `${key} has no zone; it was read as UTC`,
        value: raw,
      });
    } else time = reading.iso;
    if (Date.parse(time) - Date.parse(received) > FUTURE_TOLERANCE_MS) {
      problems.push({
        code: "time.future",
        field: key,
        message: `${key} is more than 24 h after the call was received; the receive time orders it`,
        value: raw,
      });
      return { time: received, fromDelivery: received !== own, problems };
    }
    if (time < OLDEST_PLAUSIBLE_TIME) {
      problems.push({ code: "time.too_old", field: key, message: `${key} is before 2000`, value: raw });
    }
    return { time, fromDelivery: deliveryDependent(key), problems };
  }
  return { time: queued, fromDelivery: true, problems };
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
