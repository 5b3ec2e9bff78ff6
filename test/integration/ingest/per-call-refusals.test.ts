import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  callsOf,
  drainQueue,
  type IngestStack,
  post,
  segmentSign,
  segmentTrack,
  startIngestStack,
} from "./ingest-stack";

/**
 * Calls refused on their own (issue 16), through the real ingest handler and the local SQS server:
 * a `delete` the sender may not send, and ids that break the id rules. A single call is a 400; in a
 * batch only that entry is refused, the answer lists it, and every other call is queued.
 */

let stack: IngestStack;
let secret: string;
let writeKey: string;
let locked: { secret: string; token: string };

beforeAll(async () => {
  stack = await startIngestStack();
  ({ sharedSecret: secret, writeKey } = await stack.store.createWorkspace({ id: "acme" }));
  await stack.store.addSource("acme", "locked");
  const { token } = await stack.store.issueBearerToken("acme", "locked");
  locked = { secret: (await stack.store.getSource("acme", "locked"))?.secrets[0]?.value as string, token };
});
afterAll(async () => {
  await stack?.close();
});

const queued = async () => callsOf(await drainQueue(stack.sqs, stack.config.rawQueueUrl));
const api = (path: string) => `${stack.server.url}${path}`;
const hook = (source = "") => `${stack.server.url}/v1/webhooks/segment/acme${source ? `/${source}` : ""}`;
const withKey = () => ({ authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` });
const deleteCall = (userId: string, messageId: string) => ({ type: "delete", userId, messageId });

describe("delete and the public write key", () => {
  it("a /v1/batch of one delete with the write key (Basic auth) is refused: 400 delete.not_allowed, nothing queued", async () => {
    const answer = await post(api("/v1/batch"), JSON.stringify({ batch: [deleteCall("victim", "d1")] }), withKey());
    expect(answer).toMatchObject({ status: 400, body: { code: "delete.not_allowed" } });
    expect(await queued()).toEqual([]);
  });

  it("the same with the write key in a text/plain body (analytics.js) is refused too", async () => {
    const answer = await post(api("/v1/batch"), JSON.stringify({ writeKey, batch: [deleteCall("victim", "d2")] }), {
      "content-type": "text/plain",
    });
    expect(answer).toMatchObject({ status: 400, body: { code: "delete.not_allowed" } });
    expect(await queued()).toEqual([]);
  });

  it("in a batch with valid calls: the delete is refused and listed, the rest queued (200)", async () => {
    const batch = [segmentTrack(1), deleteCall("victim", "d3"), segmentTrack(2)];
    const answer = await post(api("/v1/batch"), JSON.stringify({ batch }), withKey());
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      accepted: 2,
      refused: 1,
      problems: [{ index: 1, code: "delete.not_allowed" }],
    });
    expect((await queued()).map((c) => c.messageId)).toEqual([segmentTrack(1).messageId, segmentTrack(2).messageId]);
  });

  it("a signed webhook delivery of one delete is accepted", async () => {
    const body = JSON.stringify(deleteCall("victim", "d4"));
    const answer = await post(hook(), body, { "x-signature": segmentSign(body, secret) });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    expect((await queued()).map((c) => c.type)).toEqual(["delete"]);
  });

  it("an Actions batch signed on its first element: a delete first is signed, a later one is refused without a bearer token", async () => {
    const calls = [deleteCall("victim", "d5"), segmentTrack(3), deleteCall("victim-2", "d6")];
    const body = JSON.stringify(calls);
    const answer = await post(hook(), body, { "x-signature": segmentSign(JSON.stringify(calls[0]), secret) });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      accepted: 2,
      refused: 1,
      problems: [{ index: 2, code: "delete.not_allowed" }],
    });
    expect((await queued()).map((c) => c.messageId)).toEqual(["d5", segmentTrack(3).messageId]);
  });

  it("the same batch signed on the whole body is accepted whole", async () => {
    const calls = [segmentTrack(4), deleteCall("victim-3", "d7")];
    const body = JSON.stringify(calls);
    const answer = await post(hook(), body, { "x-signature": segmentSign(body, secret) });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    expect((await queued()).map((c) => c.messageId)).toEqual([segmentTrack(4).messageId, "d7"]);
  });

  it("a source with a bearer token accepts a delete anywhere in an Actions batch", async () => {
    const calls = [segmentTrack(5), deleteCall("victim-4", "d8")];
    const answer = await post(hook("locked"), JSON.stringify(calls), {
      "x-signature": segmentSign(JSON.stringify(calls[0]), locked.secret),
      authorization: `Bearer ${locked.token}`,
    });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    expect((await queued()).map((c) => c.messageId)).toEqual([segmentTrack(5).messageId, "d8"]);
  });
});

describe("the id rules at ingest", () => {
  it("a signed batch of 100 valid tracks and one with a 2,100-character userId: the one is refused, the 100 queued", async () => {
    const calls = Array.from({ length: 100 }, (_, i) => segmentTrack(100 + i));
    calls.splice(37, 0, segmentTrack(999, { userId: "u".repeat(2100) }));
    const body = JSON.stringify(calls);
    const answer = await post(hook(), body, { "x-signature": segmentSign(body, secret) });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 100, refused: 1, problems: [{ index: 37, code: "id.too_long" }] });
    expect((answer.body.problems as { message: string }[])[0]?.message).toMatch(/userId is 2100 bytes/);
    const ids = (await queued()).map((c) => c.messageId);
    expect(ids).toHaveLength(100);
    expect(ids).not.toContain(segmentTrack(999).messageId);
  });

  it("a single call with an oversized id is a 400 naming the field, for every id field", async () => {
    const long = "é".repeat(300); // 600 bytes of UTF-8, 300 characters: the limit counts bytes
    const cases: [string, Record<string, unknown>][] = [
      ["messageId", { type: "track", userId: "u1", event: "E", messageId: long }],
      ["userId", { type: "identify", userId: long }],
      ["anonymousId", { type: "page", anonymousId: long }],
      ["groupId", { type: "group", groupId: long }],
      ["previousId", { type: "alias", userId: "u1", previousId: long }],
      ["context.groupId", { type: "track", userId: "u1", event: "E", context: { groupId: long } }],
      ["traits.companyId", { type: "identify", userId: "u1", traits: { companyId: long } }],
      ["traits.company.id", { type: "identify", userId: "u1", traits: { company: { id: long } } }],
      ["properties.account_id", { type: "track", userId: "u1", event: "E", properties: { account_id: long } }],
    ];
    for (const [field, call] of cases) {
      const body = JSON.stringify(call);
      const answer = await post(hook(), body, { "x-signature": segmentSign(body, secret) });
      expect([field, answer.status, answer.body.code]).toEqual([field, 400, "id.too_long"]);
      expect(answer.body.message).toContain(field);
    }
    expect(await queued()).toEqual([]);
  });

  it("an id of 512 bytes is accepted; 513 is not", async () => {
    const at = JSON.stringify({ type: "track", event: "E", userId: "u".repeat(512), messageId: "edge-1" });
    const over = JSON.stringify({ type: "track", event: "E", userId: "u".repeat(513), messageId: "edge-2" });
    expect((await post(api("/v1/track"), at, withKey())).status).toBe(200);
    expect(await post(api("/v1/track"), over, withKey())).toMatchObject({ status: 400, body: { code: "id.too_long" } });
    expect((await queued()).map((c) => c.messageId)).toEqual(["edge-1"]);
  });

  it("a lone surrogate in an id is refused (id.malformed); in a batch only that call", async () => {
    const single = '{"type":"identify","userId":"s\\ud800","messageId":"sur-1"}';
    expect(await post(api("/v1/identify"), single, withKey())).toMatchObject({
      status: 400,
      body: { code: "id.malformed" },
    });
    const batch = `{"batch":[{"type":"identify","userId":"s\\udc00x","messageId":"sur-2"},${JSON.stringify(segmentTrack(7))}]}`;
    const answer = await post(api("/v1/batch"), batch, withKey());
    expect(answer.body).toMatchObject({ accepted: 1, refused: 1, problems: [{ index: 0, code: "id.malformed" }] });
    expect((await queued()).map((c) => c.messageId)).toEqual([segmentTrack(7).messageId]);
  });

  it("an id that is blank once trimmed is missing: a track with only userId '   ' is refused", async () => {
    const body = JSON.stringify({ type: "track", event: "E", userId: "   ", messageId: "blank-1" });
    expect(await post(api("/v1/track"), body, withKey())).toMatchObject({
      status: 400,
      body: { code: "envelope.invalid" },
    });
    expect(await queued()).toEqual([]);
  });

  it("a batch whose every call is refused is a 400 listing them, and queues nothing", async () => {
    const batch = [segmentTrack(8, { userId: "x".repeat(600) }), { type: "delete", userId: "victim", messageId: "d9" }];
    const answer = await post(api("/v1/batch"), JSON.stringify({ batch }), withKey());
    expect(answer).toMatchObject({
      status: 400,
      body: {
        code: "batch.refused",
        problems: [
          { index: 0, code: "id.too_long" },
          { index: 1, code: "delete.not_allowed" },
        ],
      },
    });
    expect(await queued()).toEqual([]);
  });
});
