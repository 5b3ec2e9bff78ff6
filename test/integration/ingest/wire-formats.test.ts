import { deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestPaths } from "../../../packages/local/src/routes";
import { httpApiCors } from "../../../packages/resources/src/cors";
import { callsOf, drainQueue, type IngestStack, segmentSign, startIngestStack } from "./ingest-stack";

/**
 * What real senders put on the wire, through the real ingest handler behind the local HTTP adapter
 * (which answers CORS as the deployed API Gateway does) onto the real local SQS: compressed bodies
 * and mislabelled content types, webhook limits that fit Segment Actions, Segment's clock-skew
 * correction, and browser preflights.
 */

let stack: IngestStack;
let writeKey: string;
let secret: string;

beforeAll(async () => {
  stack = await startIngestStack();
  ({ writeKey, sharedSecret: secret } = await stack.store.createWorkspace({ id: "wire" }));
});
afterAll(async () => {
  await stack?.close();
});

const queued = () => drainQueue(stack.sqs, stack.config.rawQueueUrl);
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
const webhookUrl = () => `${stack.server.url}/v1/webhooks/segment/wire`;

async function send(path: string, body: Buffer | string, headers: Record<string, string>) {
  const response = await fetch(path.startsWith("http") ? path : `${stack.server.url}${path}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  return { status: response.status, body: (await response.json()) as { code?: string; message?: string } };
}

const track = (i: number, extra: Record<string, unknown> = {}) => ({
  type: "track",
  event: "Report Exported",
  userId: `u${i % 7}`,
  messageId: `wire-${i}`,
  timestamp: "2024-05-01T12:00:00.000Z",
  properties: { rows: i },
  ...extra,
});

describe("Content-Encoding", () => {
  it("takes a gzipped /v1/batch labelled application/x-www-form-urlencoded (rudder-sdk-node's default)", async () => {
    const body = gzipSync(JSON.stringify({ batch: [track(1), track(2)], sentAt: new Date().toISOString() }));
    const answer = await send("/v1/batch", body, {
      "content-type": "application/x-www-form-urlencoded",
      "content-encoding": "gzip",
      authorization: basic(writeKey),
    });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    expect(callsOf(await queued()).map((c) => c.messageId)).toEqual(["wire-1", "wire-2"]);
  });

  it("takes deflate (zlib and raw) on webhooks, the signature checked over the inflated JSON", async () => {
    for (const [label, deflate] of [
      ["zlib", deflateSync],
      ["raw", deflateRawSync],
    ] as const) {
      const json = JSON.stringify([track(10), track(11)]);
      const answer = await send(webhookUrl(), deflate(json), {
        "content-type": "application/json",
        "content-encoding": "deflate",
        "x-signature": segmentSign(json, secret),
      });
      expect([label, answer.status]).toEqual([label, 200]);
    }
    expect(callsOf(await queued())).toHaveLength(4);
  });

  it("refuses a 10 MB gzip bomb with 413 on both routes, and queues nothing", async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.byteLength).toBeLessThan(20_000);
    const tracking = await send("/v1/batch", bomb, {
      "content-type": "application/json",
      "content-encoding": "gzip",
      authorization: basic(writeKey),
    });
    const webhook = await send(webhookUrl(), bomb, {
      "content-type": "application/json",
      "content-encoding": "gzip",
      "x-signature": "0".repeat(40),
    });
    for (const answer of [tracking, webhook]) {
      expect(answer.status).toBe(413);
      expect(answer.body.code).toBe("request.too_large");
      expect(answer.body.message).toMatch(/decompresses to more than/);
    }
    expect(await queued()).toEqual([]);
  });

  it("refuses an unknown coding with 415 and a corrupt body with 400", async () => {
    const json = JSON.stringify({ batch: [track(20)] });
    const brotli = await send("/v1/batch", json, {
      "content-type": "application/json",
      "content-encoding": "br",
      authorization: basic(writeKey),
    });
    expect([brotli.status, brotli.body.code]).toEqual([415, "request.content_encoding_unsupported"]);
    const corrupt = await send("/v1/batch", json, {
      "content-type": "application/json",
      "content-encoding": "gzip",
      authorization: basic(writeKey),
    });
    expect([corrupt.status, corrupt.body.code]).toEqual([400, "request.content_encoding_invalid"]);
    expect(await queued()).toEqual([]);
  });

  it("still refuses a content type no sender uses for JSON", async () => {
    const answer = await send("/v1/track", JSON.stringify(track(30)), {
      "content-type": "multipart/form-data; boundary=x",
      authorization: basic(writeKey),
    });
    expect([answer.status, answer.body.code]).toEqual([415, "request.content_type_unsupported"]);
  });
});

describe("webhook limits fit Segment Actions; the tracking API keeps Segment's", () => {
  // Over-limit webhook bodies (4 MiB, 4,001 events): limits.test.ts.
  it("takes 4,000 events in a webhook batch and still refuses 2,501 on /v1/batch", async () => {
    const small = (n: number) => Array.from({ length: n }, (_, i) => ({ type: "track", event: "E", userId: `u${i}` }));
    const tracking = await send("/v1/batch", JSON.stringify({ batch: small(2501) }), {
      "content-type": "application/json",
      authorization: basic(writeKey),
    });
    expect([tracking.status, tracking.body.code]).toEqual([400, "batch.too_many_events"]);
    expect(await queued()).toEqual([]);

    const atLimit = small(4000);
    const accepted = await send(webhookUrl(), JSON.stringify(atLimit), {
      "content-type": "application/json",
      "x-signature": segmentSign(JSON.stringify(atLimit[0]), secret),
    });
    expect(accepted.status).toBe(200);
    expect(callsOf(await queued())).toHaveLength(4000);
  });
});

describe("clock-skew correction (tracking API only)", () => {
  it("corrects timestamp by receivedAt - sentAt, keeps the sender's as originalTimestamp, sets receivedAt", async () => {
    // A client whose clock runs one hour fast: it says it sent the batch an hour from now.
    const skewMs = 3_600_000;
    const before = Date.now();
    const clientNow = new Date(before + skewMs);
    const body = {
      batch: [
        track(40, {
          timestamp: new Date(clientNow.getTime() - 5000).toISOString(),
          receivedAt: "1999-01-01T00:00:00Z",
        }),
        track(41, { timestamp: undefined }),
      ],
      sentAt: clientNow.toISOString(),
    };
    const answer = await send("/v1/batch", JSON.stringify(body), {
      "content-type": "text/plain",
      authorization: basic(writeKey),
    });
    const after = Date.now();
    expect(answer.status).toBe(200);
    const received = await queued();
    const [first, second] = callsOf(received);
    const receivedAt = Date.parse(String(first?.receivedAt));
    expect(receivedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(receivedAt).toBeLessThanOrEqual(after + 1000);
    expect(first?.receivedAt).toBe(received[0]?.message.receivedAt);
    expect(first?.originalTimestamp).toBe(body.batch[0]?.timestamp);
    // Five seconds before it was sent, by our clock.
    expect(Date.parse(String(first?.timestamp))).toBe(receivedAt - 5000);
    expect(second?.timestamp).toBeUndefined();
    expect(second?.receivedAt).toBe(first?.receivedAt);
  });

  it("leaves webhook deliveries as Segment corrected them", async () => {
    const call = track(50, { sentAt: "2024-05-01T13:00:00.000Z", receivedAt: "2024-05-01T12:00:01.000Z" });
    const json = JSON.stringify(call);
    const answer = await send(webhookUrl(), json, {
      "content-type": "application/json",
      "x-signature": segmentSign(json, secret),
    });
    expect(answer.status).toBe(200);
    expect(callsOf(await queued())).toEqual([call]);
  });
});

describe("CORS (the local adapter answers as the deployed API Gateway)", () => {
  const trackingPaths = ingestPaths.filter((p) => p !== "/v1/webhooks");

  it("answers a browser preflight on every tracking route with the allowed origin, methods, headers and max-age", async () => {
    expect(trackingPaths).toHaveLength(14);
    for (const path of trackingPaths) {
      const response = await fetch(`${stack.server.url}${path}`, {
        method: "OPTIONS",
        headers: {
          origin: "https://www.customer.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type,x-retry-count",
        },
      });
      expect([path, response.status]).toEqual([path, 204]);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      const methods = response.headers.get("access-control-allow-methods")?.split(",") ?? [];
      expect(methods).toEqual(expect.arrayContaining(["POST", "OPTIONS"]));
      const headers = response.headers.get("access-control-allow-headers")?.split(",") ?? [];
      expect(headers).toEqual(expect.arrayContaining(["authorization", "content-type", "x-retry-count"]));
      expect(response.headers.get("access-control-max-age")).toBe(String(httpApiCors.maxAgeSeconds));
    }
  });

  it("puts Access-Control-Allow-Origin on the actual answers, success and error", async () => {
    const origin = { origin: "https://www.customer.example" };
    const ok = await fetch(`${stack.server.url}/v1/t`, {
      method: "POST",
      headers: { ...origin, "content-type": "text/plain", authorization: basic(writeKey) },
      body: JSON.stringify(track(60)),
    });
    const refused = await fetch(`${stack.server.url}/v1/t`, {
      method: "POST",
      headers: { ...origin, "content-type": "text/plain", authorization: basic("wrong") },
      body: JSON.stringify(track(61)),
    });
    expect([ok.status, refused.status]).toEqual([200, 401]);
    for (const response of [ok, refused]) expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(callsOf(await queued()).map((c) => c.messageId)).toEqual(["wire-60"]);
  });
});
