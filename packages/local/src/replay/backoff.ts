import { retryDelay as sharedRetryDelay } from "../../../core/src/retry";

/**
 * How long a replay waits before retrying a request (5xx, 429 or a network error), as Segment
 * retries: the server's `Retry-After` (seconds) when it sends one, capped at 60 s; else exponential
 * from `baseMs`, doubling each attempt up to 30 s, with "equal jitter" (half fixed, half random) so
 * concurrent requests that failed together do not retry together.
 *
 * @example
 * retryDelay(0, 500, null); // 250–500 ms
 * retryDelay(3, 500, "2");  // 2000 ms
 */
export function retryDelay(attempt: number, baseMs: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(60_000, seconds * 1000);
  return sharedRetryDelay(attempt + 1, { baseDelayMs: baseMs, maxDelayMs: 30_000 });
}
