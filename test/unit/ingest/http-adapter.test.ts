import { request as httpRequest } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { httpApiCors } from "../../../packages/resources/src/cors";

const seen: { name: string; event: APIGatewayProxyEventV2 }[] = [];
const recording =
  (name: string, result: APIGatewayProxyResultV2 = { statusCode: 202, body: "{}" }) =>
  async (event: APIGatewayProxyEventV2) => {
    seen.push({ name, event });
    return result;
  };

let server: HandlerServer;
beforeAll(async () => {
  server = await startHandlerServer([
    { prefix: "/", handler: recording("root") },
    { prefix: "/v1", handler: recording("v1"), maxBodyBytes: 1000 },
    {
      prefix: "/v1/structured",
      handler: recording("structured", {
        statusCode: 201,
        headers: { "X-Custom": "yes", "content-type": "text/plain" },
        cookies: ["a=1; Path=/", "b=2"],
        body: Buffer.from("binary ok").toString("base64"),
        isBase64Encoded: true,
      }),
    },
    { prefix: "/string", handler: recording("string", '{"hello":"world"}') },
    {
      prefix: "/boom",
      handler: async () => {
        throw new Error("handler failed");
      },
    },
  ]);
});
afterAll(async () => {
  await server.close();
});

const last = () => seen[seen.length - 1] as { name: string; event: APIGatewayProxyEventV2 };

describe("HTTP adapter: Node request → API Gateway HTTP API v2 event", () => {
  it("builds the event: path, query, lowercased headers, cookies, request context, text body", async () => {
    const before = Date.now();
    const response = await fetch(`${server.url}/v1/track?a=1&b=2&a=3`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Signature": "abc", Cookie: "x=1; y=2" },
      body: '{"type":"track"}',
    });
    expect(response.status).toBe(202);
    const { name, event } = last();
    expect(name).toBe("v1");
    expect(event).toMatchObject({
      version: "2.0",
      rawPath: "/v1/track",
      rawQueryString: "a=1&b=2&a=3",
      queryStringParameters: { a: "1,3", b: "2" },
      cookies: ["x=1", "y=2"],
      body: '{"type":"track"}',
      isBase64Encoded: false,
    });
    expect(event.headers["x-signature"]).toBe("abc");
    expect(event.headers["content-type"]).toBe("application/json");
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext.http).toMatchObject({ method: "POST", path: "/v1/track", sourceIp: "127.0.0.1" });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
  });

  it("base64-encodes bodies that are not text, and bodies without a content type, as API Gateway does", async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    await fetch(`${server.url}/v1/x`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(last().event).toMatchObject({ isBase64Encoded: true, body: bytes.toString("base64") });

    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/x`, { method: "POST" }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end('{"a":1}');
    });
    expect(last().event.headers["content-type"]).toBeUndefined();
    expect(last().event).toMatchObject({ isBase64Encoded: true, body: Buffer.from('{"a":1}').toString("base64") });
  });

  it("routes by the longest matching path prefix", async () => {
    await fetch(`${server.url}/health`);
    expect(last().name).toBe("root");
    await fetch(`${server.url}/v1`);
    expect(last().name).toBe("v1");
    await fetch(`${server.url}/v1/structured/x`);
    expect(last().name).toBe("structured");
    await fetch(`${server.url}/v10`);
    expect(last().name).toBe("root");
  });
});

describe("HTTP adapter: handler result → HTTP answer", () => {
  it("writes status, headers, cookies and a base64 body", async () => {
    const response = await fetch(`${server.url}/v1/structured`);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-custom")).toBe("yes");
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2"]);
    expect(await response.text()).toBe("binary ok");
  });

  it("answers a string result as a 200 JSON body", async () => {
    const response = await fetch(`${server.url}/string`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ hello: "world" });
  });

  it("answers 500 like API Gateway when the handler throws", async () => {
    const response = await fetch(`${server.url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Internal Server Error" });
  });
});

describe("HTTP adapter: body cap", () => {
  it("answers 413 request.too_large for a declared length over the route's cap, without calling the handler", async () => {
    const count = seen.length;
    const response = await fetch(`${server.url}/v1/track`, { method: "POST", body: "x".repeat(5000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ success: false, code: "request.too_large" });
    expect(seen.length).toBe(count);
  });

  it("stops reading a streamed (chunked) body once it passes the cap", async () => {
    const count = seen.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/track`, { method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (error) => reject(error));
      // Chunked: no content-length, so the cap is found while reading.
      req.write("x".repeat(600));
      setTimeout(() => req.end("y".repeat(600)), 50);
    });
    expect(status).toBe(413);
    expect(seen.length).toBe(count);
  });
});

describe("HTTP adapter: CORS as API Gateway answers it with the deployed configuration", () => {
  it("answers a preflight itself (any path), with the shared configuration's lists, never calling a handler", async () => {
    const before = seen.length;
    const response = await fetch(`${server.url}/v1/t`, {
      method: "OPTIONS",
      headers: {
        origin: "https://site.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(response.status).toBe(204);
    expect(Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-")))).toEqual({
      "access-control-allow-origin": "*",
      "access-control-allow-methods": httpApiCors.allowMethods.join(","),
      "access-control-allow-headers": httpApiCors.allowHeaders.join(","),
      "access-control-max-age": String(httpApiCors.maxAgeSeconds),
    });
    expect(seen.length).toBe(before);
  });

  it("passes an OPTIONS that is not a preflight to the handler, and leaves requests without Origin alone", async () => {
    const before = seen.length;
    const plain = await fetch(`${server.url}/v1/t`, { method: "OPTIONS" });
    expect(plain.status).toBe(202);
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    expect(seen.length).toBe(before + 1);
  });

  it("adds Access-Control-Allow-Origin to an answer and drops the handler's own CORS headers", async () => {
    const cors = await startHandlerServer([
      {
        prefix: "/",
        handler: async () => ({
          statusCode: 200,
          headers: { "access-control-allow-origin": "https://evil.example", "x-kept": "1" },
          body: "{}",
        }),
      },
    ]);
    try {
      const response = await fetch(`${cors.url}/v1/track`, {
        method: "POST",
        headers: { origin: "https://a.example" },
      });
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("x-kept")).toBe("1");
    } finally {
      await cors.close();
    }
  });

  it("an allow-list of origins answers only those, with Vary: Origin; `cors: false` answers none", async () => {
    const listed = await startHandlerServer([{ prefix: "/", handler: recording("listed") }], {
      cors: { ...httpApiCors, allowOrigins: ["https://a.example"] },
    });
    const none = await startHandlerServer([{ prefix: "/", handler: recording("none") }], { cors: false });
    try {
      const preflight = (url: string, origin: string) =>
        fetch(`${url}/v1/t`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
      const allowed = await preflight(listed.url, "https://a.example");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://a.example");
      expect(allowed.headers.get("vary")).toBe("Origin");
      const other = await preflight(listed.url, "https://b.example");
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const off = await preflight(none.url, "https://a.example");
      expect(off.status).toBe(202); // the handler's answer: no CORS layer at all
      expect(off.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await listed.close();
      await none.close();
    }
  });
});
