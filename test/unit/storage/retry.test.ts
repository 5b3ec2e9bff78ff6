import { describe, expect, it } from "vitest";
import { DependencyError, ValidationError } from "../../../packages/core/src/errors";
import { isRetryable, retry, retryDelay } from "../../../packages/core/src/retry";

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300 };

describe("retryDelay", () => {
  it("doubles from the base, is capped, and jitters only the upper half", () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, policy, () => 0))).toEqual([50, 100, 150, 150]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, policy, () => 0.999999)).map(Math.round)).toEqual([
      100, 200, 300, 300,
    ]);
  });
});

describe("retry", () => {
  const noWait = { sleep: async () => {}, random: () => 0 };

  it("tries again until the call passes, pausing by the policy between tries", async () => {
    const pauses: number[] = [];
    let calls = 0;
    const answer = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new DependencyError("storage.unavailable", "throttled");
        return "ok";
      },
      policy,
      { ...noWait, sleep: async (ms) => void pauses.push(ms) },
    );
    expect({ answer, calls, pauses }).toEqual({ answer: "ok", calls: 3, pauses: [50, 100] });
  });

  it("throws the last failure as it was after the last try", async () => {
    let calls = 0;
    const last = new DependencyError("storage.unavailable", "still throttled");
    await expect(
      retry(
        async () => {
          calls++;
          throw calls === policy.attempts ? last : new Error("earlier");
        },
        policy,
        noWait,
      ),
    ).rejects.toBe(last);
    expect(calls).toBe(4);
  });

  it("does not try again what the predicate calls permanent", async () => {
    let calls = 0;
    const refused = new ValidationError("storage.rejected", "item too large");
    await expect(
      retry(
        async () => {
          calls++;
          throw refused;
        },
        { ...policy, retryable: isRetryable },
        noWait,
      ),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it("tells onRetry each failure before its pause", async () => {
    const seen: [string, number, number][] = [];
    await retry(
      async (attempt) => {
        if (attempt === 1) throw new Error("first");
      },
      policy,
      { ...noWait, onRetry: (e, attempt, ms) => seen.push([(e as Error).message, attempt, ms]) },
    );
    expect(seen).toEqual([["first", 1, 50]]);
  });
});
