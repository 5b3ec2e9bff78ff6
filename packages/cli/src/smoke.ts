import { randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
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

const usage =
  "usage: npm run smoke -- --url <apiUrl> --workspace <id> [--source <name>] [--secret S] [--api-key K] [--timeout SECONDS] [--keep]";

/** The command line: exit code 0 when every check passed, 1 when one failed, 2 for bad usage. */
export async function smokeMain(argv: string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        url: { type: "string" },
        workspace: { type: "string" },
        source: { type: "string" },
        secret: { type: "string" },
        "api-key": { type: "string" },
        timeout: { type: "string" },
        keep: { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const secret = (values.secret as string | undefined) ?? env.SMOKE_SHARED_SECRET;
  const apiKey = (values["api-key"] as string | undefined) ?? env.SEGMENT_INGEST_API_KEY;
  const missing = [
    values.url ? undefined : "--url",
    values.workspace ? undefined : "--workspace",
    secret ? undefined : "--secret (or SMOKE_SHARED_SECRET)",
    apiKey ? undefined : "--api-key (or SEGMENT_INGEST_API_KEY)",
  ].filter(Boolean);
  const timeout = values.timeout === undefined ? 60 : Number(values.timeout);
  if (missing.length > 0 || !Number.isFinite(timeout) || timeout <= 0) {
    process.stderr.write(
      `${missing.length > 0 ? `missing ${missing.join(", ")}` : "--timeout is seconds"}\n${usage}\n`,
    );
    return 2;
  }
  process.stdout.write(`smoke test of ${values.url} (workspace ${values.workspace})\n`);
  const checks = await runSmoke({
    url: values.url as string,
    workspace: values.workspace as string,
    ...(values.source ? { source: values.source as string } : {}),
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
