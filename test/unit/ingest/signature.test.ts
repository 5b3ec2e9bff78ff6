import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifySegmentSignature } from "../../../packages/core/src/ingest/signature";

/** Computed here with node:crypto, not by the code under test. */
const sign = (payload: string, secret: string) => createHmac("sha1", secret).update(payload).digest("hex");

const secret = "whsec_test_secret";
const body = '{"type":"track","event":"Signed Up","userId":"u1","messageId":"m1"}';

describe("verifySegmentSignature", () => {
  it("accepts a fixed test vector (computed with `openssl dgst -sha1 -hmac`)", () => {
    expect(verifySegmentSignature(body, "e8b16b6538cdc53c44c54554b7f290f9b4c4eb43", [secret])).toBe(true);
  });

  it("accepts Segment's lowercase hex HMAC-SHA1 of the raw body, as bytes or text", () => {
    const signature = sign(body, secret);
    expect(verifySegmentSignature(body, signature, [secret])).toBe(true);
    expect(verifySegmentSignature(Buffer.from(body), signature, [secret])).toBe(true);
  });

  it("verifies the exact bytes: whitespace and key order are part of what is signed", () => {
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    expect(verifySegmentSignature(pretty, sign(pretty, secret), [secret])).toBe(true);
    expect(verifySegmentSignature(pretty, sign(body, secret), [secret])).toBe(false);
  });

  it("accepts an array body signed on JSON.stringify(body[0]), as Segment Actions batches", () => {
    const calls = [
      { type: "identify", userId: "u1", traits: { email: "a@example.com" } },
      { type: "track", userId: "u1", event: "Signed Up" },
    ];
    const raw = JSON.stringify(calls);
    const signature = sign(JSON.stringify(calls[0]), secret);
    expect(verifySegmentSignature(raw, signature, [secret])).toBe(true);
    expect(verifySegmentSignature(raw, signature, [secret], calls)).toBe(true);
    // With pretty-printed JSON the first element is re-serialised before checking.
    expect(verifySegmentSignature(JSON.stringify(calls, null, 2), signature, [secret])).toBe(true);
  });

  it("does not accept a first-element signature for an object body", () => {
    const call = { type: "track", userId: "u1", event: "Signed Up" };
    expect(verifySegmentSignature(JSON.stringify({ ...call }), sign(JSON.stringify({ x: 1 }), secret), [secret])).toBe(
      false,
    );
  });

  it("rejects a tampered body", () => {
    const signature = sign(body, secret);
    expect(verifySegmentSignature(body.replace("Signed Up", "Signed Out"), signature, [secret])).toBe(false);
  });

  it("rejects a tampered first element of an array, and an empty array", () => {
    const calls = [{ type: "track", userId: "u1", event: "A" }];
    const signature = sign(JSON.stringify(calls[0]), secret);
    expect(verifySegmentSignature(JSON.stringify([{ ...calls[0], event: "B" }]), signature, [secret])).toBe(false);
    expect(verifySegmentSignature("[]", sign("undefined", secret), [secret])).toBe(false);
  });

  it("rejects a signature made with another secret", () => {
    expect(verifySegmentSignature(body, sign(body, "another secret"), [secret])).toBe(false);
  });

  it("accepts either of two active secrets (rotation)", () => {
    const secrets = ["old secret", "new secret"];
    expect(verifySegmentSignature(body, sign(body, "old secret"), secrets)).toBe(true);
    expect(verifySegmentSignature(body, sign(body, "new secret"), secrets)).toBe(true);
    expect(verifySegmentSignature(body, sign(body, "retired secret"), secrets)).toBe(false);
  });

  it("rejects uppercase hex: Segment sends lowercase", () => {
    expect(verifySegmentSignature(body, sign(body, secret).toUpperCase(), [secret])).toBe(false);
  });

  it("rejects a missing, empty, truncated or padded signature, and a source without secrets", () => {
    const signature = sign(body, secret);
    expect(verifySegmentSignature(body, undefined, [secret])).toBe(false);
    expect(verifySegmentSignature(body, "", [secret])).toBe(false);
    expect(verifySegmentSignature(body, signature.slice(0, 39), [secret])).toBe(false);
    expect(verifySegmentSignature(body, `${signature}0`, [secret])).toBe(false);
    expect(verifySegmentSignature(body, `sha1=${signature}`, [secret])).toBe(false);
    expect(verifySegmentSignature(body, signature, [])).toBe(false);
  });

  it("rejects an array body whose JSON is broken, without throwing", () => {
    expect(verifySegmentSignature('[{"type":', sign('{"type":', secret), [secret])).toBe(false);
  });
});
