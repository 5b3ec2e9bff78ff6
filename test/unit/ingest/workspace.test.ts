import { describe, expect, it } from "vitest";
import {
  AuthError,
  DependencyError,
  IngestError,
  LimitError,
  NotFoundError,
  ValidationError,
} from "../../../packages/core/src/errors";
import { errorBody, httpStatusOf } from "../../../packages/core/src/http/status";
import {
  credentialMatches,
  generateCredential,
  hashCredential,
} from "../../../packages/core/src/workspace/credentials";
import { type Source, withRetiredSecret, withRotatedSecret } from "../../../packages/core/src/workspace/workspace";

const source: Source = {
  workspaceId: "acme",
  name: "product",
  secrets: [{ value: "old", createdAt: "2024-01-01T00:00:00.000Z" }],
  writeKeyHash: hashCredential("wk"),
  createdAt: "2024-01-01T00:00:00.000Z",
};

describe("secret rotation", () => {
  it("adds a second secret, then retiring drops the old one", () => {
    const rotated = withRotatedSecret(source, { value: "new", createdAt: "2024-02-01T00:00:00.000Z" });
    expect(rotated.secrets.map((s) => s.value)).toEqual(["old", "new"]);
    expect(withRetiredSecret(rotated).secrets.map((s) => s.value)).toEqual(["new"]);
  });

  it("refuses a third active secret (409) and retiring the only one (409)", () => {
    const rotated = withRotatedSecret(source, { value: "new", createdAt: "2024-02-01T00:00:00.000Z" });
    expect(() => withRotatedSecret(rotated, { value: "newer", createdAt: "x" })).toThrow(/retire the old one first/);
    try {
      withRetiredSecret(source);
      expect.unreachable();
    } catch (error) {
      expect(httpStatusOf(error)).toBe(409);
      expect(errorBody(error).code).toBe("secret.nothing_to_retire");
    }
  });
});

describe("credentials", () => {
  it("generates distinct 43-character url-safe credentials", () => {
    const a = generateCredential();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateCredential()).not.toBe(a);
  });

  it("stores SHA-256 hex and matches only the same value", () => {
    expect(hashCredential("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(credentialMatches("abc", hashCredential("abc"))).toBe(true);
    expect(credentialMatches("abd", hashCredential("abc"))).toBe(false);
    expect(credentialMatches("abc", "short")).toBe(false);
  });
});

describe("HTTP status of errors", () => {
  it.each([
    [new ValidationError("envelope.invalid", "x"), 400],
    [new LimitError("batch.too_many_events", "x"), 400],
    [new LimitError("request.too_large", "x"), 413],
    [new ValidationError("request.content_type_unsupported", "x"), 415],
    [new AuthError("segment.signature_invalid", "x"), 401],
    [new NotFoundError("workspace.not_found", "x"), 404],
    [new DependencyError("queue.unavailable", "x"), 503],
    [new IngestError("queue.message_rejected", "x"), 500],
    [new Error("bug"), 500],
  ])("%s → %i", (error, status) => {
    expect(httpStatusOf(error)).toBe(status);
  });

  it("gives the JSON error body, with per-event problems when there are any", () => {
    const error = new ValidationError("envelope.invalid", "1 event is bad", {
      details: { problems: [{ index: 3, message: "track needs an event name" }] },
    });
    expect(errorBody(error)).toEqual({
      success: false,
      code: "envelope.invalid",
      message: "1 event is bad",
      problems: [{ index: 3, message: "track needs an event name" }],
    });
    expect(errorBody(new DependencyError("queue.unavailable", "retry"))).toEqual({
      success: false,
      code: "queue.unavailable",
      message: "retry",
    });
  });
});
