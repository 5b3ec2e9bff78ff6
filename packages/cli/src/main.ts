import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createDocumentClient } from "../../aws/src/clients";
import { loadConfig } from "../../aws/src/config";
import { ApiKeyStore } from "../../aws/src/dynamo/api-keys";
import { WorkspaceStore } from "../../aws/src/dynamo/workspaces";
import { IngestError } from "../../core/src/errors";
import { errorBody } from "../../core/src/http/status";
import { type CliCommand, type CliContext, UsageError } from "./command";
import { accountCommands } from "./commands/accounts";
import { apiKeyCommands } from "./commands/api-keys";
import { dataQualityCommands } from "./commands/data-quality";
import { entityMapCommands } from "./commands/entity-maps";
import { redriveCommand } from "./commands/redrive";
import { stripeCommands } from "./commands/stripe";
import { userCommands } from "./commands/users";
import { workspaceCommands } from "./commands/workspaces";
import { commandList, parseCommandLine } from "./program";
import { segmentConnectCommand } from "./segment/command";

/**
 * The admin CLI: `npm run cli -- <command words> [options] [--json]`. Each command lives in its
 * own file under commands/; add it to this list and it is routed, parsed and listed in the help.
 */
export const commands: readonly CliCommand[] = [
  ...workspaceCommands,
  ...apiKeyCommands,
  redriveCommand,
  ...accountCommands,
  ...userCommands,
  ...dataQualityCommands,
  ...entityMapCommands,
  ...stripeCommands,
  segmentConnectCommand,
];

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
  let stores: Promise<{ workspaces: WorkspaceStore; apiKeys: ApiKeyStore }> | undefined;
  let close = () => {};
  const open = () => {
    stores ??= loadConfig().then((config) => {
      const db = createDocumentClient(config);
      close = () => db.destroy();
      return {
        workspaces: new WorkspaceStore(db, config.entitiesTable),
        apiKeys: new ApiKeyStore(db, config.entitiesTable),
      };
    });
    return stores;
  };
  return {
    env: process.env,
    workspaces: async () => (await open()).workspaces,
    apiKeys: async () => (await open()).apiKeys,
    close: () => close(),
  };
}

/** How the CLI is run (there is no installed binary: the package is private and runs through tsx). */
const program = "npm run cli --";

function usageOf(command: CliCommand): string {
  return `Usage: ${program} ${[...command.path, command.usage].filter(Boolean).join(" ")}`;
}

/** The command whose words start the line, for the usage line of a refused one. */
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
  const help = commandList(program, commands);
  if (argv.length === 0) {
    io.stdout(help);
    return 0;
  }
  const parsed = await parseCommandLine(program, commands, argv);
  if (parsed.kind === "help") {
    io.stdout(parsed.text);
    return 0;
  }
  if (parsed.kind === "unknown_command") {
    const words = argv.filter((a) => !a.startsWith("-")).join(" ");
    io.stderr(`Unknown command: ${words}${parsed.suggestion ? ` ${parsed.suggestion}` : ""}\n\n${help}`);
    return 2;
  }
  if (parsed.kind === "usage") {
    const failure = new UsageError(parsed.message);
    if (json)
      io.stdout(JSON.stringify({ ...errorBody(failure), code: failure.code, message: failure.message }, null, 2));
    const command = findCommand(argv);
    io.stderr(command ? `${parsed.message}\n${usageOf(command)}` : `${parsed.message}\n\n${help}`);
    return 2;
  }

  const { command, values, positionals } = parsed.selection;
  const owned = io.context ? undefined : environmentContext();
  const context: CliContext = { ...(io.context ?? (owned as CliContext)), progress: json ? io.stderr : io.stdout };
  try {
    checkPositionals(command, positionals);
    const result = await command.run(values, context, positionals);
    io.stdout(json ? JSON.stringify(result.data, null, 2) : result.text);
    return 0;
  } catch (failure) {
    const code = failure instanceof IngestError ? failure.code : "internal.error";
    const message = failure instanceof Error ? failure.message : String(failure);
    if (json) io.stdout(JSON.stringify({ ...errorBody(failure), code, message }, null, 2));
    if (failure instanceof UsageError) {
      io.stderr(`${message}\n${usageOf(command)}`);
      return 2;
    }
    io.stderr(`Error: ${message} (${code})`);
    return 1;
  } finally {
    owned?.close();
  }
}

/** Refuses missing or extra positional arguments, naming the first one missing. */
function checkPositionals(command: CliCommand, given: readonly string[]): void {
  const names = command.positionals ?? [];
  const missing = names.find((name, i) => !name.endsWith("?") && (given[i] === undefined || given[i] === ""));
  if (missing !== undefined) throw new UsageError(`${missing} is required`);
  if (given.length > names.length) throw new UsageError(`unexpected argument: ${given[names.length]}`);
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
