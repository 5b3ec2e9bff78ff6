import type { ApiKeyStore } from "../../aws/src/dynamo/api-keys";
import type { WorkspaceStore } from "../../aws/src/dynamo/workspaces";
import { ValidationError } from "../../core/src/errors";

/**
 * The shape of a CLI command. A command is one file's export: its words, its options (parsed by
 * commander, program.ts), and a `run` that returns data (printed with `--json`) and text (printed
 * otherwise). Adding a command is adding it to the list in main.ts.
 */

/** A command's options by name (`--dry-run` is `"dry-run"`): a string takes a value, a boolean is a flag. */
export type CommandOptions = Readonly<Record<string, { readonly type: "string" | "boolean" }>>;
export type OptionValues = Record<string, string | boolean | undefined>;

/** What commands reach the product through; created on first use, closed after the command. */
export interface CliContext {
  workspaces(): Promise<WorkspaceStore>;
  apiKeys(): Promise<ApiKeyStore>;
  env: Readonly<Record<string, string | undefined>>;
  /** Prints a line while a command runs (a long-running command's progress); set by main.ts. */
  progress?(text: string): void;
}

export interface CommandResult {
  /** Printed as JSON with `--json`. */
  data: unknown;
  /** Printed otherwise: readable, for a person at a terminal. */
  text: string;
}

export interface CliCommand {
  /** The words that select the command, e.g. `["workspaces", "create"]`. */
  path: readonly string[];
  summary: string;
  /** Options after the words, e.g. `--id ID [--name NAME]`. */
  usage: string;
  options: CommandOptions;
  /**
   * Names of the positional arguments after the words (`ACCOUNT_ID`), all required; a command
   * without this list takes none. A name ending in `?` is optional.
   */
  positionals?: readonly string[];
  run(values: OptionValues, context: CliContext, args: readonly string[]): Promise<CommandResult>;
}

/** A command line that does not say what to do (answered with the usage, exit code 2). */
export class UsageError extends ValidationError {
  constructor(message: string) {
    super("cli.usage", message);
  }
}

/**
 * A string option that must be present.
 *
 * @example
 * const id = requiredString(values, "id");
 */
export function requiredString(values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** An optional string option. */
export function optionalString(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}
