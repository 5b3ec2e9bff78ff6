import { describe, expect, it } from "vitest";
import { jsonNestingExceeds, parseJsonBody } from "../../../packages/core/src/ingest/body";
import { ingestLimits } from "../../../packages/core/src/ingest/limits";

describe("nesting limit, counted before parsing", () => {
  it("counts arrays and objects, not brackets inside strings or escaped quotes", () => {
    expect(jsonNestingExceeds('{"a":[1]}', 2)).toBe(false);
    expect(jsonNestingExceeds('{"a":[1]}', 1)).toBe(true);
    expect(jsonNestingExceeds('{"a":"[[[[{{{{"}', 1)).toBe(false);
    expect(jsonNestingExceeds('{"a":"\\"[[[["}', 1)).toBe(false);
    expect(jsonNestingExceeds('{"a":"\\\\"}', 1)).toBe(false);
    expect(jsonNestingExceeds("[{},{},{}]", 2)).toBe(false);
  });

  it("refuses a body nested past the limit with request.too_deep, and parses one at the limit", () => {
    const depth = ingestLimits.maxJsonDepth;
    const at = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    expect(() => parseJsonBody(Buffer.from(at))).not.toThrow();
    const over = `${"[".repeat(depth + 1)}${"]".repeat(depth + 1)}`;
    expect(() => parseJsonBody(Buffer.from(over))).toThrow(expect.objectContaining({ code: "request.too_deep" }));
    const huge = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    expect(() => parseJsonBody(Buffer.from(huge))).toThrow(expect.objectContaining({ code: "request.too_deep" }));
  });
});
