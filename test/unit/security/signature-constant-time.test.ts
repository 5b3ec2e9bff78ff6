import * as crypto from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";

// The verification's own import of node:crypto, with timingSafeEqual observed (and still real).
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

import { segmentSignature, verifySegmentSignature } from "../../../packages/core/src/ingest/signature";
import { credentialMatches, hashCredential } from "../../../packages/core/src/workspace/credentials";

/**
 * Signatures are compared in constant time: every comparison goes through `timingSafeEqual` over
 * two 40-byte buffers, whatever the length or content of the header, and every active secret is
 * compared even after a match. Checked by observing the calls, not by measuring time.
 */

const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);
const secrets = ["secret-one", "secret-two"];
const body = JSON.stringify({ type: "track", userId: "u1", event: "Signed Up" });
const arrayBody = JSON.stringify([
  { type: "track", userId: "u1", event: "A" },
  { type: "track", userId: "u2", event: "B" },
]);

function comparisons() {
  return timingSafeEqual.mock.calls.map(([a, b]) => [(a as Buffer).length, (b as Buffer).length]);
}

beforeEach(() => {
  timingSafeEqual.mockClear();
});

describe("constant-time signature comparison", () => {
  it("compares wrong signatures of every length, 1 to 1,000 characters, the same way, without throwing", () => {
    const shapes = new Set<string>();
    for (let length = 1; length <= 1000; length++) {
      const wrong = "0123456789abcdef".repeat(63).slice(0, length);
      timingSafeEqual.mockClear();
      expect(verifySegmentSignature(body, wrong, secrets)).toBe(false);
      shapes.add(JSON.stringify(comparisons()));
    }
    // Every length: one comparison per secret, each of two 40-byte buffers.
    expect([...shapes]).toEqual([
      JSON.stringify([
        [40, 40],
        [40, 40],
      ]),
    ]);
  });

  it("treats non-hex, multi-byte and uppercase headers like any wrong signature", () => {
    const right = segmentSignature(body, secrets[0] as string);
    for (const wrong of [
      right.toUpperCase(),
      `${right} `,
      "é".repeat(40),
      "🔑".repeat(20),
      "\u0000".repeat(40),
      right.slice(1),
    ]) {
      timingSafeEqual.mockClear();
      expect(verifySegmentSignature(body, wrong, secrets)).toBe(false);
      expect(comparisons()).toEqual([
        [40, 40],
        [40, 40],
      ]);
    }
  });

  it("compares every active secret even when the first matches", () => {
    expect(verifySegmentSignature(body, segmentSignature(body, secrets[0] as string), secrets)).toBe(true);
    expect(comparisons()).toEqual([
      [40, 40],
      [40, 40],
    ]);
    timingSafeEqual.mockClear();
    expect(verifySegmentSignature(body, segmentSignature(body, secrets[1] as string), secrets)).toBe(true);
    expect(comparisons()).toEqual([
      [40, 40],
      [40, 40],
    ]);
  });

  it("an array body: the raw body and then the first element, every secret each time", () => {
    const first = JSON.stringify(JSON.parse(arrayBody)[0]);
    expect(verifySegmentSignature(arrayBody, segmentSignature(first, secrets[1] as string), secrets)).toBe(true);
    expect(comparisons()).toEqual([
      [40, 40],
      [40, 40],
      [40, 40],
      [40, 40],
    ]);
    for (const wrong of ["a", "f".repeat(40), "x".repeat(1000)]) {
      timingSafeEqual.mockClear();
      expect(verifySegmentSignature(arrayBody, wrong, secrets)).toBe(false);
      expect(comparisons()).toEqual([
        [40, 40],
        [40, 40],
        [40, 40],
        [40, 40],
      ]);
    }
  });

  it("an empty or absent header is refused before any comparison (there is nothing to compare; ingest answers signature_missing)", () => {
    expect(verifySegmentSignature(body, "", secrets)).toBe(false);
    expect(verifySegmentSignature(body, undefined, secrets)).toBe(false);
    expect(verifySegmentSignature(body, "f".repeat(40), [])).toBe(false);
    expect(timingSafeEqual).not.toHaveBeenCalled();
  });

  it("the webhook bearer token: SHA-256 digests compared in constant time, whatever the token's length", () => {
    const stored = hashCredential("the-real-token");
    for (const token of ["", "t", "the-real-toke", "the-real-tokenX", "x".repeat(1000)]) {
      timingSafeEqual.mockClear();
      expect(credentialMatches(token, stored)).toBe(false);
      expect(comparisons()).toEqual([[64, 64]]);
    }
    expect(credentialMatches("the-real-token", stored)).toBe(true);
  });
});
