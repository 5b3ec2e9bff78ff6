/**
 * The credentials of an `Authorization` header. Parsing only: checking them against a source is
 * the caller's job.
 */

/**
 * The user and password of an HTTP Basic `Authorization` header, or undefined when the header is
 * absent, another scheme, or malformed. Segment libraries send `Basic base64(writeKey + ":")`.
 *
 * @example
 * parseBasicAuth("Basic " + btoa("wk_123:")); // { username: "wk_123", password: "" }
 */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  const match = header?.match(/^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined.
 *
 * @example
 * bearerToken("Bearer abc"); // "abc"
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^\s*bearer\s+(\S+)\s*$/i);
  return match?.[1];
}
