import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, EventBridgeEvent } from "aws-lambda";
import { deployedRequestPath } from "../../packages/resources/src/definitions";

/**
 * Events as AWS delivers them to the functions, with the field set of AWS's documented examples:
 * API Gateway HTTP API payload format 2.0 (Lambda developer guide, "Working with AWS Lambda proxy
 * integrations for HTTP APIs") and EventBridge Scheduler's scheduled event. SQS records come from
 * real received messages through `sqsRecordOf` (packages/local/src/poller.ts), which carries the
 * fields of Lambda's documented SQS event.
 */

/** Lambda's limit on a synchronous invocation's request (the event), in bytes. */
export const lambdaSyncPayloadLimitBytes = deployedRequestPath.lambdaEventBytes;

export interface HttpRequestSpec {
  method: string;
  /** The path as the client sent it, with the query string. */
  url: string;
  headers?: Record<string, string>;
  cookies?: string[];
  body?: string | Buffer;
  /** Base64-encode the body as API Gateway does for bodies it treats as binary. */
  base64?: boolean;
  sourceIp?: string;
}

/** Finds the API route (`METHOD /path/{param}`) a request matches, as API Gateway does. */
export function matchRoute(
  routes: readonly string[],
  method: string,
  path: string,
): { routeKey: string; pathParameters?: Record<string, string> } {
  for (const routeKey of routes) {
    const [routeMethod, template = ""] = routeKey.split(" ");
    if (routeMethod !== method) continue;
    const names: string[] = [];
    const pattern = template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    const match = new RegExp(`^${pattern}$`).exec(path);
    if (!match) continue;
    if (names.length === 0) return { routeKey };
    return {
      routeKey,
      pathParameters: Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")])),
    };
  }
  throw new Error(`API Gateway would answer 404: no route for ${method} ${path}`);
}

function apiGatewayTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/**
 * The payload 2.0 event API Gateway sends for a request on a deployed route. Header names are
 * lower-cased, `cookie` headers become `cookies`, repeated query parameters are joined with
 * commas, and API Gateway's own headers (`x-forwarded-*`, `x-amzn-trace-id`, `content-length`,
 * `host`) are added.
 *
 * @example
 * const event = apiGatewayEvent(routes, { method: "GET", url: "/health" }, { apiId: "abc123", region: "us-east-1" });
 */
export function apiGatewayEvent(
  routes: readonly string[],
  request: HttpRequestSpec,
  api: { apiId: string; region: string; now?: Date },
): APIGatewayProxyEventV2 {
  const now = api.now ?? new Date();
  const url = new URL(request.url, "https://placeholder");
  const domainName = `${api.apiId}.execute-api.${api.region}.amazonaws.com`;
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  Object.assign(headers, {
    host: domainName,
    "x-amzn-trace-id": `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replaceAll("-", "").slice(0, 24)}`,
    "x-forwarded-for": request.sourceIp ?? "203.0.113.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    ...(body ? { "content-length": String(body.byteLength) } : {}),
  });
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    queryStringParameters[name] = name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
  }
  const { routeKey, pathParameters } = matchRoute(routes, request.method, url.pathname);
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    ...(request.cookies?.length ? { cookies: request.cookies } : {}),
    headers,
    ...(url.search ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: api.apiId,
      domainName,
      domainPrefix: api.apiId,
      http: {
        method: request.method,
        path: url.pathname,
        protocol: "HTTP/1.1",
        sourceIp: request.sourceIp ?? "203.0.113.10",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: `${randomUUID().slice(0, 8)}=`,
      routeKey,
      stage: "$default",
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body ? { body: request.base64 ? body.toString("base64") : body.toString("utf8") } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    isBase64Encoded: Boolean(body && request.base64),
  };
  const size = Buffer.byteLength(JSON.stringify(event));
  if (size > lambdaSyncPayloadLimitBytes) {
    throw new Error(
      `Lambda refuses this invocation: the event is ${size} bytes, over its 6 MB limit (413 from API Gateway)`,
    );
  }
  return event;
}

/** EventBridge's scheduled event, as a `rate(...)` rule delivers it to the sweep. */
export function scheduledEvent(region: string, ruleName: string): EventBridgeEvent<"Scheduled Event", object> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: [`arn:aws:events:${region}:123456789012:rule/${ruleName}`],
    detail: {},
  };
}
