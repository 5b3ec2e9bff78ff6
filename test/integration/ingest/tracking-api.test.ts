import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callsOf, drainQueue, type IngestStack, post, startIngestStack } from "./ingest-stack";

let stack: IngestStack;
let writeKey: string;

beforeAll(async () => {
  stack = await startIngestStack();
  ({ writeKey } = await stack.store.createWorkspace({ id: "acme" }));
});
afterAll(async () => {
  await stack?.close();
});

const queued = () => drainQueue(stack.sqs, stack.config.rawQueueUrl);
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
const api = (path: string) => `${stack.server.url}${path}`;

describe("tracking API with HTTP Basic auth (`writeKey:`)", () => {
  it("queues a /v1/track call, its type set from the path", async () => {
    const call = { userId: "u1", event: "Signed Up", properties: { plan: "pro" }, messageId: "t1" };
    const answer = await post(api("/v1/track"), JSON.stringify(call), { authorization: basic(writeKey) });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    const received = await queued();
    expect(received.map((r) => [r.message.workspaceId, r.message.source])).toEqual([["acme", "product"]]);
    // receivedAt is ours, set at receipt (clock-skew correction: wire-formats.test.ts).
    expect(callsOf(received)).toEqual([{ ...call, type: "track", receivedAt: received[0]?.message.receivedAt }]);
  });

  it("serves every route and short form", async () => {
    const calls: [string, Record<string, unknown>][] = [
      ["/v1/identify", { userId: "u1", traits: { email: "a@example.com" } }],
      ["/v1/i", { userId: "u1" }],
      ["/v1/t", { userId: "u1", event: "E" }],
      ["/v1/group", { userId: "u1", groupId: "g1" }],
      ["/v1/g", { userId: "u1", groupId: "g1" }],
      ["/v1/page", { userId: "u1", name: "Home" }],
      ["/v1/p", { anonymousId: "a1" }],
      ["/v1/screen", { userId: "u1", name: "Home" }],
      ["/v1/s", { userId: "u1" }],
      ["/v1/alias", { previousId: "a1", userId: "u1" }],
      ["/v1/a", { previousId: "a1", userId: "u1" }],
      ["/v1/b", { batch: [{ type: "track", userId: "u1", event: "E" }] }],
    ];
    for (const [path, call] of calls) {
      const answer = await post(api(path), JSON.stringify(call), { authorization: basic(writeKey) });
      expect([path, answer.status]).toEqual([path, 200]);
    }
    expect(callsOf(await queued()).map((c) => c.type)).toEqual([
      "identify",
      "identify",
      "track",
      "group",
      "group",
      "page",
      "page",
      "screen",
      "screen",
      "alias",
      "alias",
      "track",
    ]);
  });
});

describe("tracking API with the write key in the body", () => {
  it("accepts text/plain (as analytics.js sends) and never queues the write key", async () => {
    const body = JSON.stringify({
      batch: [
        { type: "identify", userId: "u1", traits: { name: "Jane" }, messageId: "b1" },
        { type: "track", userId: "u1", event: "Viewed", messageId: "b2", writeKey },
      ],
      context: { library: { name: "analytics.js" } },
      sentAt: "2024-05-01T12:00:00.000Z",
      writeKey,
    });
    const answer = await post(api("/v1/batch"), body, { "content-type": "text/plain;charset=UTF-8" });
    expect(answer.status).toBe(200);
    const received = await queued();
    expect(received.map((r) => r.body).join("")).not.toContain(writeKey);
    const receivedAt = received[0]?.message.receivedAt;
    expect(callsOf(received)).toEqual([
      {
        type: "identify",
        userId: "u1",
        traits: { name: "Jane" },
        messageId: "b1",
        context: { library: { name: "analytics.js" } },
        sentAt: "2024-05-01T12:00:00.000Z",
        receivedAt,
      },
      {
        type: "track",
        userId: "u1",
        event: "Viewed",
        messageId: "b2",
        context: { library: { name: "analytics.js" } },
        sentAt: "2024-05-01T12:00:00.000Z",
        receivedAt,
      },
    ]);
  });

  it("routes another source's write key to that source", async () => {
    const billing = await stack.store.addSource("acme", "billing");
    const body = JSON.stringify({ userId: "u1", event: "Invoice Paid", writeKey: billing.writeKey });
    expect((await post(api("/v1/track"), body)).status).toBe(200);
    expect((await queued()).map((r) => r.message.source)).toEqual(["billing"]);
  });
});

describe("tracking API refusals (nothing queued)", () => {
  it("no write key: 401 auth.write_key_missing", async () => {
    const answer = await post(api("/v1/track"), JSON.stringify({ userId: "u1", event: "E" }));
    expect(answer).toMatchObject({ status: 401, body: { code: "auth.write_key_missing" } });
    expect(await queued()).toEqual([]);
  });

  it("an unknown write key, in the header or the body: 401 auth.write_key_invalid", async () => {
    const body = JSON.stringify({ userId: "u1", event: "E" });
    expect((await post(api("/v1/track"), body, { authorization: basic("wrong") })).body.code).toBe(
      "auth.write_key_invalid",
    );
    const inBody = JSON.stringify({ userId: "u1", event: "E", writeKey: "wrong" });
    expect((await post(api("/v1/track"), inBody)).status).toBe(401);
    expect(await queued()).toEqual([]);
  });

  it("a body type that contradicts the path: 400 envelope.type_mismatch", async () => {
    const body = JSON.stringify({ type: "identify", userId: "u1" });
    const answer = await post(api("/v1/track"), body, { authorization: basic(writeKey) });
    expect(answer).toMatchObject({ status: 400, body: { code: "envelope.type_mismatch" } });
    expect(await queued()).toEqual([]);
  });

  it("a batch body without a batch array: 400", async () => {
    const answer = await post(api("/v1/batch"), JSON.stringify({ events: [] }), { authorization: basic(writeKey) });
    expect(answer).toMatchObject({ status: 400, body: { code: "envelope.invalid" } });
    expect(await queued()).toEqual([]);
  });
});
