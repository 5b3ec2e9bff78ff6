import { isAscii } from "node:buffer";
import { LimitError, ValidationError } from "../errors";
import { isJsonMediaType, mediaTypeOf } from "../http/media-type";
import { describeBytes, ingestLimits, requestLimits } from "./limits";

/**
 * Media types a JSON body may come with. `application/json` and `application/*+json` (Segment
 * webhooks, server libraries); `text/plain` (analytics.js: its own default, though it still needs a
 * preflight since it always sends `Authorization`); none at all; and
 * `application/x-www-form-urlencoded`, what `@rudderstack/rudder-sdk-node` ends up labelling its
 * gzipped JSON with (axios's default for a Buffer). Under every one of them the body must parse as
 * JSON; anything else is refused.
 */
const otherJsonLabels = new Set(["text/plain", "application/x-www-form-urlencoded"]);

function isJsonLabel(contentType: string | undefined): boolean {
  // What Segment and most senders send, answered without reading it apart.
  if (contentType === "application/json") return true;
  if (contentType === undefined || contentType.trim() === "") return true;
  const media = mediaTypeOf(contentType);
  return isJsonMediaType(media) || otherJsonLabels.has(media);
}

/**
 * Refuses a content type that no known sender uses for a Segment call.
 *
 * @example
 * checkContentType(headers["content-type"]); // throws for "multipart/form-data"
 */
export function checkContentType(contentType: string | undefined): void {
  if (!isJsonLabel(contentType)) {
    throw new ValidationError(
      "request.content_type_unsupported",
      "Content-Type must be application/json or text/plain (or a label a known Segment-compatible library sends) with a JSON body",
    );
  }
}

/**
 * Refuses a body over the request limit. Runs on the raw bytes, before any parsing.
 *
 * @example
 * checkRequestSize(body, requestLimits.tracking.maxRequestBytes); // throws LimitError "request.too_large" over 500 KB
 */
export function checkRequestSize(body: Uint8Array, maxBytes: number = requestLimits.tracking.maxRequestBytes): void {
  if (body.byteLength > maxBytes) {
    throw new LimitError(
      "request.too_large",
      `Request body is ${body.byteLength} bytes; the limit is ${describeBytes(maxBytes)} per request`,
    );
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A body's text (a leading BOM dropped); ASCII, the common case, is copied without decoding. */
function decodeUtf8(body: Uint8Array): string {
  if (isAscii(body)) {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return bytes.toString("latin1");
  }
  try {
    return utf8.decode(body);
  } catch (cause) {
    throw new ValidationError("request.invalid_json", "Request body is not valid UTF-8", { cause });
  }
}

/**
 * The JSON value of a request body (UTF-8, a leading BOM ignored).
 *
 * @example
 * const body = parseJsonBody(request.body);
 */
export function parseJsonBody(body: Uint8Array): unknown {
  return parseScannedJsonBody(body, (text, limit) => (jsonNestingExceeds(text, limit) ? undefined : true)).value;
}

/**
 * `parseJsonBody` with the nesting-depth check done by `scan`, which reads the text once before it
 * is parsed (told whether it is all ASCII) and returns what it found, or undefined when the text
 * nests too deep.
 *
 * @example
 * const { value, scanned } = parseScannedJsonBody(request.body, scanCallTexts);
 */
export function parseScannedJsonBody<T>(
  body: Uint8Array,
  scan: (text: string, maxDepth: number, ascii: boolean) => T | undefined,
): { value: unknown; scanned: T } {
  const text = decodeUtf8(body);
  if (text.trim() === "") throw new ValidationError("request.invalid_json", "Request body is empty");
  // One UTF-16 unit per byte only when every byte is ASCII (a BOM is three bytes and no unit).
  const scanned = scan(text, ingestLimits.maxJsonDepth, text.length === body.byteLength);
  if (scanned === undefined) {
    throw new ValidationError(
      "request.too_deep",
      `Request body nests arrays and objects more than ${ingestLimits.maxJsonDepth} levels deep`,
    );
  }
  try {
    return { value: JSON.parse(text), scanned };
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
