import { IngestError } from "../../core/src/errors";

/**
 * The local stack's own settings, read from the environment by `npm start` (main.ts); each bad
 * value is a `local.*` error that names the variable and what it takes.
 */

/**
 * PORT: the HTTP port on 127.0.0.1 (default 3000; 0 picks a free one).
 *
 * @example
 * portFrom({ PORT: "3001" }); // 3001
 */
export function portFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT ?? "3000";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new IngestError("local.port_invalid", `PORT must be a port number (0-65535), not ${JSON.stringify(raw)}`);
  }
  return port;
}

/**
 * RETRY_VISIBILITY_SECONDS: how long a failed message stays invisible before its retry (1-43200);
 * undefined when unset (the stack's default applies). Not 0: the persisted queue (fauxqs 2.4.1)
 * fails to store a visibility change to 0.
 */
export function retryVisibilityFrom(env: NodeJS.ProcessEnv): number | undefined {
  if (env.RETRY_VISIBILITY_SECONDS === undefined || env.RETRY_VISIBILITY_SECONDS === "") return undefined;
  const seconds = Number(env.RETRY_VISIBILITY_SECONDS);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 43200) {
    throw new IngestError(
      "local.retry_visibility_invalid",
      `RETRY_VISIBILITY_SECONDS must be 1-43200, not ${JSON.stringify(env.RETRY_VISIBILITY_SECONDS)}`,
    );
  }
  return seconds;
}

/** The largest NORMALIZE_CONCURRENCY: more loops than this only contend for two local servers. */
export const maxNormalizeConcurrency = 32;

/**
 * NORMALIZE_CONCURRENCY: normalize batches handled side by side (1-32), as Lambda runs several
 * invocations of one SQS event source at once; undefined when unset (the stack's default, 4).
 *
 * @example
 * normalizeConcurrencyFrom({ NORMALIZE_CONCURRENCY: "1" }); // 1: one batch at a time
 */
export function normalizeConcurrencyFrom(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.NORMALIZE_CONCURRENCY;
  if (raw === undefined || raw === "") return undefined;
  const loops = Number(raw);
  if (!Number.isInteger(loops) || loops < 1 || loops > maxNormalizeConcurrency) {
    throw new IngestError(
      "local.normalize_concurrency_invalid",
      `NORMALIZE_CONCURRENCY must be a whole number of batches, 1-${maxNormalizeConcurrency}, not ${JSON.stringify(raw)}`,
    );
  }
  return loops;
}

/** Default DRAIN_SECONDS. */
export const defaultDrainSeconds = 10;

/**
 * DRAIN_SECONDS: how long a stop keeps normalizing what is already queued (0-300, default 10).
 * What is still queued after that stays on disk and is processed on the next start.
 */
export function drainSecondsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.DRAIN_SECONDS;
  if (raw === undefined || raw === "") return defaultDrainSeconds;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 300) {
    throw new IngestError("local.drain_seconds_invalid", `DRAIN_SECONDS must be 0-300, not ${JSON.stringify(raw)}`);
  }
  return seconds;
}
