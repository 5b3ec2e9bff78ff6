import { randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { segmentSignature } from "../../core/src/ingest/signature";

/**
 * `npm run smoke -- --url <apiUrl> --workspace <id>`: the checks to run right after a real
 * `sst deploy` (docs/deploy.md). Over HTTP only, as Segment and a customer would: `/health`
 * answers, a webhook signed with the workspace's shared secret is accepted, its event is read back
 * through the read API with an API key once normalize has stored it, and a wrong signature is
 * refused. Then it queues the deletion of the smoke test's user (`--keep` leaves it). The secret
 * and the key come from `--secret` / `--api-key` or, to keep them out of shell history,
 * `SMOKE_SHARED_SECRET` / `SEGMENT_INGEST_API_KEY`.
 */

export interface SmokeOptions {
  url: string;
  workspace: string;
  source?: string;
  secret: string;
  apiKey: string;
  /** How long to wait for the event to be readable. Default 60 s. */
  timeoutMs?: number;
  /** Leave the smoke test's user in place. */
  keep?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

export interface SmokeCheck {
  name: string;
  ok: boolean;
  detail: string;
}

async function answerOf(response: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: response.status, body: { text: text.slice(0, 200) } };
  }
}

/**
 * Runs the checks in order; a failed check does not stop the others that can still run.
 *
 * @example
 * const checks = await runSmoke({ url, workspace: "acme", secret, apiKey });
 * const passed = checks.every((c) => c.ok);
 */
export async function runSmoke(options: SmokeOptions): Promise<SmokeCheck[]> {
  const http = options.fetch ?? fetch;
  const log = options.log ?? (() => {});
  const base = options.url.replace(/\/+$/, "");
  const checks: SmokeCheck[] = [];
  const record = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    log(`  ${ok ? "ok  " : "FAIL"}  ${name}: ${detail}`);
  };
  const webhookUrl = `${base}/v1/webhooks/segment/${encodeURIComponent(options.workspace)}${
    options.source ? `/${encodeURIComponent(options.source)}` : ""
  }`;
  const auth = { authorization: `Bearer ${options.apiKey}` };
  const run = randomUUID().slice(0, 8);
  const userId = `smoke-test-${run}`;
  const messageId = `smoke-test-${run}-1`;

  try {
    const health = await answerOf(await http(`${base}/health`));
    record(
      "health",
      health.status === 200,
      `${health.status}${health.body.version ? `, version ${health.body.version}` : ` ${JSON.stringify(health.body)}`}`,
    );
  } catch (error) {
    record("health", false, `no answer from ${base}: ${(error as Error).message}`);
    return checks;
  }

  const body = JSON.stringify({
    type: "track",
    event: "Smoke Test",
    userId,
    messageId,
    timestamp: new Date().toISOString(),
    properties: { source: "npm run smoke" },
  });
  const signature = segmentSignature(body, options.secret);
  const accepted = await answerOf(
    await http(webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-signature": signature },
      body,
    }),
  );
  const webhookOk = accepted.status === 200 && accepted.body.success === true;
  record("signed webhook accepted", webhookOk, `${accepted.status} ${JSON.stringify(accepted.body)}`);

  if (webhookOk) {
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 60_000);
    let last = { status: 0, body: {} as Record<string, unknown> };
    let found = false;
    while (!found && Date.now() < deadline) {
      last = await answerOf(await http(`${base}/v1/users/${encodeURIComponent(userId)}/events`, { headers: auth }));
      const items = (last.body.items ?? []) as { event_id?: string }[];
      found = last.status === 200 && items.some((item) => item.event_id === messageId);
      if (!found) await new Promise((done) => setTimeout(done, 1000));
    }
    record(
      "event read back through the API",
      found,
      found
        ? `${messageId} after ${((Date.now() - started) / 1000).toFixed(1)} s`
        : `not readable within ${(options.timeoutMs ?? 60_000) / 1000} s; last answer ${last.status} ${JSON.stringify(last.body)}`,
    );
  }

  const refused = await answerOf(
    await http(webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-signature": "0".repeat(40) },
      body,
    }),
  );
  record(
    "wrong signature refused",
    refused.status === 401 && refused.body.code === "segment.signature_invalid",
    `${refused.status} ${String(refused.body.code ?? JSON.stringify(refused.body))}`,
  );

  if (webhookOk && !options.keep) {
    const removed = await answerOf(
      await http(`${base}/v1/users/${encodeURIComponent(userId)}`, { method: "DELETE", headers: auth }),
    );
    record("smoke test user deletion queued", removed.status === 202, `${removed.status} ${userId}`);
  }
  return checks;
}

/** The smoke test's command line (commander): what to reach, with which credentials, for how long. */
function smokeProgram(write: (text: string) => void): Command {
  const seconds = (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("--timeout is seconds");
    return n;
  };
  return new Command("npm run smoke --")
    .description("Checks a deployed stage over HTTP, as Segment and a customer would (docs/deploy.md)")
    .option("--url <apiUrl>", "the stage's API URL")
    .option("--workspace <id>", "the workspace to send to")
    .option("--source <name>", "the source (default: the workspace's primary source)")
    .option("--secret <S>", "the source's shared secret (or SMOKE_SHARED_SECRET)")
    .option("--api-key <K>", "an API key of the workspace (or SEGMENT_INGEST_API_KEY)")
    .option("--timeout <SECONDS>", "how long to wait for the event to be readable", seconds, 60)
    .option("--keep", "leave the smoke test's user in place")
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: () => {}, outputError: () => {} });
}

/** The command line: exit code 0 when every check passed, 1 when one failed, 2 for bad usage. */
export async function smokeMain(argv: string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const program = smokeProgram((text) => process.stdout.write(text));
  const usage = `usage: ${program.name()} --url <apiUrl> --workspace <id> [--source <name>] [--secret S] [--api-key K] [--timeout SECONDS] [--keep]`;
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === "commander.helpDisplayed") return 0;
    process.stderr.write(`${error.message.replace(/^error: /, "")}\n${usage}\n`);
    return 2;
  }
  const values = program.opts<{
    url: string;
    workspace: string;
    source?: string;
    secret?: string;
    apiKey?: string;
    timeout: number;
    keep?: boolean;
  }>();
  const secret = values.secret ?? env.SMOKE_SHARED_SECRET;
  const apiKey = values.apiKey ?? env.SEGMENT_INGEST_API_KEY;
  // Every missing option is named at once.
  const missing = [
    values.url ? undefined : "--url",
    values.workspace ? undefined : "--workspace",
    secret ? undefined : "--secret (or SMOKE_SHARED_SECRET)",
    apiKey ? undefined : "--api-key (or SEGMENT_INGEST_API_KEY)",
  ].filter(Boolean);
  if (missing.length > 0) {
    process.stderr.write(`missing ${missing.join(", ")}\n${usage}\n`);
    return 2;
  }
  const timeout = values.timeout;
  process.stdout.write(`smoke test of ${values.url} (workspace ${values.workspace})\n`);
  const checks = await runSmoke({
    url: values.url as string,
    workspace: values.workspace as string,
    ...(values.source ? { source: values.source } : {}),
    secret: secret as string,
    apiKey: apiKey as string,
    timeoutMs: timeout * 1000,
    keep: values.keep === true,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(
    failed === 0
      ? `smoke: all ${checks.length} checks passed\n`
      : `smoke: ${failed} of ${checks.length} checks failed\n`,
  );
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  smokeMain(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`smoke: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
