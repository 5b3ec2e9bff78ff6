import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { drainQueue, type IngestStack, post, segmentSign, segmentTrack, startIngestStack } from "./ingest-stack";

let stack: IngestStack;
let secret: string;
let url: string;

beforeAll(async () => {
  stack = await startIngestStack();
  ({ sharedSecret: secret } = await stack.store.createWorkspace({ id: "acme" }));
  url = `${stack.server.url}/v1/webhooks/segment/acme`;
});
afterAll(async () => {
  await stack?.close();
});

/** Signed correctly, so the answer is about the content, not the credentials. */
const sendSigned = (body: string, headers: Record<string, string> = {}) =>
  post(url, body, { "x-signature": segmentSign(body, secret), ...headers });

/** A call whose JSON is exactly `bytes` long. */
function callOfBytes(bytes: number, i = 0) {
  const base = segmentTrack(i, { properties: { pad: "" } });
  return segmentTrack(i, { properties: { pad: "x".repeat(bytes - JSON.stringify(base).length) } });
}

afterEach(async () => {
  // Every request of this file is refused: nothing may reach the queue.
  expect(await drainQueue(stack.sqs, stack.config.rawQueueUrl)).toEqual([]);
});

describe("oversize requests: 4xx naming the limit, nothing queued", () => {
  it("an event of 33 KB", async () => {
    const body = JSON.stringify([segmentTrack(0), callOfBytes(33 * 1024, 1)]);
    const answer = await sendSigned(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ success: false, code: "event.too_large", problems: [{ index: 1 }] });
    expect(answer.body.message).toContain("32 KB");
  });

  it("a webhook batch over 4 MiB", async () => {
    const calls = Array.from({ length: 206 }, (_, i) => callOfBytes(25 * 1024, i));
    const body = JSON.stringify(calls);
    expect(Buffer.byteLength(body)).toBeGreaterThan(4 * 1024 * 1024);
    const answer = await post(url, body, { "x-signature": segmentSign(JSON.stringify(calls[0]), secret) });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ success: false, code: "request.too_large" });
    expect(answer.body.message).toContain("4 MiB");
  });

  it("a body over the 10 MB the HTTP layer reads (API Gateway's cap)", async () => {
    const answer = await post(url, "x".repeat(11 * 1024 * 1024));
    expect(answer).toMatchObject({ status: 413, body: { code: "request.too_large" } });
  });

  it("a webhook batch of 4,001 events (Segment Actions sends at most 4,000)", async () => {
    const calls = Array.from({ length: 4001 }, (_, i) => ({ type: "track", userId: `u${i}`, event: "E" }));
    const answer = await post(url, JSON.stringify(calls), {
      "x-signature": segmentSign(JSON.stringify(calls[0]), secret),
    });
    expect(answer).toMatchObject({ status: 400, body: { code: "batch.too_many_events" } });
    expect(answer.body.message).toContain("4000");
  });

  it("an empty batch", async () => {
    expect(await sendSigned("[]")).toMatchObject({ status: 400, body: { code: "batch.empty" } });
  });
});

describe("malformed requests: 400 with the reason, nothing queued", () => {
  it("a body that is not JSON", async () => {
    expect(await sendSigned('{"type":"track","userId":')).toMatchObject({
      status: 400,
      body: { code: "request.invalid_json" },
    });
  });

  it("an empty body", async () => {
    expect(await sendSigned("")).toMatchObject({ status: 400, body: { code: "request.invalid_json" } });
  });

  it("a batch with one invalid call is refused whole, listing the bad calls by index", async () => {
    const calls = [segmentTrack(0), { type: "track", userId: "u1" }, segmentTrack(2), { type: "group", userId: "u1" }];
    const answer = await sendSigned(JSON.stringify(calls));
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe("envelope.invalid");
    expect(answer.body.problems).toEqual([
      { index: 1, message: "event: track needs an event name" },
      { index: 3, message: "groupId: group needs groupId" },
    ]);
  });

  it("an unknown call type", async () => {
    const answer = await sendSigned(JSON.stringify({ type: "purchase", userId: "u1" }));
    expect(answer).toMatchObject({ status: 400, body: { code: "envelope.invalid" } });
  });

  it("a JSON value that is not a call", async () => {
    expect(await sendSigned("42")).toMatchObject({ status: 400, body: { code: "envelope.invalid" } });
  });

  it("a real form-encoded body: the label is taken (rudder-sdk-node sends JSON under it), the body must be JSON (400)", async () => {
    const answer = await sendSigned("type=track", { "content-type": "application/x-www-form-urlencoded" });
    expect(answer).toMatchObject({ status: 400, body: { code: "request.invalid_json" } });
  });

  it("a content type no sender uses for JSON (415)", async () => {
    const answer = await sendSigned('{"type":"track"}', { "content-type": "application/xml" });
    expect(answer).toMatchObject({ status: 415, body: { code: "request.content_type_unsupported" } });
  });

  it("a GET (405) and an unknown path (404)", async () => {
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ code: "request.method_not_allowed" });
    const unknown = await post(`${stack.server.url}/v1/nothing-here`, "{}");
    expect(unknown).toMatchObject({ status: 404, body: { code: "route.not_found" } });
  });
});
