import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createDocumentClient } from "../../aws/src/clients";
import { loadConfig } from "../../aws/src/config";
import { WorkspaceStore } from "../../aws/src/dynamo/workspaces";
import { IngestError } from "../../core/src/errors";
import { errorBody } from "../../core/src/http/status";
import { type CliCommand, type CliContext, UsageError } from "./command";
import { redriveCommand } from "./commands/redrive";
import { workspaceCommands } from "./commands/workspaces";

/**
 * The admin CLI: `npm run cli -- <command words> [options] [--json]`. Each command lives in its
 * own file under commands/; add it to this list and it is routed, parsed and listed in the help.
 */
export const commands: readonly CliCommand[] = [...workspaceCommands, redriveCommand];

/** Where the CLI writes, and what it talks to (tests pass their own). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Defaults to the configuration of the environment (ENTITIES_TABLE, DYNAMODB_ENDPOINT, …). */
  context?: CliContext;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
};

/** A context that reads the configuration on first use and closes its clients afterwards. */
function environmentContext(): CliContext & { close(): void } {
  let store: WorkspaceStore | undefined;
  let close = () => {};
  return {
    env: process.env,
    async workspaces() {
      if (!store) {
        const config = await loadConfig();
        const db = createDocumentClient(config);
        close = () => db.destroy();
        store = new WorkspaceStore(db, config.entitiesTable);
      }
      return store;
    },
    close: () => close(),
  };
}

/** How the CLI is run (there is no installed binary: the package is private and runs through tsx). */
const program = "npm run cli --";

function help(): string {
  const lines = commands.map((c) => `  ${[...c.path, c.usage].filter(Boolean).join(" ")}\n      ${c.summary}`);
  return [`Usage: ${program} <command> [options] [--json]`, "", "Commands:", ...lines].join("\n");
}

function findCommand(argv: readonly string[]): CliCommand | undefined {
  let best: CliCommand | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best;
}

/**
 * Runs one command line and returns the exit code: 0 done, 1 the command failed, 2 usage error.
 * With `--json` the result (or `{ success: false, code, message }`) is printed as JSON.
 *
 * @example
 * process.exitCode = await runCli(["workspaces", "create", "--id", "acme"]);
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const json = argv.includes("--json");
  const command = findCommand(argv);
  if (!command) {
    const asked = argv.length === 0 || argv.includes("--help") || argv.includes("-h");
    if (asked) {
      io.stdout(help());
      return 0;
    }
    io.stderr(`Unknown command: ${argv.filter((a) => !a.startsWith("-")).join(" ")}\n\n${help()}`);
    return 2;
  }

  const owned = io.context ? undefined : environmentContext();
  const context = io.context ?? (owned as CliContext);
  try {
    const { values } = parseArgs({
      args: argv.slice(command.path.length),
      options: { ...command.options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout(`Usage: ${program} ${[...command.path, command.usage].join(" ")}\n\n${command.summary}`);
      return 0;
    }
    const result = await command.run(values, context);
    io.stdout(json ? JSON.stringify(result.data, null, 2) : result.text);
    return 0;
  } catch (error) {
    const parseProblem =
      error instanceof TypeError && String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS");
    const failure = parseProblem ? new UsageError(error.message) : error;
    const code = failure instanceof IngestError ? failure.code : "internal.error";
    const message = failure instanceof Error ? failure.message : String(failure);
    if (json) io.stdout(JSON.stringify({ ...errorBody(failure), code, message }, null, 2));
    if (failure instanceof UsageError) {
      io.stderr(`${message}\nUsage: ${program} ${[...command.path, command.usage].join(" ")}`);
      return 2;
    }
    io.stderr(`Error: ${message} (${code})`);
    return 1;
  } finally {
    owned?.close();
  }
}

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
  process.exitCode = await runCli(process.argv.slice(2));
}
