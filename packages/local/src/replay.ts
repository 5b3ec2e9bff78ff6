import { realpathSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { IngestError, ValidationError } from "../../core/src/errors";
import { segmentSignature } from "../../core/src/ingest/signature";
import { dataDirectory, devCredentialsPath, readDevCredentials } from "./dev-workspace";
import { duplicateMessageIds, parseRecordedCalls, type RecordedCall } from "./recorded-calls";

/**
 * `npm run replay -- FILE...`: sends recorded Segment payloads to a running stack the way Segment
 * would. Webhook mode (the default) signs every request with the source's shared secret, one call
 * per request like a classic webhook, or `--batch N` calls per JSON array like Segment Actions
 * (which signs `JSON.stringify(body[0])`). `--direct` uses the tracking API with the write key, one
 * call per `/v1/<type>` request or `--batch N` calls per `/v1/batch`. 5xx and 429 answers, and
 * network errors, are retried with exponential backoff, as Segment does.
 */

export type ReplayMode = "webhook" | "direct";

export interface ReplaySettings {
  /** Base URL of the stack, e.g. `http://127.0.0.1:3000`. */
  url: string;
  mode: ReplayMode;
  workspaceId: string;
  sharedSecret?: string;
  writeKey?: string;
  /** Calls per request. 1 sends single calls. */
  batchSize: number;
  /** At most this many calls per second; unlimited when absent. */
  rate?: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Retries of one request after a 5xx, a 429 or a network error. */
  maxRetries: number;
  /** First retry delay; it doubles each retry (with jitter), capped at 30 s. */
  retryBaseMs: number;
}

/** A recorded call and where it came from (for messages). */
export interface SourcedCall {
  call: RecordedCall;
  /** `file.json #3` */
  origin: string;
}

/** One HTTP request of a replay. */
export interface ReplayRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  calls: number;
  /** Origin of its first call. */
  origin: string;
}

/** Paths of the tracking API's single-call routes. */
const trackingTypes = new Set(["identify", "track", "group", "page", "screen", "alias"]);

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * The requests that replay the calls, signed (webhook mode) or authenticated with the write key
 * (direct mode). `delete` calls exist only in webhooks, so direct mode skips them; webhook batches
 * send each `delete` alone, signed on its body, after the batches.
 *
 * @example
 * const { requests } = planRequests(calls, { ...settings, mode: "webhook", batchSize: 1 });
 */
export function planRequests(
  calls: readonly SourcedCall[],
  settings: Pick<ReplaySettings, "url" | "mode" | "workspaceId" | "sharedSecret" | "writeKey" | "batchSize">,
): { requests: ReplayRequest[]; skipped: SourcedCall[] } {
  const base = settings.url.replace(/\/$/, "");
  const common = { "content-type": "application/json", "user-agent": "segment-ingest-replay/1" };
  if (settings.mode === "webhook") {
    const secret = settings.sharedSecret;
    if (!secret) throw new ValidationError("replay.secret_missing", "Webhook mode needs the shared secret (--secret)");
    const url = `${base}/v1/webhooks/segment/${encodeURIComponent(settings.workspaceId)}`;
    // A batch's signature covers only its first call, and ingest accepts a `delete` only where a
    // signature covers it: deletions go on their own, signed on the body (docs/security.md).
    const batched = settings.batchSize === 1 ? calls : calls.filter((c) => c.call.type !== "delete");
    const alone = settings.batchSize === 1 ? [] : calls.filter((c) => c.call.type === "delete").map((c) => [c]);
    const requests = [...chunks(batched, settings.batchSize), ...alone].map((group) => {
      // Batches hold no `delete` (batchSize > 1), so a group led by one is a deletion sent alone.
      const single = settings.batchSize === 1 || group[0]?.call.type === "delete";
      const body = single ? JSON.stringify(group[0]?.call) : JSON.stringify(group.map((c) => c.call));
      // Segment Actions signs only the first event of a batch, re-serialised.
      const signed = single ? body : JSON.stringify(group[0]?.call);
      return {
        url,
        headers: { ...common, "x-signature": segmentSignature(signed, secret) },
        body,
        calls: group.length,
        origin: group[0]?.origin ?? "",
      };
    });
    return { requests, skipped: [] };
  }

  const writeKey = settings.writeKey;
  if (!writeKey) throw new ValidationError("replay.write_key_missing", "Direct mode needs the write key (--write-key)");
  const auth = { ...common, authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` };
  // A recorded call's sentAt is when it was sent back then: the tracking API would read it as clock
  // skew and move the call to now (Segment's correction). A library sets sentAt as it sends; the
  // replay sends none, so recorded times stay as they are.
  const sendable = calls
    .filter((c) => c.call.type !== "delete")
    .map((c) => {
      if (!Object.hasOwn(c.call, "sentAt")) return c;
      const { sentAt: _recorded, ...call } = c.call;
      return { ...c, call };
    });
  const skipped = calls.filter((c) => c.call.type === "delete");
  const requests = chunks(sendable, settings.batchSize).map((group) => {
    const first = group[0] as SourcedCall;
    const type = first.call.type;
    const single = settings.batchSize === 1 && typeof type === "string" && trackingTypes.has(type);
    return {
      url: single ? `${base}/v1/${type}` : `${base}/v1/batch`,
      headers: auth,
      body: single ? JSON.stringify(first.call) : JSON.stringify({ batch: group.map((c) => c.call) }),
      calls: group.length,
      origin: first.origin,
    };
  });
  return { requests, skipped };
}

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

function retryDelay(attempt: number, baseMs: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(60_000, seconds * 1000);
  const exponential = Math.min(30_000, baseMs * 2 ** attempt);
  return exponential / 2 + Math.random() * (exponential / 2);
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code === "ECONNREFUSED";
}

interface Answer {
  status: number;
  code?: string;
  message?: string;
  /** Calls a 200 answer refused on their own (issue 16: id rules, `delete` from the write key). */
  refused?: { count: number; problems: { code: string; message: string }[] };
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; refused?: unknown; problems?: unknown };
    const problems = Array.isArray(body.problems)
      ? body.problems.flatMap((p: { code?: unknown; message?: unknown }) =>
          typeof p?.code === "string" ? [{ code: p.code, message: String(p.message ?? "") }] : [],
        )
      : [];
    return {
      status: response.status,
      ...(typeof body.code === "string" ? { code: body.code } : {}),
      ...(typeof body.message === "string" ? { message: body.message } : {}),
      ...(response.ok && typeof body.refused === "number" && body.refused > 0
        ? { refused: { count: body.refused, problems } }
        : {}),
    };
  } catch {
    return { status: response.status, message: text.slice(0, 200) };
  }
}

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
  let next = 0;
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
            const byCode = new Map<string, { calls: number; message: string }>();
            for (const p of refused.problems) {
              const entry = byCode.get(p.code) ?? { calls: 0, message: p.message };
              entry.calls += 1;
              byCode.set(p.code, entry);
            }
            // Problems beyond the listed ones: counted under the first code listed.
            const unlisted = refused.count - refused.problems.length;
            const first = [...byCode.values()][0];
            if (first && unlisted > 0) first.calls += unlisted;
            for (const [code, entry] of byCode) reject(request, code, entry.message, entry.calls);
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
          next = requests.length;
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

  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++] as ReplayRequest;
      await sendOne(request);
      onProgress(outcome, totalCalls);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, settings.concurrency) }, () => worker()));
  return outcome;
}

/** Where progress goes: a terminal gets a bar redrawn in place, anything else a line now and then. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress display on `stream`: a bar when it is a terminal, else a line every `intervalMs`.
 *
 * @example
 * const progress = progressDisplay(process.stderr);
 * await sendRequests(requests, settings, progress.update);
 * progress.finish();
 */
export function progressDisplay(stream: ProgressStream, intervalMs = 2000) {
  let last = 0;
  let drawn = false;
  let latest: { outcome: Readonly<SendOutcome>; total: number } | undefined;
  const describe = (o: Readonly<SendOutcome>, total: number) =>
    `${o.sentCalls}/${total} calls · ${o.acceptedCalls} accepted · ${o.rejectedCalls} rejected · ${o.retries} retried`;
  const draw = () => {
    if (!latest) return;
    const { outcome, total } = latest;
    const done = total === 0 ? 1 : outcome.sentCalls / total;
    const width = 30;
    const filled = Math.round(done * width);
    stream.write(
      `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.round(done * 100)).padStart(3)}% ${describe(outcome, total)}`,
    );
    drawn = true;
  };
  return {
    update: (outcome: Readonly<SendOutcome>, total: number) => {
      latest = { outcome, total };
      const now = Date.now();
      if (stream.isTTY) {
        if (now - last >= 80 || outcome.sentCalls === total) {
          last = now;
          draw();
        }
      } else if (now - last >= intervalMs) {
        if (last !== 0) stream.write(`replay: ${describe(outcome, total)}\n`);
        last = now;
      }
    },
    finish: () => {
      if (stream.isTTY && latest) {
        draw();
        if (drawn) stream.write("\n");
      }
    },
  };
}

/** The summary a replay ends with (`--json` prints it as is). */
export interface ReplaySummary {
  target: string;
  mode: ReplayMode;
  batchSize: number;
  files: number;
  calls: number;
  sent: { calls: number; requests: number };
  accepted: number;
  rejected: { calls: number; byCode: Record<string, RejectedGroup> };
  retried: number;
  skipped: { calls: number; reason?: string };
  /** Calls repeating a messageId of an earlier call in the input (stored once). */
  duplicates: number;
  aborted?: string;
}

/** The readable summary. */
export function formatSummary(summary: ReplaySummary): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const how =
    summary.mode === "webhook"
      ? `webhook, signed, ${summary.batchSize === 1 ? "one call per request" : `batches of up to ${summary.batchSize} (Actions)`}`
      : `tracking API, write key, ${summary.batchSize === 1 ? "one call per request" : `/v1/batch of up to ${summary.batchSize}`}`;
  const lines = [
    `Replayed ${unit(summary.calls, "call")} from ${unit(summary.files, "file")} to ${summary.target} (${how})`,
    `  sent        ${unit(summary.sent.calls, "call")} in ${unit(summary.sent.requests, "request")}`,
    `  accepted    ${summary.accepted}`,
    `  rejected    ${summary.rejected.calls}`,
  ];
  for (const [code, group] of Object.entries(summary.rejected.byCode).sort((a, b) => b[1].calls - a[1].calls)) {
    lines.push(`    ${code}  ${unit(group.calls, "call")}, e.g. ${group.example}`);
  }
  lines.push(`  retried     ${unit(summary.retried, "time")}`);
  if (summary.skipped.calls > 0) lines.push(`  skipped     ${summary.skipped.calls} (${summary.skipped.reason})`);
  lines.push(
    `  duplicates  ${summary.duplicates}${summary.duplicates > 0 ? " (repeat a messageId earlier in the input: stored once)" : ""}`,
  );
  if (summary.aborted) lines.push(`Stopped: ${summary.aborted}`);
  return lines.join("\n");
}

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

const usage = `Usage: npm run replay -- FILE... [options]

Sends recorded Segment payloads (a JSON array, JSON lines, one call, or {"batch": [...]} files;
a directory means its .json/.jsonl/.ndjson files) to a running stack. With no options it reaches
the local stack's dev workspace, with the credentials npm start saved in .data/dev-credentials.json.

Options:
  --url URL          stack base URL (default http://127.0.0.1:$PORT, PORT default 3000)
  --workspace ID     webhook workspace (default from the credentials file: dev)
  --secret S         webhook shared secret (default from the credentials file)
  --write-key K      tracking API write key, for --direct (default from the credentials file)
  --direct           send through the tracking API (/v1/<type>, or /v1/batch with --batch) instead of webhooks
  --batch N          calls per request (default 1); webhook batches are JSON arrays signed like Segment Actions
  --rate N           at most N calls per second
  --concurrency N    requests in flight at once (default 4)
  --retries N        retries of a request after 5xx, 429 or a network error (default 5)
  --json             print the summary as JSON
Exit code: 0 all accepted, 1 something was rejected or could not be sent, 2 usage error.`;

function positiveInteger(value: string | undefined, name: string, fallback: number | undefined, min = 1) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ValidationError("cli.usage", `--${name} must be an integer ≥ ${min}`);
  return n;
}

/** Where the replay writes (tests pass their own). */
export interface ReplayIo {
  stdout(text: string): void;
  stderr: ProgressStream;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Runs one replay command line; returns the exit code.
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
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: "string" },
        workspace: { type: "string" },
        secret: { type: "string" },
        "write-key": { type: "string" },
        direct: { type: "boolean" },
        batch: { type: "string" },
        rate: { type: "string" },
        concurrency: { type: "string" },
        retries: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    say(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  if (positionals.length === 0) {
    say(`No files given.\n\n${usage}`);
    return 2;
  }

  let settings: ReplaySettings;
  let files: string[];
  try {
    const direct = values.direct === true;
    const str = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
    const dataDir = dataDirectory(io.env);
    // Flags win; what they leave out comes from the local stack's saved dev credentials.
    const saved = await readDevCredentials(dataDir).catch(() => undefined);
    settings = {
      url: str("url") ?? `http://127.0.0.1:${io.env.PORT || 3000}`,
      mode: direct ? "direct" : "webhook",
      workspaceId: str("workspace") ?? saved?.workspaceId ?? "dev",
      sharedSecret: str("secret") ?? saved?.sharedSecret,
      writeKey: str("write-key") ?? saved?.writeKey,
      batchSize: positiveInteger(str("batch"), "batch", 1) as number,
      rate: positiveInteger(str("rate"), "rate", undefined),
      concurrency: positiveInteger(str("concurrency"), "concurrency", 4) as number,
      maxRetries: positiveInteger(str("retries"), "retries", 5, 0) as number,
      retryBaseMs: 500,
    };
    if (settings.batchSize > 2500) throw new ValidationError("cli.usage", "--batch is at most 2500 (Segment's limit)");
    const missing = direct ? !settings.writeKey : !settings.sharedSecret;
    if (missing) {
      throw new ValidationError(
        "cli.usage",
        `No ${direct ? "write key" : "shared secret"}: pass ${direct ? "--write-key" : "--secret"}, or start the local stack once (npm start) so ${devCredentialsPath(dataDir)} exists`,
      );
    }
    files = await expandFiles(positionals);
  } catch (error) {
    say(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }

  const calls: SourcedCall[] = [];
  try {
    for (const file of files) {
      const recorded = parseRecordedCalls(await readFile(file, "utf8"), file);
      calls.push(...recorded.map((call, i) => ({ call, origin: `${file} #${i + 1}` })));
    }
  } catch (error) {
    say(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }

  const { requests, skipped } = planRequests(calls, settings);
  const progress = progressDisplay(io.stderr);
  const outcome = await sendRequests(requests, settings, progress.update);
  progress.finish();

  const target =
    settings.mode === "webhook"
      ? `${settings.url.replace(/\/$/, "")}/v1/webhooks/segment/${settings.workspaceId}`
      : settings.url.replace(/\/$/, "");
  const summary: ReplaySummary = {
    target,
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
  io.stdout(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  return outcome.rejectedCalls > 0 || outcome.aborted ? 1 : 0;
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
  try {
    process.exitCode = await runReplay(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `Error: ${error instanceof IngestError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
