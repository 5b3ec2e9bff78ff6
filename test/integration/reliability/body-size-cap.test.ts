import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createIngestDependencies, createIngestHandler } from "../../../packages/aws/src/ingest/handler";
import { ingestLimits, requestLimits } from "../../../packages/core/src/ingest/limits";
import { defaultMaxBodyBytes, serveHandlers } from "../../../packages/local/src/http-adapter";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace } from "../../support/normalize-harness";
import { segmentSignature } from "../../support/segment-sender";

/**
 * Request bodies are size-capped before anything parses them: the ingest handler refuses a body
 * over its route's limit (500 KB tracking, 4 MiB webhooks: 413) without calling JSON.parse or looking up a credential, and the local HTTP
 * adapter stops reading a body at its cap (10 MB, API Gateway's) and answers 413 itself, so an endless upload
 * costs at most the cap.
 */

let config: Config;
let ws: string;
let secret: string;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  clients.push(db);
  ws = freshWorkspace();
  ({ sharedSecret: secret } = await new WorkspaceStore(db, config.entitiesTable).createWorkspace({ id: ws }));
});

afterAll(() => {
  for (const client of clients) client.destroy();
});

afterEach(() => {
  vi.restoreAllMocks();
});

function event(path: string, body: string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers,
    requestContext: {
      accountId: "test",
      apiId: "test",
      domainName: "localhost",
      domainPrefix: "localhost",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "req-1",
      routeKey: "$default",
      stage: "$default",
      time: "",
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

describe("the ingest handler", () => {
  it("refuses an oversize body (valid JSON or not) with 413 before parsing it or looking up credentials", async () => {
    const deps = createIngestDependencies({ ...config, credentialCacheSeconds: 0 });
    const findSource = vi.spyOn(deps.credentials, "findSource");
    const findByKey = vi.spyOn(deps.credentials, "findSourceByWriteKeyHash");
    const handler = createIngestHandler(deps);
    const call = (pad: number) =>
      JSON.stringify({ type: "track", userId: "u1", event: "E", properties: { pad: "x".repeat(pad) } });
    const parse = vi.spyOn(JSON, "parse");
    const results: string[] = [];
    for (const [path, limit, headers] of [
      [`/v1/webhooks/segment/${ws}`, requestLimits.webhook.maxRequestBytes, { "content-type": "application/json" }],
      [
        "/v1/track",
        requestLimits.tracking.maxRequestBytes,
        { "content-type": "application/json", authorization: `Basic ${Buffer.from("wk:").toString("base64")}` },
      ],
    ] as const) {
      const oversize = [
        { label: "valid JSON just over the limit", body: call(limit) },
        { label: "not JSON at all", body: "{".repeat(limit + 1) },
      ];
      for (const { label, body } of oversize) {
        const signed: Record<string, string> = path.includes("webhooks")
          ? { "x-signature": segmentSignature(body, secret) }
          : {};
        const answer = await handler(event(path, body, { ...headers, ...signed }));
        results.push(`${label} ${path.split("/")[2]}: ${answer.statusCode}`);
        expect(answer.statusCode, label).toBe(413);
        expect(JSON.parse(answer.body ?? "{}").code).toBe("request.too_large");
      }
    }
    // JSON.parse ran only for reading the answers above (one per answer), never inside the handler.
    expect(parse).toHaveBeenCalledTimes(4);
    expect(parse.mock.calls.every(([text]) => String(text).length < 1000)).toBe(true);
    expect(findSource).not.toHaveBeenCalled();
    expect(findByKey).not.toHaveBeenCalled();

    // The same handler parses a body at the limit: the cap is what stopped the others.
    parse.mockClear();
    const atLimit = call(requestLimits.webhook.maxRequestBytes - 200);
    expect(Buffer.byteLength(atLimit)).toBeLessThanOrEqual(requestLimits.webhook.maxRequestBytes);
    const answer = await handler(
      event(`/v1/webhooks/segment/${ws}`, atLimit, {
        "content-type": "application/json",
        "x-signature": segmentSignature(atLimit, secret),
      }),
    );
    expect(answer.statusCode).toBe(400); // parsed, then refused as an event over 32 KB
    expect(JSON.parse(answer.body ?? "{}").code).toBe("event.too_large");
    expect(parse.mock.calls.some(([text]) => String(text).length > ingestLimits.maxEventBytes)).toBe(true);
    console.log(
      `body size cap (handler): ${results.join(", ")}; JSON.parse on oversize bodies: 0; credential look-ups: 0`,
    );
  });
});

describe("the local HTTP adapter", () => {
  /** Streams `total` bytes (or until the answer comes) and reports what was written and answered. */
  function upload(url: string, total: number, declareLength: boolean) {
    return new Promise<{ status: number; body: string; written: number }>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/track`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(declareLength ? { "content-length": String(total) } : { "transfer-encoding": "chunked" }),
        },
      });
      let written = 0;
      let answered = false;
      req.on("response", (res) => {
        answered = true;
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, written }));
      });
      // The server closes the connection after its answer; the unsent rest fails to write.
      req.on("error", (error) => {
        if (!answered) reject(error);
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!answered && written < total) {
          written += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      pump();
    });
  }

  it("stops reading a body at its cap and answers 413 without calling the handler", async () => {
    const handler = vi.fn(async () => ({ statusCode: 200, body: "{}" }));
    const listener = serveHandlers([{ prefix: "/v1", handler }]);
    let read = 0;
    const server = createServer((req, res) => {
      req.on("data", (chunk: Buffer) => {
        read += chunk.length;
      });
      listener(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const total = 50 * 1024 * 1024;
      const streamed = await upload(url, total, false);
      const streamedRead = read;
      read = 0;
      const declared = await upload(url, total, true);
      const declaredRead = read;
      console.log(
        `body size cap (HTTP adapter, cap ${defaultMaxBodyBytes} bytes): 50 MB chunked upload answered ${streamed.status} after the server read ${streamedRead} bytes; ` +
          `50 MB declared in Content-Length answered ${declared.status} after ${declaredRead} bytes`,
      );
      for (const answer of [streamed, declared]) {
        expect(answer.status).toBe(413);
        expect(JSON.parse(answer.body)).toMatchObject({ success: false, code: "request.too_large" });
        expect(answer.written).toBeLessThan(total);
      }
      // Reading stops within one chunk of the cap (a declared length over it is answered at once;
      // what this test's own byte counter drains meanwhile stays under the cap too).
      expect(streamedRead).toBeLessThanOrEqual(defaultMaxBodyBytes + 64 * 1024);
      expect(declaredRead).toBeLessThanOrEqual(defaultMaxBodyBytes);
      expect(handler).not.toHaveBeenCalled();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
