/** The id a call is stored and deduplicated under (spec 3.2). */
import { createHash } from "node:crypto";
import { type SegmentCall, segmentId } from "../segment/envelope";
import { toUtcTime } from "./time";

/**
 * JSON with object keys sorted at every level, so equal data gives equal text whatever the key order.
 * `undefined` members are dropped as `JSON.stringify` does.
 *
 * @example
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The call's messageId as a string, else `hash-` + the sha256 hex of its canonical JSON. The
 * `writeKey` is left out of the hash: it is a credential, and the same call sent with a rotated key
 * is still the same call.
 *
 * @example
 * callMessageId({ type: "track", messageId: 42, event: "Signed Up" }); // "42"
 * callMessageId({ type: "track", userId: "u1", event: "Signed Up" });  // "hash-3f1c…"
 */
export function callMessageId(call: SegmentCall): string {
  const sent = segmentId(call.messageId);
  if (sent !== undefined) return sent;
  const { writeKey: _writeKey, ...rest } = call as SegmentCall & { writeKey?: unknown };
  return `hash-${createHash("sha256").update(canonicalJson(rest)).digest("hex")}`;
}

/**
 * The sha256 hex of a call's content without what changes from one delivery to the next (`sentAt`,
 * `receivedAt`) and without the `writeKey`: two deliveries of the same call have the same hash, two
 * different calls that share a messageId do not. On the tracking API ingest corrected `timestamp`
 * for clock skew per request (`receivedAt - (sentAt - timestamp)`, clock-skew.ts), so a sender's
 * retry carries another one: the hash takes the sender's own timestamp back out of it
 * (`timestamp - receivedAt + sentAt`), the same for every delivery, and the same as the call's
 * when it came uncorrected (no `sentAt`) or by a webhook. A webhook's `timestamp` is Segment's and
 * stays as it is (two Segment events that share a messageId and differ in it are two calls).
 *
 * @example
 * callContentHash({ type: "track", messageId: "m1", event: "A", sentAt: "…" }) ===
 *   callContentHash({ type: "track", messageId: "m1", event: "A", sentAt: "… later" }); // true
 */
export function callContentHash(call: Record<string, unknown>, options: { tracking?: boolean } = {}): string {
  const { writeKey: _w, sentAt, receivedAt, ...content } = call;
  if (options.tracking === true) {
    const sent = sendersTimestamp(content.timestamp, receivedAt, sentAt);
    if (sent !== undefined) content.timestamp = sent;
  }
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

/** `timestamp - receivedAt + sentAt` as ISO, when all three are zoned times: undoes the skew correction. */
function sendersTimestamp(timestamp: unknown, receivedAt: unknown, sentAt: unknown): string | undefined {
  const [t, r, s] = [timestamp, receivedAt, sentAt].map((v) => {
    const iso = typeof v === "string" ? toUtcTime(v) : undefined;
    return iso === undefined ? Number.NaN : Date.parse(iso);
  }) as [number, number, number];
  const sent = t - r + s;
  // Dates reach ±8.64e15 ms; past that toISOString throws.
  return Number.isFinite(sent) && Math.abs(sent) <= 8.64e15 ? new Date(sent).toISOString() : undefined;
}
