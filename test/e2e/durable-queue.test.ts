import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../packages/local/src/services";
import { eventually } from "../support/eventually";
import { prng } from "../support/seeded-random";
import { type SegmentRequest, segmentRequests } from "../support/segment-sender";
import {
  descendantsOf,
  killStack,
  leftOver,
  type StackProcess,
  spawnStack,
  stopStack,
  waitUntilReady,
} from "../support/stack-process";

/**
 * "200 only after durable enqueue" through the local stack: every call the stack answered 200 is
 * in the model after the stack is killed (SIGKILL, mid-stream) or stopped with more queued than
 * its drain window handles (Ctrl-C), and then started again on the same data directory. Each test
 * has its own data directory; the calls are a seeded mix of webhook and tracking API requests.
 */

const credentials = {
  DEV_SHARED_SECRET: "durable-shared-secret",
  DEV_WRITE_KEY: "durable-write-key",
  DEV_API_KEY: "durable-api-key-0001",
};
const source = { workspaceId: "dev", sharedSecret: credentials.DEV_SHARED_SECRET, writeKey: credentials.DEV_WRITE_KEY };

const roots: string[] = [];
let stack: StackProcess | undefined;

afterEach((context) => {
  if (context.task.result?.state === "fail" && stack) {
    process.stderr.write(`--- local stack output (last 6000 characters) ---\n${stack.output().slice(-6000)}\n`);
  }
  killStack(stack);
});

afterAll(async () => {
  killStack(stack);
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshEnvironment(name: string, extra: Record<string, string> = {}) {
  const root = await mkdtemp(join(tmpdir(), `durable-${name}-`));
  roots.push(root);
  return { PORT: String(await freePort()), DATA_DIR: join(root, "data"), ...credentials, ...extra };
}

async function start(env: Record<string, string>): Promise<StackProcess> {
  stack = spawnStack(env);
  await waitUntilReady(stack);
  return stack;
}

/** `n` track calls on one account, each with its own messageId. */
function trackCalls(account: string, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    type: "track",
    event: "Durable Event",
    userId: `usr_${account}_${i % 25}`,
    messageId: `${account}-${i}`,
    timestamp: new Date(Date.UTC(2024, 4, 1) + i * 1000).toISOString(),
    context: { groupId: account },
  }));
}

/**
 * Sends every request once, `concurrency` at a time, with no retry (a call that did not get its
 * 200 is not owed to anyone), and returns the messageIds of the calls answered 200.
 * `onAccepted` sees the running count after each 200.
 */
async function sendOnce(
  url: string,
  requests: readonly SegmentRequest[],
  options: { concurrency?: number; onAccepted?: (accepted: number) => void } = {},
): Promise<{ accepted: Set<string>; failed: number }> {
  const accepted = new Set<string>();
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++] as SegmentRequest;
      const status = await fetch(`${url}${request.path}`, {
        method: "POST",
        headers: request.headers,
        body: request.body,
      })
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        })
        .catch(() => 0);
      if (status === 200) {
        for (const call of request.calls) accepted.add(call.messageId as string);
        options.onAccepted?.(accepted.size);
      } else {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { accepted, failed };
}

/** Every event id stored on an account, page after page. */
async function storedEventIds(url: string, account: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await fetch(`${url}/v1/accounts/${account}/events?${query}`, {
      headers: { authorization: `Bearer ${credentials.DEV_API_KEY}` },
    });
    if (response.status !== 200) throw new Error(`events of ${account}: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { items: { event_id: string }[]; next_cursor: string | null };
    ids.push(...page.items.map((item) => item.event_id));
    cursor = page.next_cursor;
  } while (cursor);
  return ids;
}

/** Waits until every accepted call is stored, then checks that none is stored twice. */
async function expectEveryAcceptedCallStored(url: string, account: string, accepted: Set<string>) {
  const stored = await eventually(
    () => storedEventIds(url, account),
    (ids) => {
      const missing = [...accepted].filter((id) => !ids.includes(id));
      expect(missing, `accepted calls missing from the model (of ${accepted.size})`).toEqual([]);
    },
    { what: `all ${accepted.size} accepted calls on ${account}`, timeoutMs: 90_000, intervalMs: 1000 },
  );
  expect(stored.length, "events stored twice").toBe(new Set(stored).size);
  return stored;
}

/** The counts of the stop message ("Left on the queues: N messages on the raw queue…; M on the dead-letter queue"). */
function leftOnQueues(output: string): { raw: number; deadLetter: number } | undefined {
  const match = /Left on the queues: ([\d,]+) messages? on the raw queue[^;]*; ([\d,]+) on the dead-letter queue/.exec(
    output,
  );
  if (!match) return undefined;
  const count = (text: string | undefined) => Number((text ?? "").replaceAll(",", ""));
  return { raw: count(match[1]), deadLetter: count(match[2]) };
}

describe("the local queue is durable", () => {
  it("keeps every call answered 200 through a SIGKILL mid-stream, and processes it after the restart", async () => {
    const env = await freshEnvironment("sigkill");
    const running = await start(env);
    const calls = trackCalls("acc_sigkill", 3000);
    const requests = segmentRequests(calls, source, prng(1801), 10);

    // Kill the whole process group (npm and the stack's Node process) once a third of the calls
    // have their 200, while requests are still arriving and batches are being normalized.
    let killed = false;
    const pids = new Set([...running.pids, ...descendantsOf(running.child.pid as number)]);
    const sent = await sendOnce(running.url, requests, {
      onAccepted: (n) => {
        if (!killed && n >= calls.length / 3) {
          killed = true;
          process.kill(-(running.child.pid as number), "SIGKILL");
        }
      },
    });
    expect(killed).toBe(true);
    expect(await running.exited).toMatchObject({ signal: "SIGKILL" });
    expect(sent.accepted.size).toBeGreaterThanOrEqual(calls.length / 3);
    expect(sent.failed, "requests refused once the stack was gone").toBeGreaterThan(0);
    // DynamoDB Local's guard stops Java once the stack's process is gone; only then restart on its files.
    expect(await leftOver(pids, 15_000)).toEqual([]);

    const restarted = await start(env);
    const stored = await expectEveryAcceptedCallStored(restarted.url, "acc_sigkill", sent.accepted);
    expect(restarted.output()).toMatch(/Found [\d,]+ message\(s\) left on the raw queue by a previous run/);
    // Calls that were in flight at the kill may be stored without a 200 (Segment would resend them).
    expect(stored.every((id) => id.startsWith("acc_sigkill-"))).toBe(true);

    console.log(
      `SIGKILL after ${sent.accepted.size} of ${calls.length} calls answered 200 (${sent.failed} requests refused after); ` +
        `${/Found ([\d,]+) message/.exec(restarted.output())?.[1]} raw messages found on restart; ${stored.length} events stored`,
    );
    expect(await stopStack(restarted, "SIGINT", "group")).toEqual({ code: 0, signal: null });
    expect(leftOnQueues(restarted.output())).toEqual({ raw: 0, deadLetter: 0 });
  });

  it("keeps a backlog larger than the drain window through Ctrl-C, says how much it leaves, and processes it on the next start", async () => {
    // A one-second drain, so that the backlog outlasts it whatever this machine's speed.
    const env = await freshEnvironment("sigint", { DRAIN_SECONDS: "1" });
    const running = await start(env);
    const calls = trackCalls("acc_sigint", 2500);
    const sent = await sendOnce(running.url, segmentRequests(calls, source, prng(1802), 10));
    expect(sent.failed).toBe(0);
    expect(sent.accepted.size).toBe(calls.length);

    expect(await stopStack(running, "SIGINT", "group")).toEqual({ code: 0, signal: null });
    const output = running.output();
    expect(output).toContain("SIGINT: stopping (draining queued messages for up to 1 s)");
    const left = leftOnQueues(output);
    expect(left, "the stop message with the counts left on each queue").toBeDefined();
    expect(left?.raw, "messages left on the raw queue").toBeGreaterThan(0);
    expect(left?.deadLetter).toBe(0);
    expect(output).toMatch(/on the raw queue, processed on the next start/);
    expect(output).toContain("Stopped.");

    const restarted = await start({ ...env, DRAIN_SECONDS: "10" });
    const stored = await expectEveryAcceptedCallStored(restarted.url, "acc_sigint", sent.accepted);
    expect(stored.length).toBe(calls.length);
    console.log(
      `SIGINT with ${calls.length} calls accepted: ${left?.raw} raw messages left after a 1 s drain, all ${stored.length} stored after the restart`,
    );
    expect(restarted.output()).toContain(
      `Found ${left?.raw.toLocaleString("en-US")} message(s) left on the raw queue by a previous run`,
    );

    expect(await stopStack(restarted, "SIGTERM")).toEqual({ code: 0, signal: null });
    expect(leftOnQueues(restarted.output())).toEqual({ raw: 0, deadLetter: 0 });
  });
});
