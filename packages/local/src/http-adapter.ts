import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import { LimitError } from "../../core/src/errors";
import { mediaTypeOf } from "../../core/src/http/media-type";
import { errorBody, httpStatusOf } from "../../core/src/http/status";
import { type CorsSettings, httpApiCors } from "../../resources/src/cors";
import { deployedRequestPath } from "../../resources/src/definitions";

/**
 * Serves API Gateway HTTP API (payload v2) Lambda handlers over a plain Node HTTP server, the way
 * API Gateway calls them: the local stack and the tests run the real handlers through it.
 */

/** A Lambda handler for HTTP API events; a string result is a 200 JSON body, as on API Gateway. */
export type HttpApiLambda = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** A handler served under a path prefix (`/v1/webhooks`, `/v1`, `/`). */
export interface HandlerRoute {
  prefix: string;
  handler: HttpApiLambda;
  /** Bodies over this are answered 413 without reading further. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** A server started for handlers. */
export interface HandlerServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Absolute cap on a request body read locally: API Gateway's own (10 MB). */
export const defaultMaxBodyBytes = deployedRequestPath.apiGatewayPayloadBytes;

/** How the served API answers browsers; `false` for no CORS at all. Default: the deployed API's. */
export interface ServeOptions {
  cors?: CorsSettings | false;
}

/** The `Access-Control-Allow-Origin` value for a request's Origin, or undefined when not allowed. */
function allowedOrigin(cors: CorsSettings, origin: string): string | undefined {
  if (cors.allowOrigins.includes("*")) return "*";
  return cors.allowOrigins.includes(origin) ? origin : undefined;
}

/**
 * Answers a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) as API Gateway
 * does when CORS is configured: itself, for every path, without calling a handler.
 */
function answerPreflight(cors: CorsSettings, origin: string, response: ServerResponse): void {
  const allowed = allowedOrigin(cors, origin);
  response.writeHead(
    204,
    allowed === undefined
      ? {}
      : {
          "access-control-allow-origin": allowed,
          "access-control-allow-methods": cors.allowMethods.join(","),
          "access-control-allow-headers": cors.allowHeaders.join(","),
          "access-control-max-age": String(cors.maxAgeSeconds),
          ...(cors.allowCredentials ? { "access-control-allow-credentials": "true" } : {}),
          ...(allowed === "*" ? {} : { vary: "Origin" }),
        },
  );
  response.end();
}

/** Content types API Gateway passes as text; other bodies (and none) arrive base64-encoded. */
function isTextContentType(contentType: string | undefined): boolean {
  const media = mediaTypeOf(contentType);
  if (!media) return false;
  return (
    media.startsWith("text/") ||
    /^application\/(json|javascript|xml|x-www-form-urlencoded|[a-z0-9.-]+\+(json|xml))$/.test(media)
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function textOf(body: Buffer): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

function apiGatewayTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/**
 * The API Gateway HTTP API (v2) event for a Node request and its body: header names lowercased
 * and repeated values joined by commas, cookies split out, query parameters parsed, and the body
 * as text for text content types, else base64 with `isBase64Encoded`, as API Gateway does.
 *
 * @example
 * const event = toApiGatewayEvent(req, body);
 */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  now: Date = new Date(),
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === "cookie") continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  const cookieHeader = request.headers.cookie;
  const cookies = cookieHeader
    ? cookieHeader
        .split(";")
        .map((c) => c.trim())
        .filter(Boolean)
    : undefined;
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    queryStringParameters[name] = name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
  }
  const method = (request.method ?? "GET").toUpperCase();
  const text = body.length > 0 && isTextContentType(headers["content-type"]) ? textOf(body) : undefined;
  const host = headers.host ?? "localhost";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(url.search ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: host,
      domainPrefix: host.split(".")[0] ?? host,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0
      ? text !== undefined
        ? { body: text, isBase64Encoded: false }
        : { body: body.toString("base64"), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  };
}

/**
 * Writes a handler's result as API Gateway would: a string (or an object without `statusCode`)
 * is a 200 JSON body; a structured result gives status, headers, cookies and a body that may be
 * base64.
 */
export function writeApiGatewayResult(
  response: ServerResponse,
  result: APIGatewayProxyResultV2,
  options: { dropCorsHeaders?: boolean } = {},
): void {
  if (typeof result === "string" || (typeof result === "object" && result !== null && !("statusCode" in result))) {
    const body = typeof result === "string" ? result : JSON.stringify(result);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
    return;
  }
  const structured = result as Exclude<APIGatewayProxyResultV2, string>;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    const lower = name.toLowerCase();
    // With CORS configured, API Gateway ignores the CORS headers a function returns.
    if (options.dropCorsHeaders && lower.startsWith("access-control-")) continue;
    headers[lower] = String(value);
  }
  if (structured.cookies?.length) headers["set-cookie"] = structured.cookies;
  const body =
    structured.body === undefined ? "" : Buffer.from(structured.body, structured.isBase64Encoded ? "base64" : "utf8");
  response.writeHead(structured.statusCode ?? 200, headers);
  response.end(body);
}

function writeJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  response.end(JSON.stringify(body));
}

/** Reads a body up to `max` bytes; undefined when it is larger (reading stops there). */
function readBody(request: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > max) return resolve(undefined);
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        request.off("data", onData);
        request.pause();
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}

function routeFor(routes: readonly HandlerRoute[], path: string): HandlerRoute | undefined {
  let best: HandlerRoute | undefined;
  for (const route of routes) {
    const prefix = route.prefix.replace(/\/$/, "");
    const matches = prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
    if (matches && (!best || prefix.length > best.prefix.replace(/\/$/, "").length)) best = route;
  }
  return best;
}

/**
 * A Node request listener that serves each request with the handler of the longest matching path
 * prefix, through an API Gateway v2 event. A body over the route's limit is answered 413 (JSON,
 * code `request.too_large`) and the connection closed, without buffering the rest. A handler
 * that throws is answered 500 `{"message":"Internal Server Error"}`, as API Gateway does. CORS is
 * answered as API Gateway answers it with the deployed configuration (`options.cors`): browser
 * preflights by the adapter itself, and `Access-Control-Allow-Origin` on every answer to a request
 * with an Origin.
 *
 * @example
 * createServer(serveHandlers([{ prefix: "/v1", handler: ingestHandler }])).listen(3000);
 */
export function serveHandlers(routes: readonly HandlerRoute[], options: ServeOptions = {}): RequestListener {
  const cors = options.cors ?? httpApiCors;
  return (request, response) => {
    void (async () => {
      const path = new URL(request.url ?? "/", "http://localhost").pathname;
      const origin = request.headers.origin;
      if (cors && origin !== undefined) {
        if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
          request.resume();
          return answerPreflight(cors, origin, response);
        }
        const allowed = allowedOrigin(cors, origin);
        if (allowed !== undefined) {
          response.setHeader("access-control-allow-origin", allowed);
          if (allowed !== "*") response.setHeader("vary", "Origin");
        }
      }
      const route = routeFor(routes, path);
      if (!route) {
        request.resume();
        return writeJson(response, 404, { success: false, code: "route.not_found", message: `No endpoint at ${path}` });
      }
      const max = route.maxBodyBytes ?? defaultMaxBodyBytes;
      const body = await readBody(request, max);
      if (body === undefined) {
        const error = new LimitError("request.too_large", `Request body is over ${max} bytes`);
        // Reading stays paused; the socket is not closed at once: closing it with the unread upload
        // in its buffer makes the kernel reset the connection, and the client may see the reset
        // before the answer. It is closed a few seconds later (or by the client, once answered).
        // (Node's server would otherwise read and discard the rest of an untouched body itself.)
        if (request.listenerCount("data") === 0) request.once("data", () => {}).pause();
        response.once("finish", () => setTimeout(() => request.destroy(), 5000).unref());
        return writeJson(response, httpStatusOf(error), errorBody(error));
      }
      let result: APIGatewayProxyResultV2;
      try {
        result = await route.handler(toApiGatewayEvent(request, body));
      } catch {
        return writeJson(response, 500, { message: "Internal Server Error" });
      }
      writeApiGatewayResult(response, result, { dropCorsHeaders: cors !== false });
    })().catch((error: unknown) => {
      if (!response.headersSent) writeJson(response, 500, { message: "Internal Server Error" });
      else response.destroy(error instanceof Error ? error : undefined);
    });
  };
}

/**
 * Starts a server for the handlers on 127.0.0.1 (a free port unless one is given).
 *
 * @example
 * const server = await startHandlerServer([{ prefix: "/", handler }]);
 * await fetch(`${server.url}/v1/track`, { method: "POST", body });
 * await server.close();
 */
export async function startHandlerServer(
  routes: readonly HandlerRoute[],
  options: { host?: string; port?: number } & ServeOptions = {},
): Promise<HandlerServer> {
  const server = createServer(serveHandlers(routes, { cors: options.cors }));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
