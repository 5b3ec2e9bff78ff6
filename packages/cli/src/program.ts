import { Command, CommanderError, Help, Option } from "commander";
import type { CliCommand, OptionValues } from "./command";

/**
 * The CLI's command line, parsed by commander: one commander command per CliCommand, nested by its
 * words (`workspaces create`), with the options it declares, `--json` and `-h/--help`. Parsing
 * only selects the command and reads its values; main.ts runs it, so every command fails and
 * prints the same way.
 */

/** The command a command line selected, with its option values (by declared name) and arguments. */
export interface Selection {
  command: CliCommand;
  values: OptionValues;
  positionals: string[];
}

/** What a parse ended with when it did not select a command to run. */
export type ParseOutcome =
  | { kind: "run"; selection: Selection }
  | { kind: "help"; text: string }
  | { kind: "unknown_command"; suggestion?: string }
  | { kind: "usage"; message: string };

/** The help that lists every command by its full words, each with its options and summary. */
export function commandList(program: string, commands: readonly CliCommand[]): string {
  const lines = commands.map((c) => `  ${[...c.path, c.usage].filter(Boolean).join(" ")}\n      ${c.summary}`);
  return [`Usage: ${program} <command> [options] [--json]`, "", "Commands:", ...lines].join("\n");
}

function leafCommand(parent: Command, word: string, command: CliCommand, select: (s: Selection) => void): void {
  const leaf = parent.command(word).description(command.summary).usage(command.usage);
  const declared = Object.entries(command.options).map(([name, spec]) => {
    const option = new Option(spec.type === "string" ? `--${name} <value>` : `--${name}`);
    leaf.addOption(option);
    return [name, option.attributeName()] as const;
  });
  leaf.addOption(new Option("--json", "print the result (or the error) as JSON"));
  // Positionals are all optional to commander: the command's own check names the missing one.
  for (const name of command.positionals ?? []) leaf.argument(`[${name.replace(/\?$/, "")}]`);
  leaf.action((...args: unknown[]) => {
    const self = args.at(-1) as Command;
    const given = self.opts();
    const values: OptionValues = Object.fromEntries(declared.map(([name, key]) => [name, given[key]]));
    values.json = given.json === true;
    select({ command, values, positionals: [...self.args] });
  });
}

/**
 * A fresh commander program over the commands (commander keeps parsed values on its objects, so
 * each command line gets its own).
 */
function buildProgram(name: string, commands: readonly CliCommand[], select: (s: Selection) => void) {
  let written = "";
  const program = new Command(name)
    .exitOverride()
    .helpCommand(false)
    .configureOutput({
      writeOut: (text) => {
        written += text;
      },
      writeErr: () => {},
      outputError: () => {},
    })
    .configureHelp({
      // The top level lists every command by its full words rather than only the first word.
      formatHelp: (cmd, helper) =>
        cmd.parent === null ? `${commandList(name, commands)}\n` : Help.prototype.formatHelp.call(helper, cmd, helper),
    });
  const groups = new Map<string, Command>([["", program]]);
  for (const command of commands) {
    let parent = program;
    for (let i = 0; i < command.path.length - 1; i++) {
      const key = command.path.slice(0, i + 1).join(" ");
      let group = groups.get(key);
      if (!group) {
        group = parent.command(command.path[i] as string).helpCommand(false);
        groups.set(key, group);
      }
      parent = group;
    }
    leafCommand(parent, command.path.at(-1) as string, command, select);
  }
  return { program, written: () => written };
}

/**
 * Parses one command line into what to do: run a command, show help, or refuse it.
 *
 * @example
 * await parseCommandLine("npm run cli --", commands, ["workspaces", "create", "--id", "acme"]);
 * // { kind: "run", selection: { command: createWorkspace, values: { id: "acme", … }, positionals: [] } }
 */
export async function parseCommandLine(
  name: string,
  commands: readonly CliCommand[],
  argv: readonly string[],
): Promise<ParseOutcome> {
  let selection: Selection | undefined;
  const { program, written } = buildProgram(name, commands, (s) => {
    selection = s;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === "commander.helpDisplayed") return { kind: "help", text: written().trimEnd() };
    // A group's words without a command of it (`workspaces`), or words that name none.
    if (error.code === "commander.unknownCommand" || error.code === "commander.help") {
      const suggestion = /\(Did you mean .*\?\)/.exec(error.message)?.[0];
      return suggestion ? { kind: "unknown_command", suggestion } : { kind: "unknown_command" };
    }
    return { kind: "usage", message: error.message.replace(/^error: /, "") };
  }
  return selection ? { kind: "run", selection } : { kind: "unknown_command" };
}
