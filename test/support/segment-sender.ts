import { createHmac } from "node:crypto";
import type { Random } from "./seeded-random";

/**
 * A sender that behaves like Segment towards our public endpoints: it delivers calls as signed
 * webhooks (classic single calls, and Actions batches signed on their first element with the
 * source's bearer token) and through the tracking API (single-call routes and their short forms,
 * `/v1/batch`; write key as HTTP Basic or in a text/plain body), and retries every 5xx, 429 and
 * network failure with exponential backoff, as Segment does for hours.
 */

export interface SourceCredentials {
  workspaceId: string;
  sharedSecret: string;
  writeKey: string;
  /** The webhook's bearer token, when the source requires one. */
  bearerToken?: string;
}

/** One HTTP request to make. */
export interface SegmentRequest {
  kind: "webhook-single" | "webhook-batch" | "tracking-single" | "tracking-batch";
  path: string;
  headers: Record<string, string>;
  body: string;
  calls: Record<string, unknown>[];
}

/** Segment's webhook signature: lowercase hex HMAC-SHA1 of the payload, keyed by the shared secret. */
export function segmentSignature(payload: string, secret: string): string {
  return createHmac("sha1", secret).update(payload).digest("hex");
}

const shortForms: Record<string, string> = { identify: "i", track: "t", group: "g", page: "p", screen: "s" };

/**
 * Packs calls, in order, into a seeded mix of requests of every kind: single calls and batches of
 * 2-`maxBatch` calls.
 *
 * @example
 * const requests = segmentRequests(calls, credentials, prng(7));
 */
export function segmentRequests(
  calls: readonly Record<string, unknown>[],
  source: SourceCredentials,
  r: Random,
  maxBatch = 20,
): SegmentRequest[] {
  const requests: SegmentRequest[] = [];
  const bearer: Record<string, string> = source.bearerToken ? { authorization: `Bearer ${source.bearerToken}` } : {};
  const basic = { authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString("base64")}` };
  const webhookPath = r.chance(0.5)
    ? `/v1/webhooks/segment/${source.workspaceId}`
    : `/v1/webhooks/segment/${source.workspaceId}/product`;
  let index = 0;
  while (index < calls.length) {
    const x = r.next();
    if (x < 0.25) {
      const call = calls[index++] as Record<string, unknown>;
      const body = JSON.stringify(call);
      requests.push({
        kind: "webhook-single",
        path: webhookPath,
        headers: {
          "content-type": "application/json",
          "x-signature": segmentSignature(body, source.sharedSecret),
          ...bearer,
        },
        body,
        calls: [call],
      });
    } else if (x < 0.45) {
      const batch = calls.slice(index, index + 2 + r.int(maxBatch - 1));
      index += batch.length;
      const body = JSON.stringify(batch);
      requests.push({
        kind: "webhook-batch",
        path: webhookPath,
        // Segment Actions signs only the first event of a batch; the bearer token covers the rest.
        headers: {
          "content-type": "application/json",
          "x-signature": segmentSignature(JSON.stringify(batch[0]), source.sharedSecret),
          ...bearer,
        },
        body,
        calls: batch,
      });
    } else if (x < 0.65) {
      const call = calls[index++] as Record<string, unknown>;
      const type = call.type as string;
      const route = r.chance(0.5) && shortForms[type] ? shortForms[type] : type;
      requests.push({
        kind: "tracking-single",
        path: `/v1/${route}`,
        headers: { "content-type": "application/json", ...basic },
        body: JSON.stringify(call),
        calls: [call],
      });
    } else {
      const batch = calls.slice(index, index + 2 + r.int(maxBatch - 1));
      index += batch.length;
      const inBody = r.chance(0.3);
      requests.push({
        kind: "tracking-batch",
        path: r.chance(0.5) ? "/v1/batch" : "/v1/b",
        // analytics.js puts the write key in a text/plain body; server libraries use Basic auth.
        headers: inBody ? { "content-type": "text/plain" } : { "content-type": "application/json", ...basic },
        body: JSON.stringify(inBody ? { batch, writeKey: source.writeKey } : { batch }),
        calls: batch,
      });
    }
  }
  return requests;
}

/** What sending took. */
export interface SendReport {
  requests: number;
  /** HTTP attempts in all (first tries and retries). */
  attempts: number;
  /** Attempts answered 5xx or 429, or failed at the network, and tried again. */
  retried: number;
  /** Final answers by status. */
  statuses: Record<number, number>;
  /** Answers of retried attempts by status (`network` for connection failures). */
  retriedStatuses: Record<string, number>;
}

/**
 * Sends requests with `concurrency` in flight, retrying 5xx, 429 and network failures with
 * exponential backoff (base `baseDelayMs`, doubling, with jitter) up to `maxAttempts` tries each.
 * Resolves once every request has a final answer.
 */
export async function sendLikeSegment(
  baseUrl: string,
  requests: readonly SegmentRequest[],
  options: { concurrency?: number; maxAttempts?: number; baseDelayMs?: number } = {},
): Promise<SendReport> {
  const concurrency = options.concurrency ?? 8;
  const maxAttempts = options.maxAttempts ?? 10;
  const baseDelayMs = options.baseDelayMs ?? 25;
  const report: SendReport = { requests: requests.length, attempts: 0, retried: 0, statuses: {}, retriedStatuses: {} };
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++] as SegmentRequest;
      let status = 0;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        report.attempts++;
        let outcome: string;
        try {
          const response = await fetch(`${baseUrl}${request.path}`, {
            method: "POST",
            headers: request.headers,
            body: request.body,
          });
          await response.arrayBuffer();
          status = response.status;
          outcome = String(status);
        } catch {
          status = 0;
          outcome = "network";
        }
        if (status !== 0 && status < 500 && status !== 429) break;
        if (attempt === maxAttempts) break;
        report.retried++;
        report.retriedStatuses[outcome] = (report.retriedStatuses[outcome] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random())));
      }
      report.statuses[status] = (report.statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return report;
}
