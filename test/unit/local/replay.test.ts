import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { segmentSignatureCoverage, verifySegmentSignature } from "../../../packages/core/src/ingest/signature";
import { duplicateMessageIds, parseRecordedCalls } from "../../../packages/local/src/recorded-calls";
import { planRequests, type ReplayRequest, type SourcedCall } from "../../../packages/local/src/replay/plan";
import { progressDisplay } from "../../../packages/local/src/replay/progress";
import { sendRequests } from "../../../packages/local/src/replay/send";
import { formatSummary } from "../../../packages/local/src/replay/summary";

const track = (i: number) => ({ type: "track", event: "Report Exported", userId: `u${i}`, messageId: `m${i}` });
const sourced = (calls: Record<string, unknown>[]): SourcedCall[] =>
  calls.map((call, i) => ({ call, origin: `f.json #${i + 1}` }));

describe("parseRecordedCalls", () => {
  it("reads a JSON array, a single call, JSON lines and a batch body", () => {
    expect(parseRecordedCalls(JSON.stringify([track(1), track(2)]), "a.json")).toEqual([track(1), track(2)]);
    expect(parseRecordedCalls(JSON.stringify(track(1)), "one.json")).toEqual([track(1)]);
    expect(parseRecordedCalls(`${JSON.stringify(track(1))}\n\n${JSON.stringify(track(2))}\r\n`, "l.jsonl")).toEqual([
      track(1),
      track(2),
    ]);
    expect(parseRecordedCalls("\uFEFF  ", "empty.json")).toEqual([]);
  });

  it("gives batch calls the batch's context, integrations and sentAt unless they have their own, and drops write keys", () => {
    const body = {
      writeKey: "wk",
      sentAt: "2024-05-01T00:00:01.000Z",
      context: { library: { name: "analytics-node" } },
      batch: [track(1), { ...track(2), context: { ip: "1.2.3.4" }, writeKey: "leak" }],
    };
    expect(parseRecordedCalls(JSON.stringify(body), "b.json")).toEqual([
      { ...track(1), sentAt: body.sentAt, context: body.context },
      { ...track(2), sentAt: body.sentAt, context: { ip: "1.2.3.4" } },
    ]);
    // JSON lines of batches, as an export of request bodies would be.
    const lines = `${JSON.stringify({ batch: [track(1)] })}\n${JSON.stringify({ batch: [track(2), track(3)] })}`;
    expect(parseRecordedCalls(lines, "x.jsonl").map((c) => c.messageId)).toEqual(["m1", "m2", "m3"]);
  });

  it("names the file and line of what is not a call", () => {
    expect(() => parseRecordedCalls(`${JSON.stringify(track(1))}\n{oops`, "bad.jsonl")).toThrow(
      /bad\.jsonl:2: not JSON/,
    );
    expect(() => parseRecordedCalls("[1, 2]", "n.json")).toThrow(/n\.json: item 0 is not a JSON object/);
    expect(() => parseRecordedCalls('{"batch": 3}', "b.json")).toThrow(/"batch" is not an array/);
  });

  it("counts calls that repeat an earlier messageId", () => {
    expect(duplicateMessageIds([track(1), track(2), track(1), track(1), { type: "track" }])).toBe(2);
  });
});

describe("planRequests", () => {
  const calls = sourced([track(1), track(2), track(3), { type: "delete", userId: "u9", messageId: "d1" }]);

  it("signs each single webhook call over its exact body", () => {
    const { requests } = planRequests(calls, {
      url: "http://127.0.0.1:3000/",
      mode: "webhook",
      workspaceId: "dev",
      sharedSecret: "s3cret",
      batchSize: 1,
    });
    expect(requests).toHaveLength(4);
    for (const [i, request] of requests.entries()) {
      expect(request.url).toBe("http://127.0.0.1:3000/v1/webhooks/segment/dev");
      expect(JSON.parse(request.body)).toEqual(calls[i]?.call);
      expect(request.headers["x-signature"]).toMatch(/^[0-9a-f]{40}$/);
      expect(verifySegmentSignature(request.body, request.headers["x-signature"], ["s3cret"])).toBe(true);
      expect(verifySegmentSignature(request.body, request.headers["x-signature"], ["other"])).toBe(false);
    }
  });

  it("signs a webhook batch like Segment Actions: JSON.stringify(body[0]) of a JSON array", () => {
    const { requests } = planRequests(calls, {
      url: "http://h",
      mode: "webhook",
      workspaceId: "acme",
      sharedSecret: "s3cret",
      batchSize: 3,
    });
    expect(requests.map((r) => r.calls)).toEqual([3, 1]);
    const first = requests[0] as ReplayRequest;
    expect(JSON.parse(first.body)).toEqual([track(1), track(2), track(3)]);
    expect(first.headers["x-signature"]).toBe(
      planRequests(sourced([track(1)]), {
        url: "http://h",
        mode: "webhook",
        workspaceId: "acme",
        sharedSecret: "s3cret",
        batchSize: 1,
      }).requests[0]?.headers["x-signature"],
    );
    expect(verifySegmentSignature(first.body, first.headers["x-signature"], ["s3cret"])).toBe(true);
    // A delete goes alone, signed on its body: ingest takes a delete only where a signature covers it.
    const deletion = requests[1] as ReplayRequest;
    expect(JSON.parse(deletion.body)).toEqual({ type: "delete", userId: "u9", messageId: "d1" });
    expect(segmentSignatureCoverage(deletion.body, deletion.headers["x-signature"], ["s3cret"])).toBe("body");
  });

  it("sends direct calls to /v1/<type> or /v1/batch with HTTP Basic write-key auth, skipping deletes", () => {
    const single = planRequests(calls, {
      url: "http://h",
      mode: "direct",
      workspaceId: "dev",
      writeKey: "wk1",
      batchSize: 1,
    });
    expect(single.requests.map((r) => r.url)).toEqual(["http://h/v1/track", "http://h/v1/track", "http://h/v1/track"]);
    expect(single.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("wk1:").toString("base64")}`);
    expect(single.skipped.map((c) => c.call.type)).toEqual(["delete"]);

    const batched = planRequests(calls, {
      url: "http://h",
      mode: "direct",
      workspaceId: "dev",
      writeKey: "wk1",
      batchSize: 2,
    });
    expect(batched.requests.map((r) => [r.url, r.calls])).toEqual([
      ["http://h/v1/batch", 2],
      ["http://h/v1/batch", 1],
    ]);
    expect(JSON.parse(batched.requests[0]?.body ?? "")).toEqual({ batch: [track(1), track(2)] });
  });

  it("sends recorded calls to the tracking API without their recorded sentAt, so clock-skew correction keeps their times", () => {
    const recorded = { ...track(1), timestamp: "2024-05-01T12:00:00.000Z", sentAt: "2024-05-01T12:00:01.000Z" };
    const { requests } = planRequests(sourced([recorded]), {
      url: "http://h",
      mode: "direct",
      workspaceId: "dev",
      writeKey: "wk1",
      batchSize: 1,
    });
    const { sentAt: _dropped, ...rest } = recorded;
    expect(JSON.parse(requests[0]?.body ?? "")).toEqual(rest);
    const webhook = planRequests(sourced([recorded]), {
      url: "http://h",
      mode: "webhook",
      workspaceId: "dev",
      sharedSecret: "s",
      batchSize: 1,
    });
    expect(JSON.parse(webhook.requests[0]?.body ?? "")).toEqual(recorded);
  });

  it("needs the credential of its mode", () => {
    expect(() => planRequests(calls, { url: "http://h", mode: "webhook", workspaceId: "dev", batchSize: 1 })).toThrow(
      /shared secret/,
    );
    expect(() => planRequests(calls, { url: "http://h", mode: "direct", workspaceId: "dev", batchSize: 1 })).toThrow(
      /write key/,
    );
  });
});

describe("sendRequests", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A server answering each request with the next of `answers` (then 200). */
  async function serve(answers: { status: number; body?: unknown; headers?: Record<string, string> }[]) {
    const seen: { path: string; body: string }[] = [];
    const listening = createServer((request: IncomingMessage, response) => {
      let body = "";
      request.on("data", (c: Buffer) => {
        body += c.toString();
      });
      request.on("end", () => {
        seen.push({ path: request.url ?? "", body });
        const answer = answers.shift() ?? { status: 200, body: { success: true } };
        response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        response.end(JSON.stringify(answer.body ?? {}));
      });
    });
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, seen };
  }

  const request = (url: string, calls = 1, origin = "f.json #1"): ReplayRequest => ({
    url: `${url}/v1/track`,
    headers: { "content-type": "application/json" },
    body: "{}",
    calls,
    origin,
  });
  const settings = { concurrency: 1, maxRetries: 3, retryBaseMs: 1 };

  it("retries 5xx and 429 with backoff, and counts 4xx answers as rejected by code", async () => {
    const { url, seen } = await serve([
      { status: 503, body: { code: "queue.unavailable", message: "SQS is down" } },
      { status: 429, body: {}, headers: { "retry-after": "0" } },
      { status: 200, body: { success: true } },
      { status: 400, body: { code: "envelope.invalid", message: "track call needs an event name" } },
      { status: 401, body: { code: "segment.signature_invalid", message: "X-Signature does not match" } },
    ]);
    const outcome = await sendRequests([request(url, 2), request(url, 3, "g.json #4"), request(url)], settings);
    expect(seen).toHaveLength(5);
    expect(outcome).toMatchObject({
      sentCalls: 6,
      sentRequests: 3,
      acceptedCalls: 2,
      rejectedCalls: 4,
      retries: 2,
      rejectedByCode: {
        "envelope.invalid": { calls: 3, requests: 1, example: "g.json #4: track call needs an event name" },
        "segment.signature_invalid": { calls: 1, requests: 1 },
      },
    });
  });

  it("counts the calls a 200 answer refused on their own as rejected, by code", async () => {
    const { url } = await serve([
      {
        status: 200,
        body: {
          success: true,
          accepted: 3,
          refused: 2,
          problems: [
            { index: 1, code: "id.too_long", message: "userId is 2100 bytes" },
            { index: 4, code: "delete.not_allowed", message: "delete is accepted only from signed webhooks" },
          ],
        },
      },
    ]);
    const outcome = await sendRequests([request(url, 5, "b.json #1")], settings);
    expect(outcome).toMatchObject({
      acceptedCalls: 3,
      rejectedCalls: 2,
      rejectedByCode: {
        "id.too_long": { calls: 1, requests: 1, example: "b.json #1: userId is 2100 bytes" },
        "delete.not_allowed": { calls: 1, requests: 1 },
      },
    });
  });

  it("gives up after the retries and reports the last answer's code", async () => {
    const failing = Array.from({ length: 4 }, () => ({
      status: 500,
      body: { code: "internal.error", message: "Internal error" },
    }));
    const { url, seen } = await serve(failing);
    const outcome = await sendRequests([request(url)], settings);
    expect(seen).toHaveLength(4);
    expect(outcome).toMatchObject({
      acceptedCalls: 0,
      rejectedCalls: 1,
      retries: 3,
      rejectedByCode: { "internal.error": { calls: 1 } },
    });
  });

  it("stops at once when nothing answers at the URL", async () => {
    const { url } = await serve([]);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const outcome = await sendRequests([request(url), request(url)], settings);
    expect(outcome.aborted).toMatch(/Nothing answers at http:\/\/127\.0\.0\.1:\d+: is the stack running/);
    expect(outcome.sentRequests).toBe(0);
  });

  it("keeps to the rate in calls per second", async () => {
    const { url } = await serve([]);
    const started = Date.now();
    await sendRequests(
      Array.from({ length: 5 }, () => request(url)),
      { ...settings, rate: 20 },
    );
    // 5 calls at 20/s: the last one leaves 200 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe("progress and summary", () => {
  const outcome = (sent: number) => ({
    sentCalls: sent,
    sentRequests: sent,
    acceptedCalls: sent,
    rejectedCalls: 0,
    rejectedByCode: {},
    retries: 0,
  });

  it("draws a bar on a terminal and writes nothing else there", () => {
    const written: string[] = [];
    const progress = progressDisplay({ isTTY: true, write: (t: string) => written.push(t) });
    progress.update(outcome(5), 10);
    progress.finish();
    expect(written[0]).toBe(
      `\r[${"#".repeat(15)}${"-".repeat(15)}]  50% 5/10 calls · 5 accepted · 0 rejected · 0 retried`,
    );
    expect(written.at(-1)).toBe("\n");
  });

  it("writes plain lines, not a bar, when not a terminal", () => {
    const written: string[] = [];
    const progress = progressDisplay({ isTTY: false, write: (t: string) => written.push(t) }, 0);
    progress.update(outcome(1), 3);
    progress.update(outcome(2), 3);
    progress.finish();
    expect(written.every((line) => !line.includes("\r") && line.endsWith("\n"))).toBe(true);
    expect(written).toContain("replay: 2/3 calls · 2 accepted · 0 rejected · 0 retried\n");
  });

  it("is cut to the terminal's width, so a redraw never wraps onto a new line", () => {
    const written: string[] = [];
    const progress = progressDisplay({ isTTY: true, columns: 40, write: (t: string) => written.push(t) });
    progress.update(outcome(1234), 5000);
    progress.finish();
    const drawn = written.filter((w) => w.startsWith("\r"));
    expect(drawn.length).toBeGreaterThan(0);
    for (const line of drawn) expect(line.length - 1).toBeLessThan(40);
    expect(drawn[0]).toBe(`\r[${"#".repeat(7)}${"-".repeat(23)}]  24% 1`);
  });

  it("writes nothing but \\r, the line and the final \\n: no escape sequences for a log to keep", () => {
    const written: string[] = [];
    const progress = progressDisplay({ isTTY: true, write: (t: string) => written.push(t) });
    for (let sent = 0; sent <= 10; sent++) progress.update(outcome(sent), 10);
    progress.finish();
    expect(written.join("")).not.toContain("\u001b");
    expect(written.at(-2)).toBe(`\r[${"#".repeat(30)}] 100% 10/10 calls · 10 accepted · 0 rejected · 0 retried`);
    expect(written.at(-1)).toBe("\n");
  });

  it("summarises sent, accepted, rejected by code, retried, skipped and duplicates", () => {
    const text = formatSummary({
      target: "http://127.0.0.1:3000/v1/webhooks/segment/dev",
      mode: "webhook",
      batchSize: 1,
      files: 2,
      calls: 5,
      sent: { calls: 5, requests: 5 },
      accepted: 4,
      rejected: { calls: 1, byCode: { "envelope.invalid": { calls: 1, requests: 1, example: "a.json #2: no event" } } },
      retried: 1,
      skipped: { calls: 0 },
      duplicates: 1,
    });
    expect(text).toContain("Replayed 5 calls from 2 files to http://127.0.0.1:3000/v1/webhooks/segment/dev");
    expect(text).toMatch(/accepted +4/);
    expect(text).toMatch(/rejected +1\n +envelope\.invalid {2}1 call, e\.g\. a\.json #2: no event/);
    expect(text).toMatch(/retried +1 time\n/);
    expect(text).toMatch(/duplicates +1 \(repeat a messageId/);
  });
});
