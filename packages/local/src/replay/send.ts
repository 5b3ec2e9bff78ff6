import pLimit from "p-limit";
import { answerOf, isConnectionRefused, refusedByCode } from "./answer";
import { retryDelay } from "./backoff";
import type { ReplayRequest, ReplaySettings } from "./plan";

/**
 * Sending a replay's requests and counting the answers: at most `concurrency` requests in flight
 * (p-limit), at most `rate` calls a second, retries with backoff (backoff.ts) as Segment retries.
 */

/** Rejected calls of one error code. */
export interface RejectedGroup {
  calls: number;
  requests: number;
  /** The first answer's message, with where its request started. */
  example: string;
}

/** The outcome of sending a replay's requests. */
export interface SendOutcome {
  sentCalls: number;
  sentRequests: number;
  acceptedCalls: number;
  rejectedCalls: number;
  rejectedByCode: Record<string, RejectedGroup>;
  /** Retries (extra attempts), over all requests. */
  retries: number;
  /** Set when the replay stopped early (nothing answers at the URL). */
  aborted?: string;
}

/** What a progress display is told after each answer. */
export type ProgressListener = (outcome: Readonly<SendOutcome>, totalCalls: number) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the requests (at most `concurrency` at a time, at most `rate` calls a second) and counts
 * the answers: 2xx accepted, but for the calls a 2xx answer lists as refused on their own; 4xx
 * rejected (all the request's calls); 5xx,
 * 429 and network errors retried up to `maxRetries` times, then rejected with their code. If
 * nothing has answered yet and the connection is refused, the replay stops at once.
 *
 * @example
 * const outcome = await sendRequests(requests, settings);
 */
export async function sendRequests(
  requests: readonly ReplayRequest[],
  settings: Pick<ReplaySettings, "rate" | "concurrency" | "maxRetries" | "retryBaseMs">,
  onProgress: ProgressListener = () => {},
): Promise<SendOutcome> {
  const outcome: SendOutcome = {
    sentCalls: 0,
    sentRequests: 0,
    acceptedCalls: 0,
    rejectedCalls: 0,
    rejectedByCode: {},
    retries: 0,
  };
  const totalCalls = requests.reduce((sum, r) => sum + r.calls, 0);
  let answered = false;
  let paceAt = Date.now();

  const reject = (request: ReplayRequest, code: string, message: string, calls = request.calls) => {
    outcome.rejectedCalls += calls;
    const group = outcome.rejectedByCode[code];
    if (group) {
      group.calls += calls;
      group.requests += 1;
    } else {
      outcome.rejectedByCode[code] = { calls, requests: 1, example: `${request.origin}: ${message}` };
    }
  };

  const sendOne = async (request: ReplayRequest) => {
    if (settings.rate) {
      const now = Date.now();
      const wait = Math.max(0, paceAt - now);
      paceAt = Math.max(now, paceAt) + (request.calls * 1000) / settings.rate;
      if (wait > 0) await sleep(wait);
    }
    outcome.sentRequests += 1;
    outcome.sentCalls += request.calls;
    for (let attempt = 0; ; attempt++) {
      let failure: { code: string; message: string; retryAfter: string | null };
      try {
        const response = await fetch(request.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(30_000),
        });
        answered = true;
        const answer = await answerOf(response);
        if (response.ok) {
          const refused = answer.refused;
          outcome.acceptedCalls += request.calls - (refused?.count ?? 0);
          if (refused) {
            for (const [code, entry] of refusedByCode(refused)) reject(request, code, entry.message, entry.calls);
          }
          return;
        }
        const code = answer.code ?? `http.${answer.status}`;
        const message = answer.message ?? `HTTP ${answer.status}`;
        if (answer.status !== 429 && answer.status < 500) return reject(request, code, message);
        failure = { code, message, retryAfter: response.headers.get("retry-after") };
      } catch (error) {
        if (!answered && isConnectionRefused(error)) {
          outcome.aborted = `Nothing answers at ${new URL(request.url).origin}: is the stack running (npm start)?`;
          outcome.sentRequests -= 1;
          outcome.sentCalls -= request.calls;
          return;
        }
        const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : "";
        failure = { code: "network.error", message: reason, retryAfter: null };
      }
      if (attempt >= settings.maxRetries) return reject(request, failure.code, failure.message);
      outcome.retries += 1;
      await sleep(retryDelay(attempt, settings.retryBaseMs, failure.retryAfter));
    }
  };

  const limit = pLimit(Math.max(1, settings.concurrency));
  await limit.map(requests, async (request) => {
    // Once nothing answers at the URL, the requests still waiting are not sent.
    if (outcome.aborted) return;
    await sendOne(request);
    onProgress(outcome, totalCalls);
  });
  return outcome;
}
