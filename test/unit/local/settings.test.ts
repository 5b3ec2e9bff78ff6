import { describe, expect, it } from "vitest";
import { drainSecondsFrom, normalizeConcurrencyFrom } from "../../../packages/local/src/settings";
import { defaultNormalizeConcurrency, leftOnQueuesMessage } from "../../../packages/local/src/stack";

describe("the local stack's settings", () => {
  it("runs four normalize batches side by side unless NORMALIZE_CONCURRENCY says otherwise", () => {
    expect(defaultNormalizeConcurrency).toBe(4);
    expect(normalizeConcurrencyFrom({})).toBeUndefined();
    expect(normalizeConcurrencyFrom({ NORMALIZE_CONCURRENCY: "1" })).toBe(1);
    expect(normalizeConcurrencyFrom({ NORMALIZE_CONCURRENCY: "32" })).toBe(32);
    for (const bad of ["0", "33", "2.5", "four", "-1"]) {
      expect(() => normalizeConcurrencyFrom({ NORMALIZE_CONCURRENCY: bad }), bad).toThrowError(
        expect.objectContaining({ code: "local.normalize_concurrency_invalid" }),
      );
    }
  });

  it("drains for 10 s on stop unless DRAIN_SECONDS says otherwise", () => {
    expect(drainSecondsFrom({})).toBe(10);
    expect(drainSecondsFrom({ DRAIN_SECONDS: "0" })).toBe(0);
    expect(drainSecondsFrom({ DRAIN_SECONDS: "1.5" })).toBe(1.5);
    for (const bad of ["-1", "301", "soon"]) {
      expect(() => drainSecondsFrom({ DRAIN_SECONDS: bad }), bad).toThrowError(
        expect.objectContaining({ code: "local.drain_seconds_invalid" }),
      );
    }
  });

  it("says on stop what it leaves on each queue, and what becomes of it", () => {
    expect(leftOnQueuesMessage({ raw: 0, deadLetter: 0 })).toBe(
      "Left on the queues: 0 messages on the raw queue; 0 on the dead-letter queue.",
    );
    expect(leftOnQueuesMessage({ raw: 1234, deadLetter: 2 })).toBe(
      "Left on the queues: 1,234 messages on the raw queue, processed on the next start; 2 on the dead-letter queue, kept there until redriven (npm run redrive).",
    );
    expect(leftOnQueuesMessage({ raw: 1, deadLetter: 0 })).toMatch(/^Left on the queues: 1 message on the raw queue,/);
  });
});
