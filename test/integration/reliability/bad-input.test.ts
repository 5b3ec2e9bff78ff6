import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../../packages/aws/src/api/cursor";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { ApiKeyStore } from "../../../packages/aws/src/dynamo/api-keys";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { localHttpHandlers } from "../../../packages/local/src/handlers";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { type Poller, startPoller } from "../../../packages/local/src/poller";
import { localRoutes } from "../../../packages/local/src/routes";
import { eventually } from "../../support/eventually";
import { provisionTestResources } from "../../support/local-resources";
import { workspaceItems } from "../../support/model-oracle";
import { freshWorkspace } from "../../support/normalize-harness";
import { queueDepth, untilQueueEmpty } from "../../support/queue";
import { segmentSignature } from "../../support/segment-sender";

/**
 * Bad input, over HTTP, against the real ingest and API handlers behind the local HTTP adapter,
 * with the real normalizer polling the raw queue: a corpus of malformed requests, each correctly
 * authenticated where the point is the body (signed on the exact bytes, with the source's bearer
 * token, or with a valid write key), gets a 4xx with a JSON `code`, never a 5xx, and nothing of it
 * is queued or stored. Calls that are valid envelopes with bad data (times without a zone, nested
 * traits, `__proto__` keys) are accepted and end as rejects. Bad read API queries get 400.
 */

let config: Config;
let server: HandlerServer | undefined;
let poller: Poller | undefined;
const clients: { destroy(): void }[] = [];
/** A client that afterAll destroys with the others. */
const tracked = <T extends { destroy(): void }>(client: T): T => {
  clients.push(client);
  return client;
};
let ws: string;
let secret: string;
let writeKey: string;
let bearer: string;
let apiKey: string;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  const sqs = createSqsClient(config);
  clients.push(db, sqs);
  const workspaces = new WorkspaceStore(db, config.entitiesTable);
  ws = freshWorkspace();
  ({ sharedSecret: secret, writeKey } = await workspaces.createWorkspace({ id: ws }));
  ({ token: bearer } = await workspaces.issueBearerToken(ws));
  ({ apiKey } = await new ApiKeyStore(db, config.entitiesTable).issueApiKey(ws, { name: "bad input" }));
  const local = { ...config, credentialCacheSeconds: 0 };
  server = await startHandlerServer(localRoutes(localHttpHandlers(local)));
  poller = await startPoller({
    sqs,
    queueUrl: config.rawQueueUrl,
    handler: createNormalizeHandler({ store: new DynamoModelStore(db, config) }),
    waitTimeSeconds: 1,
  });
});

afterAll(async () => {
  await server?.close();
  await poller?.stop();
  for (const client of clients) client.destroy();
});

interface BadRequest {
  category: string;
  label: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

const validCall = (i: number) => ({
  type: "track",
  event: "Signed Up",
  userId: "u1",
  messageId: `bad-valid-${i}`,
  timestamp: "2024-05-01T00:00:00Z",
});
const validText = JSON.stringify(validCall(0));

/** Malformed calls, as JSON text (`__proto__` keys only survive as text), with the routes they fit. */
function badCalls(): { category: string; label: string; text: string; notOnSingleRoute?: boolean }[] {
  const call = (category: string, label: string, value: Record<string, unknown>, notOnSingleRoute = false) => ({
    category,
    label,
    text: JSON.stringify({ messageId: `bad-${label}`, ...value }),
    notOnSingleRoute,
  });
  const track = { type: "track", event: "Signed Up", userId: "u1", timestamp: "2024-05-01T00:00:00Z" };
  return [
    call("missing fields", "track without event", { type: "track", userId: "u1" }),
    call("missing fields", "track with an empty event", { type: "track", userId: "u1", event: "" }),
    call("missing fields", "track without user or anonymous id", { type: "track", event: "E" }),
    call("missing fields", "track with empty ids", { type: "track", event: "E", userId: "", anonymousId: null }),
    call("missing fields", "identify without ids", { type: "identify", traits: { name: "A" } }),
    call("missing fields", "page without ids", { type: "page", name: "Home" }),
    call("missing fields", "screen without ids", { type: "screen", name: "Home" }),
    call("missing fields", "group without groupId", { type: "group", userId: "u1", traits: { name: "A" } }),
    call("missing fields", "group with an empty groupId", { type: "group", groupId: "" }),
    call("missing fields", "alias without previousId", { type: "alias", userId: "u1" }),
    call("missing fields", "alias without userId", { type: "alias", previousId: "anon" }),
    call("missing fields", "delete without userId", { type: "delete" }),
    // Ids blank once trimmed are absent (the id rules, packages/core/src/ids.ts).
    call("blank ids", "track with a blank userId", { type: "track", event: "E", userId: "   " }),
    call("blank ids", "identify with a tab for userId", { type: "identify", userId: "\t", anonymousId: " " }),
    call("blank ids", "group with a blank groupId", { type: "group", groupId: " \n " }),
    call("blank ids", "alias with a blank previousId", { type: "alias", userId: "u1", previousId: "  " }),
    call("blank ids", "delete with a blank userId", { type: "delete", userId: "  " }),
    // On a single-call route the path gives the type, so this one is only malformed elsewhere.
    call("missing fields", "no type", { userId: "u1", event: "E" }, true),
    call("unknown types", "type foo", { ...track, type: "foo" }),
    call("unknown types", "type Track", { ...track, type: "Track" }),
    call("unknown types", "empty type", { ...track, type: "" }),
    call("unknown types", "null type", { ...track, type: null }),
    call("unknown types", "type batch", { ...track, type: "batch" }),
    call("unknown types", "type __proto__", { ...track, type: "__proto__" }),
    call("wrong types", "traits array", { type: "identify", userId: "u1", traits: [] }),
    call("wrong types", "traits string", { type: "identify", userId: "u1", traits: "x" }),
    call("wrong types", "properties number", { ...track, properties: 5 }),
    call("wrong types", "properties array", { ...track, properties: ["a"] }),
    call("wrong types", "context string", { ...track, context: "x" }),
    call("wrong types", "userId object", { ...track, userId: { id: 1 } }),
    call("wrong types", "userId array", { ...track, userId: ["u1"] }),
    call("wrong types", "userId boolean", { ...track, userId: true }),
    call("wrong types", "anonymousId boolean", { type: "track", event: "E", anonymousId: false }),
    call("wrong types", "messageId object", { ...track, messageId: { id: "m" } }),
    call("wrong types", "groupId array", { type: "group", groupId: ["g1"] }),
    call("wrong types", "previousId object", { type: "alias", userId: "u1", previousId: { id: "a" } }),
    call("wrong types", "event object", { ...track, event: { name: "E" } }),
    call("wrong types", "sentAt boolean", { ...track, sentAt: true }),
    call("wrong types", "originalTimestamp object", { ...track, originalTimestamp: {} }),
    call("wrong types", "receivedAt array", { ...track, receivedAt: [] }),
    call("numbers where strings belong", "event number", { ...track, event: 42 }),
    call("numbers where strings belong", "timestamp number", { ...track, timestamp: 1714521600000 }),
    call("numbers where strings belong", "page name number", { type: "page", userId: "u1", name: 7 }),
    call("numbers where strings belong", "type number", { ...track, type: 1 }),
    call("numbers where strings belong", "context number", { ...track, context: 12 }),
    // JSON.parse makes `__proto__` an own key; nothing may read calls fields through it.
    {
      category: "__proto__ keys",
      label: "type and event only under __proto__",
      text: '{"__proto__":{"type":"track","event":"E"},"userId":"u1","messageId":"bad-proto-1"}',
    },
    {
      category: "__proto__ keys",
      label: "event only under __proto__",
      text: '{"__proto__":{"event":"E"},"type":"track","userId":"u1","messageId":"bad-proto-2"}',
    },
    {
      category: "__proto__ keys",
      label: "userId only under __proto__",
      text: '{"__proto__":{"userId":"u1"},"type":"track","event":"E","messageId":"bad-proto-3"}',
    },
    {
      category: "__proto__ keys",
      label: "event only under constructor.prototype",
      text: '{"constructor":{"prototype":{"event":"E"}},"type":"track","userId":"u1","messageId":"bad-proto-4"}',
    },
    {
      category: "__proto__ keys",
      label: "groupId only under __proto__",
      text: '{"__proto__":{"groupId":"g1"},"type":"group","messageId":"bad-proto-5"}',
    },
  ];
}

/**
 * Calls refused on their own (issue 16): ids that break the id rules, and `delete` where the sender
 * may not send it. Alone they are a 4xx; beside valid calls only they are refused (see below).
 */
function refusedAlone(): { category: string; label: string; text: string; code: string; onlyTracking?: boolean }[] {
  const long = (n: number) => "x".repeat(n);
  const call = (category: string, label: string, code: string, value: Record<string, unknown>) => ({
    category,
    label,
    code,
    text: JSON.stringify({ messageId: `refused-${label.replace(/\W+/g, "-")}`, ...value }),
  });
  const track = { type: "track", event: "Signed Up", timestamp: "2024-05-01T00:00:00Z" };
  return [
    call("oversized ids", "userId of 2,100 characters", "id.too_long", { ...track, userId: long(2100) }),
    call("oversized ids", "anonymousId of 600 bytes", "id.too_long", { ...track, anonymousId: "é".repeat(300) }),
    call("oversized ids", "groupId of 3,000 characters", "id.too_long", { type: "group", groupId: long(3000) }),
    call("oversized ids", "previousId of 1,025", "id.too_long", {
      type: "alias",
      userId: "u1",
      previousId: long(1025),
    }),
    call("oversized ids", "context.groupId of 2,049", "id.too_long", {
      ...track,
      userId: "u-ok",
      context: { groupId: long(2049) },
    }),
    call("oversized ids", "traits.companyId of 600", "id.too_long", {
      type: "identify",
      userId: "u-ok",
      traits: { companyId: long(600) },
    }),
    call("oversized ids", "properties.account_id of 513", "id.too_long", {
      ...track,
      userId: "u-ok",
      properties: { account_id: long(513) },
    }),
    {
      category: "oversized ids",
      label: "messageId of 1,500 characters",
      code: "id.too_long",
      text: JSON.stringify({ ...track, userId: "u-ok", messageId: long(1500) }),
    },
    {
      category: "ids that cannot be addressed",
      label: "userId with a lone high surrogate",
      code: "id.malformed",
      text: '{"type":"identify","userId":"s\\ud800","messageId":"refused-surrogate-1"}',
    },
    {
      category: "ids that cannot be addressed",
      label: "groupId with a lone low surrogate",
      code: "id.malformed",
      text: '{"type":"group","groupId":"\\udc00g","messageId":"refused-surrogate-2"}',
    },
    {
      category: "ids that cannot be addressed",
      label: "messageId with a lone surrogate",
      code: "id.malformed",
      text: '{"type":"track","event":"E","userId":"u-ok","messageId":"m\\ud83d"}',
    },
    {
      ...call("delete from the write key", "delete victim", "delete.not_allowed", { type: "delete", userId: "victim" }),
      onlyTracking: true,
    },
  ];
}

const trackingRoutes = new Set(["identify", "track", "group", "page", "screen", "alias"]);

/** Raw bodies that are not acceptable whatever the route. */
function badBodies(): { category: string; label: string; body: Buffer; contentType?: string }[] {
  const text = (category: string, label: string, body: string) => ({ category, label, body: Buffer.from(body) });
  const bytes = (category: string, label: string, body: number[] | Buffer) => ({
    category,
    label,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  });
  const batchText = JSON.stringify([validCall(1), validCall(2), validCall(3)]);
  const pad = (n: number) => ({ ...validCall(9), properties: { pad: "x".repeat(n) } });
  const deep = (open: string, close: string, n: number, inner = "1") => open.repeat(n) + inner + close.repeat(n);
  return [
    text("bad JSON", "open brace", "{"),
    text("bad JSON", "trailing comma", '{"type":"track",}'),
    text("bad JSON", "single quotes", "{'type':'track'}"),
    text("bad JSON", "undefined", "undefined"),
    text("bad JSON", "NaN", "NaN"),
    text("bad JSON", "two objects", '{"a":1}{"b":2}'),
    text("bad JSON", "unclosed array", "[1,2"),
    text("bad JSON", "nul", "nul"),
    text("bad JSON", "missing comma", '{"type": "track" "event": "x"}'),
    text("bad JSON", "comment", "// c\n{}"),
    text("bad JSON", "leading zero", '{"a": 01}'),
    text("bad JSON", "trailing garbage", `${validText} x`),
    text("bad JSON", "raw control character in a string", '{"type":"track","event":"a\u0001b","userId":"u1"}'),
    text("truncated bodies", "call cut at 1/4", validText.slice(0, validText.length / 4)),
    text("truncated bodies", "call cut at 1/2", validText.slice(0, validText.length / 2)),
    text("truncated bodies", "call cut at 3/4", validText.slice(0, (validText.length * 3) / 4)),
    text("truncated bodies", "call without its last byte", validText.slice(0, -1)),
    text("truncated bodies", "batch cut at 1/2", batchText.slice(0, batchText.length / 2)),
    text("truncated bodies", "batch without its last byte", batchText.slice(0, -1)),
    text("empty bodies", "empty", ""),
    text("empty bodies", "a space", " "),
    text("empty bodies", "whitespace", "\n\t\r "),
    text("not a call", "null", "null"),
    text("not a call", "true", "true"),
    text("not a call", "number", "1"),
    text("not a call", "string", '"track"'),
    text("not a call", "empty array", "[]"),
    text("not a call", "empty object", "{}"),
    text("not a call", "array of null", "[null]"),
    text("not a call", "array of arrays", "[[]]"),
    bytes("invalid UTF-8", "a lone 0xff", [0xff]),
    bytes(
      "invalid UTF-8",
      "0xff 0xfe in a string",
      Buffer.concat([
        Buffer.from('{"type":"track","event":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('","userId":"u1"}'),
      ]),
    ),
    bytes(
      "invalid UTF-8",
      "overlong slash",
      Buffer.concat([
        Buffer.from('{"type":"track","event":"'),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from('","userId":"u1"}'),
      ]),
    ),
    bytes(
      "invalid UTF-8",
      "truncated sequence",
      Buffer.concat([
        Buffer.from('{"type":"track","event":"'),
        Buffer.from([0xe2, 0x82]),
        Buffer.from('","userId":"u1"}'),
      ]),
    ),
    bytes(
      "invalid UTF-8",
      "encoded surrogate",
      Buffer.concat([
        Buffer.from('{"type":"track","event":"'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('","userId":"u1"}'),
      ]),
    ),
    bytes(
      "invalid UTF-8",
      "UTF-16 with a BOM",
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(validText, "utf16le")]),
    ),
    text("deep nesting", "10,000 nested arrays", deep("[", "]", 10_000, "")),
    text("deep nesting", "10,000 nested objects", deep('{"a":', "}", 10_000)),
    text(
      "deep nesting",
      "a call with properties 10,000 deep",
      `{"type":"track","event":"E","userId":"u1","properties":${deep('{"a":', "}", 10_000)}}`,
    ),
    text(
      "deep nesting",
      "a call with properties 100 deep",
      `{"type":"track","event":"E","userId":"u1","properties":${deep('{"a":', "}", 100)}}`,
    ),
    text("deep nesting", "a batch nested 65 deep in brackets inside and out", `[${deep("[", "]", 64, validText)}]`),
    text("huge strings", "an event with a 400 KB string", JSON.stringify(pad(400 * 1024))),
    text("huge strings", "a 600 KB string", JSON.stringify("x".repeat(600 * 1024))),
    text("huge strings", "a 2 MB body", JSON.stringify(pad(2 * 1024 * 1024))),
    text("33 KB events", "one event of 33 KB", JSON.stringify(pad(33 * 1024))),
    text("33 KB events", "a batch with one event of 33 KB", JSON.stringify([validCall(3), pad(33 * 1024)])),
    // Over every route's limit: 500 KB on the tracking API, 4 MiB on webhooks.
    text(
      "over-limit batches",
      "206 events of 25 KB (5.15 MB)",
      JSON.stringify(Array.from({ length: 206 }, () => pad(25 * 1024))),
    ),
    // Over every route's count: 2,500 on the tracking API, 4,000 on webhooks.
    text(
      "over-count batches",
      "4,001 small events",
      JSON.stringify(Array.from({ length: 4001 }, (_, i) => validCall(i))),
    ),
    // The label is accepted (rudder-sdk-node sends JSON under it); a real form body is not JSON.
    {
      ...text("wrong content types", "form encoded", "type=track&userId=u1&event=E"),
      contentType: "application/x-www-form-urlencoded",
    },
    { ...text("wrong content types", "multipart", validText), contentType: "multipart/form-data; boundary=x" },
    { ...text("wrong content types", "xml", validText), contentType: "application/xml" },
    { ...text("wrong content types", "html", validText), contentType: "text/html" },
    { ...text("wrong content types", "png", validText), contentType: "image/png" },
    { ...text("wrong content types", "octet stream", validText), contentType: "application/octet-stream" },
  ];
}

function corpus(): BadRequest[] {
  const requests: BadRequest[] = [];
  const basic = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` };
  const webhook = (path: string, body: Buffer, signedOn: Buffer | string, contentType = "application/json") => ({
    path,
    body,
    headers: {
      "content-type": contentType,
      "x-signature": segmentSignature(signedOn as string, secret),
      authorization: `Bearer ${bearer}`,
    },
  });
  const hook = `/v1/webhooks/segment/${ws}`;
  for (const bad of badCalls()) {
    const body = Buffer.from(bad.text);
    const parsedType = (() => {
      try {
        return JSON.parse(bad.text).type;
      } catch {
        return undefined;
      }
    })();
    const route = typeof parsedType === "string" && trackingRoutes.has(parsedType) ? parsedType : "track";
    const inArray = Buffer.from(`[${validText},${bad.text}]`);
    const variants = [
      { via: "webhook", ...webhook(hook, body, body) },
      // Segment Actions batch: signed on its (valid) first element only, the bearer token covers the rest.
      { via: "webhook batch", ...webhook(`${hook}/product`, inArray, validText) },
      ...(bad.notOnSingleRoute
        ? []
        : [
            {
              via: `/v1/${route}`,
              path: `/v1/${route}`,
              body,
              headers: { "content-type": "application/json", ...basic },
            },
          ]),
      {
        via: "/v1/batch",
        path: "/v1/batch",
        body: Buffer.from(`{"batch":[${validText},${bad.text}]}`),
        headers: { "content-type": "application/json", ...basic },
      },
    ];
    for (const v of variants) {
      requests.push({
        category: bad.category,
        label: `${bad.label} (${v.via})`,
        path: v.path,
        headers: v.headers,
        body: v.body,
      });
    }
  }
  for (const bad of refusedAlone()) {
    const body = Buffer.from(bad.text);
    const type = JSON.parse(bad.text).type as string;
    const single = trackingRoutes.has(type)
      ? [{ via: `/v1/${type}`, path: `/v1/${type}`, body, headers: { "content-type": "application/json", ...basic } }]
      : [];
    const variants = [
      ...(bad.onlyTracking ? [] : [{ via: "webhook", ...webhook(hook, body, body) }]),
      ...single,
      {
        via: "/v1/batch of that call alone",
        path: "/v1/batch",
        body: Buffer.from(`{"batch":[${bad.text}]}`),
        headers: { "content-type": "text/plain" },
        withKeyInBody: true,
      },
    ];
    for (const v of variants) {
      requests.push({
        category: bad.category,
        label: `${bad.label} (${v.via})`,
        path: v.path,
        headers: v.headers,
        body:
          "withKeyInBody" in v
            ? Buffer.from(`{"writeKey":${JSON.stringify(writeKey)},${v.body.toString().slice(1)}`)
            : v.body,
      });
    }
  }
  for (const bad of badBodies()) {
    const contentType = bad.contentType ?? "application/json";
    requests.push({
      category: bad.category,
      label: `${bad.label} (webhook)`,
      ...webhook(hook, bad.body, bad.body as unknown as string, contentType),
    });
    requests.push({
      category: bad.category,
      label: `${bad.label} (/v1/track)`,
      path: "/v1/track",
      body: bad.body,
      headers: { "content-type": contentType, ...basic },
    });
    requests.push({
      category: bad.category,
      label: `${bad.label} (/v1/batch)`,
      path: "/v1/batch",
      body: bad.body,
      headers: { "content-type": contentType, ...basic },
    });
  }
  return requests;
}

async function send(request: BadRequest): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(`${server?.url}${request.path}`, {
    method: "POST",
    headers: request.headers,
    body: new Uint8Array(request.body),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

describe("a corpus of malformed requests", () => {
  it("gets only 4xx answers with a JSON code, and nothing is queued or stored", async () => {
    const requests = corpus();
    expect(requests.length).toBeGreaterThanOrEqual(200);
    const byCode = new Map<string, number>();
    const byCategory = new Map<string, number>();
    const wrong: string[] = [];
    const started = Date.now();
    for (const request of requests) {
      const answer = await send(request);
      const code = (answer.body as { code?: unknown } | undefined)?.code;
      const key = `${answer.status} ${typeof code === "string" ? code : "(no code)"}`;
      byCode.set(key, (byCode.get(key) ?? 0) + 1);
      byCategory.set(request.category, (byCategory.get(request.category) ?? 0) + 1);
      if (answer.status < 400 || answer.status >= 500 || typeof code !== "string" || code === "") {
        wrong.push(`${request.category}: ${request.label}: ${answer.status} ${answer.text.slice(0, 160)}`);
      }
    }
    // Every request has had its answer, so anything ingest queued is on the queue or in the
    // poller's hands (in flight) right now: none of it may be there, or have been received.
    const queued = await queueDepth(tracked(createSqsClient(config)), config.rawQueueUrl);
    const stored = await workspaceItems(config, ws);

    console.log(
      [
        `bad input: ${requests.length} malformed requests in ${Date.now() - started} ms`,
        `  by category: ${[...byCategory].map(([c, n]) => `${c} ${n}`).join(", ")}`,
        `  by answer: ${[...byCode]
          .sort()
          .map(([k, n]) => `${k}: ${n}`)
          .join(", ")}`,
        `  queued ${queued} + received ${poller?.stats.received ?? "?"} messages; stored ${stored.entities} entity and ${stored.events} event items`,
      ].join("\n"),
    );
    expect(wrong).toEqual([]);
    expect(queued).toBe(0);
    expect(poller?.stats.received).toBe(0);
    expect(stored).toEqual({ entities: 0, events: 0 });
  }, 120_000);

  it("the same stack still takes a good call afterwards (the checks above are not vacuous)", async () => {
    const answer = await send({
      category: "control",
      label: "a valid call",
      path: "/v1/track",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`,
      },
      body: Buffer.from(JSON.stringify({ ...validCall(0), messageId: "control-1" })),
    });
    expect(answer.status).toBe(200);
    await eventually(
      () => workspaceItems(config, ws),
      (stored) => expect(stored.events).toBe(1),
      { what: "the control call's event" },
    );
  });
});

describe("calls refused on their own, beside valid neighbours", () => {
  it("only they are refused and listed; every neighbour is stored, nothing of a refused call is", async () => {
    const db = createDocumentClient(config);
    clients.push(db);
    const store = new WorkspaceStore(db, config.entitiesTable);
    const other = freshWorkspace();
    const created = await store.createWorkspace({ id: other });
    const reader = new DynamoModelReader(db, config);
    const victim = {
      type: "identify",
      userId: "victim",
      messageId: "victim-1",
      timestamp: "2024-05-01T00:00:00Z",
      traits: { name: "V" },
    };
    const basicAuth = { authorization: `Basic ${Buffer.from(`${created.writeKey}:`).toString("base64")}` };
    expect(
      (
        await send({
          category: "setup",
          label: "victim",
          path: "/v1/identify",
          headers: basicAuth,
          body: Buffer.from(JSON.stringify(victim)),
        })
      ).status,
    ).toBe(200);
    await eventually(
      () => reader.getUser(other, "victim"),
      (u) => expect(u).toMatchObject({ name: "V" }),
      { what: "the victim's profile" },
    );

    const refused = refusedAlone().map((r) => r.text);
    const neighbour = (i: number) => ({ ...validCall(i), messageId: `neighbour-${i}`, userId: ` trimmed-${i % 3} ` });
    const interleave = (bad: string[], first: number) => {
      const texts: string[] = [];
      for (const [i, text] of bad.entries()) texts.push(JSON.stringify(neighbour(first + i)), text);
      texts.push(JSON.stringify(neighbour(first + bad.length)));
      return texts;
    };
    const viaBatch = interleave(refused, 0);
    const batchAnswer = await send({
      category: "mixed",
      label: "/v1/batch",
      path: "/v1/batch",
      headers: { "content-type": "text/plain" },
      body: Buffer.from(`{"writeKey":${JSON.stringify(created.writeKey)},"batch":[${viaBatch.join(",")}]}`),
    });
    // An Actions batch signed on its first element, to a source without a bearer token (the new
    // workspace's primary source has none): the unsigned delete is refused.
    const viaHook = interleave(
      refusedAlone()
        .filter((r) => !r.onlyTracking)
        .map((r) => r.text)
        .concat(['{"type":"delete","userId":"victim","messageId":"unsigned-delete"}']),
      100,
    );
    const hookAnswer = await send({
      category: "mixed",
      label: "webhook batch",
      path: `/v1/webhooks/segment/${other}`,
      headers: {
        "content-type": "application/json",
        "x-signature": segmentSignature(viaHook[0] as string, created.sharedSecret),
      },
      body: Buffer.from(`[${viaHook.join(",")}]`),
    });
    const expectedCodes = refusedAlone().map((r) => r.code);
    for (const [answer, texts, codes] of [
      [batchAnswer, viaBatch, expectedCodes],
      [hookAnswer, viaHook, [...expectedCodes.slice(0, -1), "delete.not_allowed"]],
    ] as const) {
      expect(answer.status, answer.text).toBe(200);
      const body = answer.body as { accepted: number; refused: number; problems: { index: number; code: string }[] };
      expect(body.refused).toBe(codes.length);
      expect(body.accepted).toBe(texts.length - codes.length);
      expect(body.problems.map((p) => [p.index, p.code])).toEqual(codes.map((code, i) => [2 * i + 1, code]));
    }

    // The neighbours are the even places of each body.
    const even = (texts: readonly string[]) => texts.filter((_, i) => i % 2 === 0);
    const ids = [...even(viaBatch), ...even(viaHook)].map((t) => JSON.parse(t).messageId as string);
    expect(ids).toHaveLength(viaBatch.length - refused.length + (viaHook.length + 1) / 2);
    // Every request has had its answer: once the queue is empty, everything queued is normalized,
    // so what is read below (and what is not there) is final.
    await untilQueueEmpty(tracked(createSqsClient(config)), config.rawQueueUrl);
    const events = (await Promise.all(ids.map((id) => reader.getEvent(other, id)))).filter(Boolean);
    expect(events.map((e) => e?.event_id).sort()).toEqual([...ids].sort());
    // Ids are trimmed: " trimmed-0 " is the user trimmed-0, with no blank-padded twin.
    expect(new Set(events.map((e) => e?.user_id))).toEqual(new Set(["trimmed-0", "trimmed-1", "trimmed-2"]));
    // Nothing of a refused call: the victim was not deleted, no reject or event names a refused call.
    expect(await reader.getUser(other, "victim")).toMatchObject({ name: "V" });
    const rejects = await reader.listRejects(other);
    expect(rejects).toEqual([]);
    const stored = await workspaceItems(config, other);
    expect(stored.events).toBe(ids.length);
  });
});

describe("valid envelopes with bad data", () => {
  it("are accepted (200) and end as rejects, the rest of each call stored", async () => {
    const other = freshWorkspace();
    const db = createDocumentClient(config);
    clients.push(db);
    const created = await new WorkspaceStore(db, config.entitiesTable).createWorkspace({ id: other });
    const base = { type: "track", event: "E", userId: "u1" };
    const deepTrait = `${'{"a":'.repeat(40)}1${"}".repeat(40)}`;
    const cases: { label: string; text: string; codes: string[] }[] = [
      // An event time without a zone is read as UTC and recorded (spec 3.1, docs/data-model.md).
      {
        label: "timestamp without a zone",
        text: JSON.stringify({ ...base, messageId: "q1", timestamp: "2024-05-01T12:00:00" }),
        codes: ["time.no_zone"],
      },
      {
        label: "unreadable timestamp",
        text: JSON.stringify({ ...base, messageId: "q2", timestamp: "yesterday" }),
        codes: ["time.invalid"],
      },
      {
        label: "a trait date without a zone",
        text: JSON.stringify({
          type: "identify",
          userId: "u2",
          messageId: "q3",
          timestamp: "2024-05-01T12:00:00Z",
          traits: { created_at: "2024-05-01 12:00:00" },
        }),
        codes: ["time.no_zone"],
      },
      {
        label: "a nested property",
        text: JSON.stringify({
          ...base,
          messageId: "q4",
          timestamp: "2024-05-01T12:00:00Z",
          properties: { a: { b: 1 } },
        }),
        codes: ["property.nested_object"],
      },
      {
        label: "a trait nested 40 deep",
        text: `{"type":"identify","userId":"u3","messageId":"q5","timestamp":"2024-05-01T12:00:00Z","traits":{"deep":${deepTrait}}}`,
        codes: ["trait.nested_object"],
      },
      {
        label: "a __proto__ trait",
        text: '{"type":"identify","userId":"u4","messageId":"q6","timestamp":"2024-05-01T12:00:00Z","traits":{"__proto__":{"admin":true},"name":"Ann"}}',
        codes: ["trait.forbidden_key"],
      },
      {
        label: "a mixed array property",
        text: JSON.stringify({
          ...base,
          messageId: "q7",
          timestamp: "2024-05-01T12:00:00Z",
          properties: { tags: [1, "a"] },
        }),
        codes: ["property.invalid_array"],
      },
    ];
    const basic = `Basic ${Buffer.from(`${created.writeKey}:`).toString("base64")}`;
    for (const c of cases) {
      const answer = await send({
        category: "accepted",
        label: c.label,
        path: "/v1/batch",
        headers: { "content-type": "application/json", authorization: basic },
        body: Buffer.from(`{"batch":[${c.text}]}`),
      });
      expect(answer.status, `${c.label}: ${answer.text}`).toBe(200);
    }
    const reader = new DynamoModelReader(db, config);
    const expected = cases.flatMap((c) => c.codes).sort();
    const rejects = await eventually(
      () => reader.listRejects(other),
      (r) => expect(r.map((reject) => reject.code).sort()).toEqual(expected),
      { what: `the rejects ${expected.join(", ")}` },
    );
    const found = rejects.map((r) => r.code).sort();
    console.log(
      `valid envelopes with bad data: ${cases.length} calls accepted; rejects: ${rejects.map((r) => `${r.message_id} ${r.code} ${r.field}`).join(", ")}`,
    );
    expect(found).toEqual(expected);
    // The rest of each call was stored: the events and the profiles.
    expect(await reader.getEvent(other, "q1")).toMatchObject({ event_name: "E" });
    expect(await reader.getEvent(other, "q4")).toMatchObject({ event_name: "E" });
    expect(await reader.getUser(other, "u4")).toMatchObject({ name: "Ann" });
    expect(Object.getPrototypeOf({}).admin).toBeUndefined();
  });
});

describe("bad read API queries", () => {
  it("get 400 with a code", async () => {
    const foreign = encodeCursor({ scope: "accounts", key: { pk: "WS#someone-else#A#a1", sk: "PROFILE" } });
    const otherListing = encodeCursor({ scope: "rejects" });
    const queries = [
      "/v1/accounts?limit=0",
      "/v1/accounts?limit=-1",
      "/v1/accounts?limit=501",
      "/v1/accounts?limit=abc",
      "/v1/accounts?limit=1.5",
      "/v1/accounts?limit=",
      "/v1/accounts?limit=1&limit=2",
      "/v1/accounts?bucket=gold",
      "/v1/accounts?unknown=1",
      "/v1/accounts?cursor=!!!",
      "/v1/accounts?cursor=eyJ4IjoxfQ",
      `/v1/accounts?cursor=${otherListing}`,
      `/v1/accounts?cursor=${foreign}`,
      `/v1/accounts?cursor=${"A".repeat(5000)}`,
      "/v1/accounts/a1/events?from=2024-05-01T00:00:00",
      "/v1/accounts/a1/events?from=yesterday",
      "/v1/accounts/a1/events?to=2024-13-01T00:00:00Z",
      "/v1/accounts/a1/events?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z",
      "/v1/accounts/a1/events?from=2024-05-01T00:00:00Z&to=2024-05-01T00:00:00Z",
      "/v1/accounts/a1/users?limit=100000",
      "/v1/users/u1/events?to=1714521600",
      "/v1/users/u1/events?cursor=e30",
      "/v1/users/u1/accounts?limit=0",
      "/v1/rejects?limit=0",
      "/v1/rejects?code=",
      "/v1/entity-maps?kind=person",
      "/v1/pending?cursor=%00",
      // Strict query parsing (issue 16): decimal integers only, unknown names refused, even __proto__.
      "/v1/accounts?__proto__=1",
      "/v1/accounts?constructor=1",
      "/v1/accounts?limit=0x10",
      "/v1/accounts?limit=1e2",
      "/v1/accounts?limit=%205",
      "/v1/accounts?limit=5%20",
      "/v1/accounts?limit=+5",
      "/v1/accounts?limit=05.0",
      "/v1/users/u1/events?limit=Infinity",
      // Ids in paths follow the id rules (issue 16): 400 with a code, never a 5xx.
      `/v1/users/${"u".repeat(3000)}`,
      `/v1/users/${"u".repeat(3000)}/events`,
      `/v1/accounts/${"a".repeat(3000)}`,
      `/v1/accounts/${"a".repeat(2100)}/users`,
      "/v1/users/%20%20",
      "/v1/users/s%ED%A0%80",
      "/v1/accounts/%E0%A4%A/events",
    ];
    const byCode = new Map<string, number>();
    const wrong: string[] = [];
    for (const query of queries) {
      const response = await fetch(`${server?.url}${query}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const body = (await response.json().catch(() => undefined)) as { code?: string } | undefined;
      const key = `${response.status} ${body?.code ?? "(no code)"}`;
      byCode.set(key, (byCode.get(key) ?? 0) + 1);
      if (response.status !== 400 || typeof body?.code !== "string") wrong.push(`${query}: ${key}`);
    }
    console.log(`bad read API queries: ${queries.length}; ${[...byCode].map(([k, n]) => `${k}: ${n}`).join(", ")}`);
    expect(wrong).toEqual([]);
  });
});
