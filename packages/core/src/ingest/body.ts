import { LimitError, ValidationError } from "../errors";
import { ingestLimits } from "./limits";

/**
 * Media types a JSON body may come with: `application/json` (Segment webhooks, server libraries),
 * `text/plain` (analytics.js, which avoids a CORS preflight that way), and none at all.
 */
function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === "") return true;
  const media = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return media === "application/json" || media === "text/plain" || /^application\/[a-z0-9.+-]+\+json$/.test(media);
}

/**
 * Refuses a content type that cannot carry a Segment call.
 *
 * @example
 * checkContentType(headers["content-type"]); // throws for "application/x-www-form-urlencoded"
 */
export function checkContentType(contentType: string | undefined): void {
  if (!isJsonMediaType(contentType)) {
    throw new ValidationError(
      "request.content_type_unsupported",
      "Content-Type must be application/json or text/plain with a JSON body",
    );
  }
}

/**
 * Refuses a body over the request limit. Runs on the raw bytes, before any parsing.
 *
 * @example
 * checkRequestSize(body); // throws LimitError "request.too_large" over 500 KB
 */
export function checkRequestSize(body: Uint8Array): void {
  if (body.byteLength > ingestLimits.maxRequestBytes) {
    throw new LimitError(
      "request.too_large",
      `Request body is ${body.byteLength} bytes; the limit is 500 KB (${ingestLimits.maxRequestBytes} bytes) per request`,
    );
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON value of a request body (UTF-8, a leading BOM ignored).
 *
 * @example
 * const body = parseJsonBody(request.body);
 */
export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (cause) {
    throw new ValidationError("request.invalid_json", "Request body is not valid UTF-8", { cause });
  }
  if (text.trim() === "") throw new ValidationError("request.invalid_json", "Request body is empty");
  if (jsonNestingExceeds(text, ingestLimits.maxJsonDepth)) {
    throw new ValidationError(
      "request.too_deep",
      `Request body nests arrays and objects more than ${ingestLimits.maxJsonDepth} levels deep`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    // The parser's message quotes the body; the answer names the problem without echoing data.
    throw new ValidationError("request.invalid_json", "Request body is not valid JSON", { cause });
  }
}

/**
 * True when a JSON text nests arrays and objects more than `limit` levels deep (brackets inside
 * strings do not count). One pass over the text, without recursion, before anything parses it.
 *
 * @example
 * jsonNestingExceeds('{"a":[1]}', 1); // true
 */
export function jsonNestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
