import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A new random credential (shared secret, write key, bearer token): 32 random bytes, base64url
 * (43 characters, no `:` so it also fits HTTP Basic auth).
 *
 * @example
 * const writeKey = generateCredential();
 */
export function generateCredential(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The SHA-256 (lowercase hex) under which a write key, bearer token or API key is stored. The
 * credentials are long and random, so an unsalted hash is enough to make a leaked table useless.
 *
 * @example
 * hashCredential("abc"); // "ba7816bf…"
 */
export function hashCredential(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/**
 * True when `value` hashes to `expectedHash`, compared in constant time.
 *
 * @example
 * credentialMatches(token, source.bearerTokenHash);
 */
export function credentialMatches(value: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashCredential(value), "latin1");
  const expected = Buffer.from(expectedHash, "latin1");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
