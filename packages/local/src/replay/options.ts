import { Command, CommanderError, InvalidArgumentError, Option } from "commander";

/**
 * The replay's command line, parsed by commander: the files, the target and credentials, and how
 * to send (batch size, rate, concurrency, retries). Bad values are refused here, with the option
 * and the rule in the message.
 */

/** The options as given; what they leave out comes from the local stack's saved credentials. */
export interface ReplayOptions {
  files: string[];
  url?: string;
  workspace?: string;
  secret?: string;
  writeKey?: string;
  direct: boolean;
  batch: number;
  rate?: number;
  concurrency: number;
  retries: number;
  json: boolean;
}

/** Segment's limit on calls per batch request. */
const MAX_BATCH = 2500;

function integer(name: string, min: number, max = Number.POSITIVE_INFINITY) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`--${name} must be an integer ≥ ${min}`);
    if (n > max) throw new InvalidArgumentError(`--${name} is at most ${max} (Segment's limit)`);
    return n;
  };
}

function program(write: (text: string) => void): Command {
  return new Command("npm run replay --")
    .usage("FILE... [options]")
    .description(
      'Sends recorded Segment payloads (a JSON array, JSON lines, one call, or {"batch": [...]} files; a directory means its .json/.jsonl/.ndjson files) to a running stack. With no options it reaches the local stack\'s dev workspace, with the credentials npm start saved in .data/dev-credentials.json.',
    )
    .argument("[FILE...]", "files or directories of recorded calls")
    .option("--url <URL>", "stack base URL (default http://127.0.0.1:$PORT, PORT default 3000)")
    .option("--workspace <ID>", "webhook workspace (default from the credentials file: dev)")
    .option("--secret <S>", "webhook shared secret (default from the credentials file)")
    .option("--write-key <K>", "tracking API write key, for --direct (default from the credentials file)")
    .option("--direct", "send through the tracking API (/v1/<type>, or /v1/batch with --batch) instead of webhooks")
    .addOption(
      new Option("--batch <N>", "calls per request; webhook batches are JSON arrays signed like Segment Actions")
        .argParser(integer("batch", 1, MAX_BATCH))
        .default(1),
    )
    .addOption(new Option("--rate <N>", "at most N calls per second").argParser(integer("rate", 1)))
    .addOption(
      new Option("--concurrency <N>", "requests in flight at once").argParser(integer("concurrency", 1)).default(4),
    )
    .addOption(
      new Option("--retries <N>", "retries of a request after 5xx, 429 or a network error")
        .argParser(integer("retries", 0))
        .default(5),
    )
    .option("--json", "print the summary as JSON")
    .addHelpText("after", "\nExit code: 0 all accepted, 1 something was rejected or could not be sent, 2 usage error.")
    .helpOption("-h, --help", "show this help")
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: () => {}, outputError: () => {} });
}

/** What a command line asks for: a replay, the help, or nothing it can do (with why). */
export type ParsedReplay =
  | { kind: "replay"; options: ReplayOptions }
  | { kind: "help"; text: string }
  | { kind: "usage"; message: string; help: string };

/**
 * Parses a replay command line.
 *
 * @example
 * parseReplayArgs(["test/fixtures", "--direct", "--batch", "10"]);
 * // { kind: "replay", options: { files: ["test/fixtures"], direct: true, batch: 10, concurrency: 4, … } }
 */
export function parseReplayArgs(argv: readonly string[]): ParsedReplay {
  let written = "";
  const command = program((text) => {
    written += text;
  });
  const help = `Usage: ${command.name()} ${command.usage()} (--help lists the options)`;
  try {
    command.parse([...argv], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === "commander.helpDisplayed") return { kind: "help", text: written.trimEnd() };
    return { kind: "usage", message: error.message.replace(/^error: /, ""), help };
  }
  const given = command.opts();
  if (command.args.length === 0) return { kind: "usage", message: "No files given.", help };
  return {
    kind: "replay",
    options: {
      files: [...command.args],
      url: given.url,
      workspace: given.workspace,
      secret: given.secret,
      writeKey: given.writeKey,
      direct: given.direct === true,
      batch: given.batch,
      rate: given.rate,
      concurrency: given.concurrency,
      retries: given.retries,
      json: given.json === true,
    },
  };
}
