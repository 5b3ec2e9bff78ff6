import { createHmac, timingSafeEqual } from "node:crypto";

/** A SHA-1 HMAC in hex is 40 characters. */
const signatureLength = 40;

/**
 * The signature Segment puts in `X-Signature`: HMAC-SHA1 of the payload keyed by the shared
 * secret, lowercase hex.
 *
 * @example
 * segmentSignature('{"type":"track"}', secret); // "5d1c…"
 */
export function segmentSignature(payload: Uint8Array | string, secret: string): string {
  return createHmac("sha1", secret).update(payload).digest("hex");
}

/** True when any secret signs the payload as `given`, comparing every pair in constant time. */
function anySecretSigns(payload: Uint8Array | string, given: Buffer, secrets: readonly string[]): boolean {
  let match = false;
  for (const secret of secrets) {
    const expected = Buffer.from(segmentSignature(payload, secret), "latin1");
    // `||` after the comparison: every secret is always compared, so timing does not say which one matched.
    match = timingSafeEqual(given, expected) || match;
  }
  return match;
}

/** True when the first non-whitespace character of a JSON text is `[`. */
export function isJsonArrayText(body: Uint8Array | string): boolean {
  if (typeof body === "string") return /^[ \t\r\n]*\[/.test(body);
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x5b;
  }
  return false;
}

/** What Segment Actions signs for a batched (array) body: its first element, re-serialised. */
function firstElementPayload(body: Uint8Array | string, parsedBody: unknown): string | undefined {
  let parsed = parsedBody;
  if (parsed === undefined) {
    if (!isJsonArrayText(body)) return undefined;
    try {
      parsed = JSON.parse(typeof body === "string" ? body : Buffer.from(body).toString("utf8"));
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  try {
    return JSON.stringify(parsed[0]);
  } catch {
    return undefined; // nested too deep to serialise: it cannot be what Segment signed
  }
}

/**
 * What a valid `X-Signature` covers: the whole raw body, or (an array body signed as Segment Actions
 * does when it batches) only its first element. The calls after the first of such a body are not
 * signed: `receiveIngestRequest` accepts a `delete` among them only with the source's bearer token.
 */
export type SignatureCoverage = "body" | "first_element";

/**
 * Verifies a Segment webhook's `X-Signature` exactly as Segment computes it: lowercase hex
 * HMAC-SHA1 of the raw body, keyed by the shared secret. Segment Actions, when it batches, signs
 * only `JSON.stringify(body[0])`, so for an array body that is accepted too (after the raw body).
 * Every active secret is tried (two during a rotation). Comparisons are constant-time: the header
 * is copied into a fixed 40-byte buffer so that a wrong length costs the same as a wrong value.
 * Uppercase hex is rejected: Segment sends lowercase, and accepting one spelling keeps it simple.
 * Returns what the signature covers, or undefined when it is not valid.
 *
 * @param parsedBody the body already parsed, if the caller has it (saves parsing an array twice)
 * @example
 * segmentSignatureCoverage(rawBody, headers["x-signature"], secrets); // "body", "first_element" or undefined
 */
export function segmentSignatureCoverage(
  rawBody: Uint8Array | string,
  signatureHeader: string | undefined,
  secrets: readonly string[],
  parsedBody?: unknown,
): SignatureCoverage | undefined {
  if (!signatureHeader || secrets.length === 0) return undefined;
  const given = Buffer.alloc(signatureLength);
  given.write(signatureHeader, 0, signatureLength, "latin1");
  const wellFormed = signatureHeader.length === signatureLength;

  if (anySecretSigns(rawBody, given, secrets)) return wellFormed ? "body" : undefined;
  const first = firstElementPayload(rawBody, parsedBody);
  if (first === undefined) return undefined;
  return anySecretSigns(first, given, secrets) && wellFormed ? "first_element" : undefined;
}

/**
 * True when `X-Signature` is valid for the body (see `segmentSignatureCoverage`).
 *
 * @example
 * if (!verifySegmentSignature(rawBody, headers["x-signature"], source.secrets.map((s) => s.value))) {
 *   throw new AuthError("segment.signature_invalid", "X-Signature does not match");
 * }
 */
export function verifySegmentSignature(
  rawBody: Uint8Array | string,
  signatureHeader: string | undefined,
  secrets: readonly string[],
  parsedBody?: unknown,
): boolean {
  return segmentSignatureCoverage(rawBody, signatureHeader, secrets, parsedBody) !== undefined;
}
