import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { IngestError } from "../../core/src/errors";
import { runReplay } from "./replay/run";

/**
 * The entry point of `npm run replay -- FILE... [options]` (replay/run.ts runs it). The replay's
 * parts: options.ts (the command line), plan.ts (the signed requests), send.ts with answer.ts and
 * backoff.ts (sending, counting, retrying), progress.ts and summary.ts (what it prints).
 */

/** True when this file is the program being run (not imported by a test). */
function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  try {
    process.exitCode = await runReplay(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `Error: ${error instanceof IngestError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
