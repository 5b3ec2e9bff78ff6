import { createHmac } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createIngestHandler, type RequestLog } from "../../../packages/aws/src/ingest/handler";
import { DependencyError } from "../../../packages/core/src/errors";
import type { CredentialLookup, RawQueueSender } from "../../../packages/core/src/ingest/receive";
import type { RawMessageMeta } from "../../../packages/core/src/ingest/split-batch";
import { RawQueueMessage } from "../../../packages/core/src/queue-message";
import { hashCredential } from "../../../packages/core/src/workspace/credentials";
import type { Source } from "../../../packages/core/src/workspace/workspace";

const secret = "shared-secret-value";
const writeKey = "write-key-value";
const bearer = "bearer-token-value";
const sign = (payload: string, key = secret) => createHmac("sha1", key).update(payload).digest("hex");

const sources: Record<string, Source> = {
  "acme/product": {
    workspaceId: "acme",
    name: "product",
    secrets: [{ value: secret, createdAt: "2024-01-01T00:00:00.000Z" }],
    writeKeyHash: hashCredential(writeKey),
    createdAt: "2024-01-01T00:00:00.000Z",
  },
  "acme/locked": {
    workspaceId: "acme",
    name: "locked",
    secrets: [{ value: secret, createdAt: "2024-01-01T00:00:00.000Z" }],
    writeKeyHash: hashCredential("other"),
    bearerTokenHash: hashCredential(bearer),
    createdAt: "2024-01-01T00:00:00.000Z",
  },
};

const credentials: CredentialLookup = {
  async findSource(ws, name) {
    return sources[`${ws}/${name}`];
  },
  async findSourceByWriteKeyHash(hash) {
    return hash === hashCredential(writeKey) ? { workspaceId: "acme", source: "product" } : undefined;
  },
};

function recordingQueue() {
  const sent: { bodies: readonly string[]; meta: RawMessageMeta }[] = [];
  const queue: RawQueueSender = {
    async send(bodies, meta) {
      sent.push({ bodies, meta });
    },
  };
  const calls = () =>
    sent.flatMap((s) => s.bodies.map((b) => RawQueueMessage.parse(JSON.parse(b)))).flatMap((m) => m.calls);
  return { queue, sent, calls };
}

function recordingLog() {
  const lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const log: RequestLog = {
    info: (message, attributes) => lines.push({ level: "info", message, attributes }),
    error: (message, attributes) => lines.push({ level: "error", message, attributes }),
  };
  return { log, lines };
}

function event(
  path: string,
  body: string | undefined,
  headers: Record<string, string> = {},
  options: { method?: string; base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: { "content-type": "application/json", ...headers },
    requestContext: {
      accountId: "1",
      apiId: "api",
      domainName: "example.com",
      domainPrefix: "example",
      http: { method: options.method ?? "POST", path, protocol: "HTTP/1.1", sourceIp: "1.2.3.4", userAgent: "test" },
      requestId: "req-123",
      routeKey: "$default",
      stage: "$default",
      time: "01/May/2024:12:00:00 +0000",
      timeEpoch: Date.parse("2024-05-01T12:00:00.000Z"),
    },
    body: body === undefined ? undefined : options.base64 ? Buffer.from(body).toString("base64") : body,
    isBase64Encoded: options.base64 ?? false,
  };
}

function setup(overrides: { queue?: RawQueueSender; credentials?: CredentialLookup } = {}) {
  const q = recordingQueue();
  const l = recordingLog();
  const handler = createIngestHandler({
    credentials: overrides.credentials ?? credentials,
    queue: overrides.queue ?? q.queue,
    log: l.log,
  });
  const send = async (e: APIGatewayProxyEventV2) => {
    const result = await handler(e);
    return { status: result.statusCode, body: JSON.parse(result.body ?? "null"), headers: result.headers };
  };
  return { send, ...q, ...l };
}

const track = { type: "track", userId: "u1", event: "Signed Up", messageId: "m1", properties: { plan: "pro" } };
const webhook = "/v1/webhooks/segment/acme";

describe("webhook requests", () => {
  it("queues a signed call with the request's metadata and answers 200 {success:true}", async () => {
    const { send, sent, calls } = setup();
    const body = JSON.stringify(track);
    const answer = await send(event(webhook, body, { "x-signature": sign(body) }));
    expect(answer).toMatchObject({ status: 200, body: { success: true } });
    expect(calls()).toEqual([track]);
    expect(sent[0]?.meta).toEqual({
      workspaceId: "acme",
      source: "product",
      receivedAt: "2024-05-01T12:00:00.000Z",
      requestId: "req-123",
      route: "webhook",
    });
  });

  it("decodes a base64 body from API Gateway before verifying and parsing", async () => {
    const { send, calls } = setup();
    const body = JSON.stringify([track, { ...track, messageId: "m2" }]);
    const answer = await send(event(webhook, body, { "x-signature": sign(JSON.stringify(track)) }, { base64: true }));
    expect(answer.status).toBe(200);
    expect(calls().map((c) => c.messageId)).toEqual(["m1", "m2"]);
  });

  it("answers 404 for an unknown workspace or source, before looking at the signature", async () => {
    const { send, sent } = setup();
    const answer = await send(event("/v1/webhooks/segment/nobody", JSON.stringify(track)));
    expect(answer).toMatchObject({ status: 404, body: { success: false, code: "workspace.not_found" } });
    expect((await send(event(`${webhook}/nosuch`, JSON.stringify(track)))).status).toBe(404);
    expect(sent).toHaveLength(0);
  });

  it.each([
    ["missing", undefined, "segment.signature_missing"],
    ["wrong", sign("something else"), "segment.signature_invalid"],
    ["made with another secret", sign(JSON.stringify(track), "not the secret"), "segment.signature_invalid"],
  ])("answers 401 for a %s signature and queues nothing", async (_name, signature, code) => {
    const { send, sent } = setup();
    const headers: Record<string, string> = signature ? { "x-signature": signature } : {};
    const answer = await send(event(webhook, JSON.stringify(track), headers));
    expect(answer).toMatchObject({ status: 401, body: { success: false, code } });
    expect(sent).toHaveLength(0);
  });

  it("requires the bearer token when the source has one", async () => {
    const { send, sent } = setup();
    const body = JSON.stringify(track);
    const path = `${webhook}/locked`;
    const signed = { "x-signature": sign(body) };
    expect((await send(event(path, body, signed))).body.code).toBe("auth.bearer_invalid");
    expect((await send(event(path, body, { ...signed, authorization: "Bearer wrong" }))).status).toBe(401);
    expect(sent).toHaveLength(0);
    expect((await send(event(path, body, { ...signed, authorization: `Bearer ${bearer}` }))).status).toBe(200);
    expect(sent[0]?.meta.source).toBe("locked");
  });

  it("answers 400 request.invalid_json for a signed body that is not JSON", async () => {
    const { send, sent } = setup();
    const body = '{"type":"track",';
    const answer = await send(event(webhook, body, { "x-signature": sign(body) }));
    expect(answer).toMatchObject({ status: 400, body: { code: "request.invalid_json" } });
    expect(answer.body.message).not.toContain('"type"');
    expect(sent).toHaveLength(0);
  });

  it("accepts text/plain, a missing content type and rudder-sdk-node's form label on JSON; refuses others with 415", async () => {
    const { send, calls } = setup();
    const body = JSON.stringify(track);
    const signed = { "x-signature": sign(body) };
    expect((await send(event(webhook, body, { ...signed, "content-type": "text/plain;charset=UTF-8" }))).status).toBe(
      200,
    );
    const noType = event(webhook, body, signed);
    delete noType.headers["content-type"];
    expect((await send(noType)).status).toBe(200);
    const form = await send(event(webhook, body, { ...signed, "content-type": "application/x-www-form-urlencoded" }));
    expect(form.status).toBe(200);
    const multipart = await send(
      event(webhook, body, { ...signed, "content-type": "multipart/form-data; boundary=b" }),
    );
    expect(multipart).toMatchObject({ status: 415, body: { code: "request.content_type_unsupported" } });
    expect(calls()).toHaveLength(3);
  });

  it("answers 405 to other methods and 404 to other paths", async () => {
    const { send } = setup();
    expect((await send(event(webhook, undefined, {}, { method: "GET" }))).body.code).toBe("request.method_not_allowed");
    expect((await send(event("/v1/webhooks/segment/acme/product/x", "{}"))).body.code).toBe("route.not_found");
  });
});

describe("tracking API requests", () => {
  const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

  it("accepts HTTP Basic auth with the write key", async () => {
    const { send, calls, sent } = setup();
    const answer = await send(
      event("/v1/t", JSON.stringify({ userId: "u1", event: "E" }), { authorization: basic(writeKey) }),
    );
    expect(answer.status).toBe(200);
    // receivedAt is ours: the time of receipt (clock-skew correction).
    expect(calls()).toEqual([{ userId: "u1", event: "E", type: "track", receivedAt: sent[0]?.meta.receivedAt }]);
    expect(sent[0]?.meta).toMatchObject({ workspaceId: "acme", source: "product" });
  });

  it("accepts the write key in the body and does not queue it", async () => {
    const { send, sent } = setup();
    const body = JSON.stringify({ batch: [{ type: "identify", userId: "u1", writeKey }], writeKey });
    expect((await send(event("/v1/batch", body, { "content-type": "text/plain" }))).status).toBe(200);
    expect(sent[0]?.bodies.join("")).not.toContain(writeKey);
  });

  it("answers 401 without a write key or with an unknown one", async () => {
    const { send, sent } = setup();
    const body = JSON.stringify({ userId: "u1", event: "E" });
    expect((await send(event("/v1/track", body))).body.code).toBe("auth.write_key_missing");
    expect((await send(event("/v1/track", body, { authorization: basic("nope") }))).body.code).toBe(
      "auth.write_key_invalid",
    );
    expect(sent).toHaveLength(0);
  });

  it("answers 400 for a type that does not match the path", async () => {
    const { send } = setup();
    const answer = await send(
      event("/v1/identify", JSON.stringify({ type: "track", userId: "u1", event: "E" }), {
        authorization: basic(writeKey),
      }),
    );
    expect(answer).toMatchObject({ status: 400, body: { code: "envelope.type_mismatch" } });
  });
});

describe("dependency failures", () => {
  const body = JSON.stringify(track);
  const signed = { "x-signature": sign(body) };

  it("answers 503 queue.unavailable when the queue does not take the messages", async () => {
    const queue: RawQueueSender = {
      async send() {
        throw new DependencyError("queue.unavailable", "The queue is unavailable");
      },
    };
    const { send, lines } = setup({ queue });
    const answer = await send(event(webhook, body, signed));
    expect(answer).toMatchObject({ status: 503, body: { success: false, code: "queue.unavailable" } });
    expect(lines[0]?.level).toBe("error");
  });

  it("answers 503 when credentials cannot be looked up", async () => {
    const failing: CredentialLookup = {
      findSource: async () => {
        throw new DependencyError("credentials.unavailable", "DynamoDB is throttling");
      },
      findSourceByWriteKeyHash: async () => undefined,
    };
    const { send } = setup({ credentials: failing });
    expect((await send(event(webhook, body, signed))).status).toBe(503);
  });

  it("answers 500 with a generic message for a bug, without its details", async () => {
    const queue: RawQueueSender = {
      async send() {
        throw new TypeError("cannot read properties of undefined (internal detail)");
      },
    };
    const { send } = setup({ queue });
    const answer = await send(event(webhook, body, signed));
    expect(answer).toMatchObject({
      status: 500,
      body: { success: false, code: "internal.error", message: "Internal error" },
    });
  });
});

describe("the request log line", () => {
  it("has ids, counts, outcome and duration, and no credentials or payload contents", async () => {
    const { send, lines } = setup();
    const calls = [
      { type: "identify", userId: "u1", traits: { email: "private@example.com" }, writeKey },
      { type: "track", userId: "u1", event: "Secret Project Opened" },
    ];
    const body = JSON.stringify(calls);
    await send(
      event("/v1/webhooks/segment/acme/locked", body, {
        "x-signature": sign(JSON.stringify(calls[0])),
        authorization: `Bearer ${bearer}`,
      }),
    );
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line?.message).toBe("ingest");
    expect(line?.attributes).toMatchObject({
      requestId: "req-123",
      route: "webhook",
      workspaceId: "acme",
      source: "locked",
      events: 2,
      messages: 1,
      bytes: Buffer.byteLength(body),
      outcome: "queued",
      status: 200,
      durationMs: expect.any(Number),
    });
    const logged = JSON.stringify(lines);
    for (const secretValue of [secret, writeKey, bearer, "private@example.com", "Secret Project Opened"]) {
      expect(logged).not.toContain(secretValue);
    }
  });

  it("logs the error code as the outcome of a refused request", async () => {
    const { send, lines } = setup();
    await send(event(webhook, JSON.stringify(track), { "x-signature": "0".repeat(40) }));
    expect(lines[0]?.attributes).toMatchObject({ outcome: "segment.signature_invalid", status: 401, events: 0 });
  });
});
