import { IngestError } from "../../core/src/errors";
import { startBanner } from "./banner";
import { dataDirectory } from "./dev-workspace";
import {
  defaultDrainSeconds,
  drainSecondsFrom,
  normalizeConcurrencyFrom,
  portFrom,
  retryVisibilityFrom,
} from "./settings";
import { shutdownSignals } from "./shutdown";
import { type LocalStack, startLocalStack } from "./stack";

/**
 * `npm start`: the whole pipeline on this machine (see stack.ts). Prints where to send data and
 * how to read it back, then runs until Ctrl-C or SIGTERM, which stop it cleanly (exit code 0).
 *
 * Environment: PORT (default 3000), DATA_DIR (default .data), DEV_SHARED_SECRET, DEV_WRITE_KEY,
 * DEV_API_KEY, RETRY_VISIBILITY_SECONDS (default 5), NORMALIZE_CONCURRENCY (default 4), DRAIN_SECONDS
 * (default 10), LOG_LEVEL (the handlers' JSON logs). See settings.ts.
 *
 * `npm start` runs it as `exec node --import tsx …`: one process that receives signals itself.
 * `exec` keeps `sh` from dying on npm's forwarded SIGTERM and orphaning the stack, and the tsx CLI
 * is avoided because its parent process SIGKILLs the child when the child acknowledges a signal
 * later than 30 ms (which happens under load), cutting the drain short.
 */

const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const dataDir = dataDirectory(process.env);
  let stack: LocalStack | undefined;
  let stopRequested = false;
  let drainSeconds = defaultDrainSeconds;
  const shutdown = shutdownSignals({
    onStop: (signal) => {
      stopRequested = true;
      say(`\n${signal}: stopping (draining queued messages for up to ${drainSeconds} s)…`);
    },
    onForce: (signal) => {
      say(
        `${signal} again: exiting without waiting (DynamoDB Local stops with this process; queued messages stay on disk for the next start).`,
      );
      process.exit(130);
    },
  });
  process.on("SIGINT", shutdown.receive);
  process.on("SIGTERM", shutdown.receive);

  try {
    say(`Starting DynamoDB Local (data in ${dataDir}) and the SQS server…`);
    const retryVisibility = retryVisibilityFrom(process.env);
    const concurrency = normalizeConcurrencyFrom(process.env);
    drainSeconds = drainSecondsFrom(process.env);
    stack = await startLocalStack({
      dataDir,
      port: portFrom(process.env),
      env: process.env,
      ...(retryVisibility !== undefined ? { failedVisibilitySeconds: retryVisibility } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      drainMs: drainSeconds * 1000,
      log: say,
    });
    if (stack.dev.created) say("Created workspace dev with source product.");
    if (stack.dev.updated.length > 0) say(`Updated dev credentials: ${stack.dev.updated.join(", ")}.`);
    if (!stopRequested) process.stdout.write(`${startBanner(stack.url, stack.dev.credentials, dataDir)}\n`);
    await shutdown.requested;
    await stack.stop();
    say("Stopped.");
    return 0;
  } catch (error) {
    await stack?.stop();
    if (error instanceof IngestError && error.code.startsWith("local.")) {
      say(`Error: ${error.message}`);
    } else if (error instanceof IngestError) {
      say(`Error: ${error.message} (${error.code})`);
    } else {
      say(`Error: the local stack could not start: ${error instanceof Error ? error.message : String(error)}`);
    }
    return 1;
  }
}

process.exit(await main());
