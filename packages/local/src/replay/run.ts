import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ValidationError } from "../../../core/src/errors";
import { dataDirectory, devCredentialsPath, readDevCredentials } from "../dev-workspace";
import { duplicateMessageIds, parseRecordedCalls } from "../recorded-calls";
import { parseReplayArgs, type ReplayOptions } from "./options";
import { planRequests, type ReplaySettings, type SourcedCall } from "./plan";
import { type ProgressStream, progressDisplay } from "./progress";
import { sendRequests } from "./send";
import { formatSummary, type ReplaySummary } from "./summary";

/**
 * `npm run replay -- FILE...`: sends recorded Segment payloads to a running stack the way Segment
 * would. Webhook mode (the default) signs every request with the source's shared secret, one call
 * per request like a classic webhook, or `--batch N` calls per JSON array like Segment Actions
 * (which signs `JSON.stringify(body[0])`). `--direct` uses the tracking API with the write key, one
 * call per `/v1/<type>` request or `--batch N` calls per `/v1/batch`. 5xx and 429 answers, and
 * network errors, are retried with exponential backoff, as Segment does.
 */

/** The files behind the arguments: a directory stands for its .json, .jsonl and .ndjson files. */
async function expandFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new ValidationError("replay.file_missing", `No such file: ${path}`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => /\.(json|jsonl|ndjson)$/.test(n)).sort();
      files.push(...names.map((n) => join(path, n)));
    } else {
      files.push(path);
    }
  }
  return files;
}

/** The settings of a replay: the options, and what they leave out from the saved dev credentials. */
async function settingsOf(options: ReplayOptions, env: ReplayIo["env"]): Promise<ReplaySettings> {
  const dataDir = dataDirectory(env);
  const saved = await readDevCredentials(dataDir).catch(() => undefined);
  const settings: ReplaySettings = {
    url: options.url ?? `http://127.0.0.1:${env.PORT || 3000}`,
    mode: options.direct ? "direct" : "webhook",
    workspaceId: options.workspace ?? saved?.workspaceId ?? "dev",
    sharedSecret: options.secret ?? saved?.sharedSecret,
    writeKey: options.writeKey ?? saved?.writeKey,
    batchSize: options.batch,
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    concurrency: options.concurrency,
    maxRetries: options.retries,
    retryBaseMs: 500,
  };
  if (options.direct ? !settings.writeKey : !settings.sharedSecret) {
    throw new ValidationError(
      "cli.usage",
      `No ${options.direct ? "write key" : "shared secret"}: pass ${options.direct ? "--write-key" : "--secret"}, or start the local stack once (npm start) so ${devCredentialsPath(dataDir)} exists`,
    );
  }
  return settings;
}

/** Where the replay writes (tests pass their own). */
export interface ReplayIo {
  stdout(text: string): void;
  stderr: ProgressStream;
  env: Readonly<Record<string, string | undefined>>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Runs one replay command line; returns the exit code: 0 all accepted, 1 something was rejected or
 * could not be sent, 2 a usage error.
 *
 * @example
 * process.exitCode = await runReplay(["test/fixtures", "--direct"]);
 */
export async function runReplay(
  argv: readonly string[],
  io: ReplayIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: process.stderr,
    env: process.env,
  },
): Promise<number> {
  const say = (text: string) => io.stderr.write(`${text}\n`);
  const parsed = parseReplayArgs(argv);
  if (parsed.kind === "help") {
    io.stdout(parsed.text);
    return 0;
  }
  if (parsed.kind === "usage") {
    say(`${parsed.message}\n\n${parsed.help}`);
    return 2;
  }
  const { options } = parsed;

  let settings: ReplaySettings;
  let files: string[];
  try {
    settings = await settingsOf(options, io.env);
    files = await expandFiles(options.files);
  } catch (error) {
    say(`Error: ${message(error)}`);
    return 2;
  }

  const calls: SourcedCall[] = [];
  try {
    for (const file of files) {
      const recorded = parseRecordedCalls(await readFile(file, "utf8"), file);
      calls.push(...recorded.map((call, i) => ({ call, origin: `${file} #${i + 1}` })));
    }
  } catch (error) {
    say(`Error: ${message(error)}`);
    return 1;
  }

  const { requests, skipped } = planRequests(calls, settings);
  const progress = progressDisplay(io.stderr);
  let outcome: Awaited<ReturnType<typeof sendRequests>>;
  try {
    outcome = await sendRequests(requests, settings, progress.update);
  } finally {
    progress.finish();
  }

  const base = settings.url.replace(/\/$/, "");
  const summary: ReplaySummary = {
    target: settings.mode === "webhook" ? `${base}/v1/webhooks/segment/${settings.workspaceId}` : base,
    mode: settings.mode,
    batchSize: settings.batchSize,
    files: files.length,
    calls: calls.length,
    sent: { calls: outcome.sentCalls, requests: outcome.sentRequests },
    accepted: outcome.acceptedCalls,
    rejected: { calls: outcome.rejectedCalls, byCode: outcome.rejectedByCode },
    retried: outcome.retries,
    skipped: {
      calls: skipped.length,
      ...(skipped.length > 0 ? { reason: "delete calls exist only in webhooks: replay them without --direct" } : {}),
    },
    duplicates: duplicateMessageIds(calls.map((c) => c.call)),
    ...(outcome.aborted ? { aborted: outcome.aborted } : {}),
  };
  io.stdout(options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  return outcome.rejectedCalls > 0 || outcome.aborted ? 1 : 0;
}
