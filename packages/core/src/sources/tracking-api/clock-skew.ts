import type { QueuedCall } from "../../ingest/calls";
import { toUtcTime } from "../../normalize/time";

function instant(value: unknown): number | undefined {
  const iso = typeof value === "string" ? toUtcTime(value) : undefined;
  return iso === undefined ? undefined : Date.parse(iso);
}

/**
 * A tracking API call as Segment's own servers record it (spec 3.1): `receivedAt` is the time we
 * received the request (whatever the sender put there), and when the call carries `sentAt`, its
 * `timestamp` is corrected for the sender's clock skew,
 * `timestamp = receivedAt - (sentAt - originalTimestamp)`, with the sender's own `timestamp`
 * kept as `originalTimestamp` (unless the call already has one). A `timestamp` or `sentAt` that is
 * not a zoned ISO-8601 time is left as it is: normalize records it as a data-quality problem.
 * Webhook deliveries are never passed here: Segment has already done this to them.
 *
 * @example
 * correctClockSkew(
 *   { type: "track", timestamp: "2024-05-01T12:00:00.000Z", sentAt: "2024-05-01T12:00:05.000Z" },
 *   new Date("2024-05-01T12:00:01.000Z"),
 * ); // timestamp "2024-05-01T11:59:56.000Z", originalTimestamp "2024-05-01T12:00:00.000Z", receivedAt "2024-05-01T12:00:01.000Z"
 */
export function correctClockSkew(call: QueuedCall, receivedAt: Date): QueuedCall {
  const corrected: QueuedCall = { ...call, receivedAt: receivedAt.toISOString() };
  const sentAt = instant(call.sentAt);
  const timestamp = instant(call.timestamp);
  if (sentAt === undefined || timestamp === undefined) return corrected;
  const time = new Date(receivedAt.getTime() - (sentAt - timestamp));
  if (!Number.isFinite(time.getTime()) || !/^\d{4}-/.test(time.toISOString())) return corrected;
  corrected.timestamp = time.toISOString();
  if (call.originalTimestamp === undefined) corrected.originalTimestamp = call.timestamp;
  return corrected;
}
