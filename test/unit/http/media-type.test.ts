import { describe, expect, it } from "vitest";
import { errorSummary } from "../../../packages/aws/src/http/api-gateway";
import { isJsonMediaType, mediaTypeOf } from "../../../packages/core/src/http/media-type";

describe("mediaTypeOf", () => {
  it("is the type/subtype of a Content-Type, lowercased, without parameters", () => {
    expect(mediaTypeOf("Application/JSON; charset=utf-8")).toBe("application/json");
    expect(mediaTypeOf("  text/csv ")).toBe("text/csv");
    expect(mediaTypeOf("; charset=utf-8")).toBe("");
    expect(mediaTypeOf(undefined)).toBe("");
  });

  it("knows JSON by application/json and the +json suffix", () => {
    for (const media of ["application/json", "application/vnd.api+json", "application/ld+json"]) {
      expect([media, isJsonMediaType(media)]).toEqual([media, true]);
    }
    for (const media of ["text/plain", "application/jsonx", "application/+json", "text/json", ""]) {
      expect([media, isJsonMediaType(media)]).toEqual([media, false]);
    }
  });
});

describe("errorSummary", () => {
  it("names a failure and its cause without anything else", () => {
    const cause = new TypeError("socket hang up");
    expect(errorSummary(new Error("queue unavailable", { cause }))).toBe(
      "Error: queue unavailable (cause: TypeError: socket hang up)",
    );
    expect(errorSummary("plain")).toBe("plain");
  });
});
