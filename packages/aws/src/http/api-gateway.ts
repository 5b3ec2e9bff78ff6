import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { HttpRequest } from "../../../core/src/http/request";
import { errorBody, httpStatusOf } from "../../../core/src/http/status";

/** An API Gateway HTTP API (payload v2) Lambda handler, as `functions/` export them. */
export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The request an API Gateway HTTP API event carries. API Gateway lowercases header names and
 * base64-encodes bodies it does not consider text; both cases come out as raw bytes.
 *
 * @example
 * const request = httpRequestOf(event);
 */
export function httpRequestOf(event: APIGatewayProxyEventV2): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  const given = event.headers ?? {};
  for (const name in given) if (Object.hasOwn(given, name)) headers[name.toLowerCase()] = given[name];
  const body =
    event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    headers,
    body,
    requestId: event.requestContext.requestId,
    receivedAt: new Date(event.requestContext.timeEpoch || Date.now()),
  };
}

/**
 * A JSON answer.
 *
 * @example
 * return jsonResult(200, { success: true });
 */
export function jsonResult(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return jsonTextResult(statusCode, JSON.stringify(body));
}

/** A JSON answer whose body is serialised already (an answer that never changes, serialised once). */
export function jsonTextResult(statusCode: number, text: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json; charset=utf-8" }, body: text };
}

/**
 * The JSON error answer for an error, its status chosen by `httpStatusOf`.
 *
 * @example
 * return errorResult(new AuthError("auth.write_key_invalid", "Unknown write key")); // 401
 */
export function errorResult(error: unknown): APIGatewayProxyStructuredResultV2 {
  return jsonResult(httpStatusOf(error), errorBody(error));
}

/**
 * Name and message of a server-side failure, and of its cause, for the request's log line (SDK
 * and config errors carry no payload data; answers never show this).
 *
 * @example
 * line.error = errorSummary(error); // "DependencyError: queue unavailable (cause: TimeoutError: …)"
 */
export function errorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.name}: ${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}
