/**
 * The project's one retry policy: how long to wait before the next try (exponential, capped,
 * jittered) and a `retry` loop that tries again only what a predicate calls retryable. It imports
 * nothing from AWS, so the adapters, the local stack and the CLI share it. Where retries happen
 * and how they stack with the SDK's own is in docs/operations.md ("Retries").
 */

/** How often and how patiently something is tried. */
export interface RetryPolicy {
  /** Tries in all, the first included (at least 1; `Number.POSITIVE_INFINITY` for no limit). */
  attempts: number;
  /** The pause before the second try; it doubles for every try after. */
  baseDelayMs: number;
  /** No pause is longer than this. */
  maxDelayMs: number;
  /** Whether a failure may pass if tried again; by default every failure is retried. */
  retryable?: (error: unknown) => boolean;
}

export interface RetryOptions {
  /** Told before each pause: the failure, the try that failed (1-based) and the pause. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Waits; replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1); replaced in tests. */
  random?: () => number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The pause after the `retry`-th failed try (1-based): `min(max, base * 2^(retry-1))`, of which
 * the upper half is random ("equal jitter"), so many clients that failed at once do not come back
 * in lockstep, yet each still waits at least half the step.
 *
 * @example
 * retryDelay(3, { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 }); // 200..400
 */
export function retryDelay(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return step / 2 + random() * (step / 2);
}

/**
 * Runs `fn` until it resolves, a failure is not retryable, or `policy.attempts` tries have failed;
 * then it throws the last failure as it was. `fn` is told which try it is (1-based).
 *
 * @example
 * const answer = await retry(() => sqs.send(command), { attempts: 3, baseDelayMs: 50, maxDelayMs: 400,
 *   retryable: isTransient });
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = Math.max(1, Math.floor(policy.attempts));
  const sleep = options.sleep ?? sleepFor;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || (policy.retryable && !policy.retryable(error))) throw error;
      const delay = retryDelay(attempt, policy, options.random);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** Whether an error says of itself that it may pass (`IngestError.retryable`, or a `retryable` flag). */
export function isRetryable(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}
