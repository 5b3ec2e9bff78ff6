import { ValidationError } from "../../../core/src/errors";
import { segmentSignature } from "../../../core/src/ingest/signature";
import type { RecordedCall } from "../recorded-calls";

/**
 * What a replay sends: the requests that carry recorded calls the way Segment would, signed
 * (webhooks) or with the write key (the tracking API). Pure: nothing is sent here (send.ts sends).
 */

export type ReplayMode = "webhook" | "direct";

export interface ReplaySettings {
  /** Base URL of the stack, e.g. `http://127.0.0.1:3000`. */
  url: string;
  mode: ReplayMode;
  workspaceId: string;
  sharedSecret?: string;
  writeKey?: string;
  /** Calls per request. 1 sends single calls. */
  batchSize: number;
  /** At most this many calls per second; unlimited when absent. */
  rate?: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Retries of one request after a 5xx, a 429 or a network error. */
  maxRetries: number;
  /** First retry delay; it doubles each retry (with jitter), capped at 30 s. */
  retryBaseMs: number;
}

/** A recorded call and where it came from (for messages). */
export interface SourcedCall {
  call: RecordedCall;
  /** `file.json #3` */
  origin: string;
}

/** One HTTP request of a replay. */
export interface ReplayRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  calls: number;
  /** Origin of its first call. */
  origin: string;
}

/** Paths of the tracking API's single-call routes. */
const trackingTypes = new Set(["identify", "track", "group", "page", "screen", "alias"]);

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * The requests that replay the calls, signed (webhook mode) or authenticated with the write key
 * (direct mode). `delete` calls exist only in webhooks, so direct mode skips them; webhook batches
 * send each `delete` alone, signed on its body, after the batches.
 *
 * @example
 * const { requests } = planRequests(calls, { ...settings, mode: "webhook", batchSize: 1 });
 */
export function planRequests(
  calls: readonly SourcedCall[],
  settings: Pick<ReplaySettings, "url" | "mode" | "workspaceId" | "sharedSecret" | "writeKey" | "batchSize">,
): { requests: ReplayRequest[]; skipped: SourcedCall[] } {
  const base = settings.url.replace(/\/$/, "");
  const common = { "content-type": "application/json", "user-agent": "segment-ingest-replay/1" };
  if (settings.mode === "webhook") {
    const secret = settings.sharedSecret;
    if (!secret) throw new ValidationError("replay.secret_missing", "Webhook mode needs the shared secret (--secret)");
    const url = `${base}/v1/webhooks/segment/${encodeURIComponent(settings.workspaceId)}`;
    // A batch's signature covers only its first call, and ingest accepts a `delete` only where a
    // signature covers it: deletions go on their own, signed on the body (docs/security.md).
    const batched = settings.batchSize === 1 ? calls : calls.filter((c) => c.call.type !== "delete");
    const alone = settings.batchSize === 1 ? [] : calls.filter((c) => c.call.type === "delete").map((c) => [c]);
    const requests = [...chunks(batched, settings.batchSize), ...alone].map((group) => {
      // Batches hold no `delete` (batchSize > 1), so a group led by one is a deletion sent alone.
      const single = settings.batchSize === 1 || group[0]?.call.type === "delete";
      const body = single ? JSON.stringify(group[0]?.call) : JSON.stringify(group.map((c) => c.call));
      // Segment Actions signs only the first event of a batch, re-serialised.
      const signed = single ? body : JSON.stringify(group[0]?.call);
      return {
        url,
        headers: { ...common, "x-signature": segmentSignature(signed, secret) },
        body,
        calls: group.length,
        origin: group[0]?.origin ?? "",
      };
    });
    return { requests, skipped: [] };
  }

  const writeKey = settings.writeKey;
  if (!writeKey) throw new ValidationError("replay.write_key_missing", "Direct mode needs the write key (--write-key)");
  const auth = { ...common, authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` };
  // A recorded call's sentAt is when it was sent back then: the tracking API would read it as clock
  // skew and move the call to now (Segment's correction). A library sets sentAt as it sends; the
  // replay sends none, so recorded times stay as they are.
  const sendable = calls
    .filter((c) => c.call.type !== "delete")
    .map((c) => {
      if (!Object.hasOwn(c.call, "sentAt")) return c;
      const { sentAt: _recorded, ...call } = c.call;
      return { ...c, call };
    });
  const skipped = calls.filter((c) => c.call.type === "delete");
  const requests = chunks(sendable, settings.batchSize).map((group) => {
    const first = group[0] as SourcedCall;
    const type = first.call.type;
    const single = settings.batchSize === 1 && typeof type === "string" && trackingTypes.has(type);
    return {
      url: single ? `${base}/v1/${type}` : `${base}/v1/batch`,
      headers: auth,
      body: single ? JSON.stringify(first.call) : JSON.stringify({ batch: group.map((c) => c.call) }),
      calls: group.length,
      origin: first.origin,
    };
  });
  return { requests, skipped };
}
