/**
 * End to end through the local stack, in this process: HTTP (signed webhook batches) → ingest →
 * fauxqs → poller → normalize → DynamoDB Local. Measures events per second and the latency from
 * the HTTP answer to the event being readable, at 1x, 2x and 4x the volume (cost per event, as
 * this process's CPU time per event, must stay flat), against DynamoDB Local's raw speed writing
 * the same event items with BatchWriteItem. The same 1x run with one normalizer instead of four
 * (`concurrency`, as NORMALIZE_CONCURRENCY sets it) measures how throughput scales with them, and
 * counts the bytes the handlers log per event. Freshness is measured apart from backlog: events
 * offered at a steady half of the measured capacity, each timed from its HTTP 200 until the read
 * API (GET /v1/accounts/{id}/events) lists it.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchGetCommand, BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../packages/aws/src/clients";
import { keys } from "../packages/aws/src/dynamo/keys";
import { eventItem } from "../packages/aws/src/dynamo/model-store";
import { logger } from "../packages/aws/src/logger";
import { startLocalStack } from "../packages/local/src/stack";
import { percentile } from "./measure";
import { segmentCalls } from "./workload";

export interface EndToEndRun {
  scale: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerEvent: number;
}

export interface FreshnessResult {
  offeredEventsPerSecond: number;
  /** What the senders achieved (they pace; a slower stack shows here). */
  achievedEventsPerSecond: number;
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface EndToEndResult {
  /** Four normalizers (the local default), 1x, 2x and 4x the volume. */
  runs: EndToEndRun[];
  rawWritesPerSecond: number;
  /** The 1x run with one normalizer, and the ratio of the four-normalizer 1x run to it. */
  oneNormalizer: EndToEndRun;
  fourOverOne: number;
  /** The best events/s of the four-normalizer runs; freshness is offered half of it. */
  capacityEventsPerSecond: number;
  /** Handler log bytes per event (JSON lines the functions write, as CloudWatch would ingest them). */
  logBytesPerEvent: number;
  freshness: FreshnessResult;
}

const BATCH = 100;
const IN_FLIGHT = 4;
const SAMPLE_EVERY = 10;

export async function benchEndToEnd(options: { quick: boolean }): Promise<EndToEndResult> {
  const base = options.quick ? 1000 : 20_000;
  const one = await withStack(1, async (stack) => {
    const bytes = countLogBytes();
    try {
      return { run: await run(stack, base, 1), logBytes: bytes.stop() };
    } catch (error) {
      bytes.stop();
      throw error;
    }
  });
  return withStack(4, async (stack) => {
    const runs: EndToEndRun[] = [];
    for (const scale of [1, 2, 4]) runs.push(await run(stack, base * scale, scale));
    // Capacity: the best of the three saturating runs (the first also pays the stack's warm-up).
    const capacity = Math.max(...runs.map((r) => r.eventsPerSecond));
    const freshness = await steady(stack, capacity / 2, options.quick ? 8 : 30);
    const rawWritesPerSecond = await rawWriteSpeed(stack, options.quick ? 2000 : 20_000);
    return {
      runs,
      rawWritesPerSecond,
      oneNormalizer: one.run,
      fourOverOne: (runs[0]?.eventsPerSecond ?? 0) / one.run.eventsPerSecond,
      capacityEventsPerSecond: capacity,
      logBytesPerEvent: one.logBytes / base,
      freshness,
    };
  });
}

async function withStack<T>(concurrency: number, work: (stack: Stack) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-stack-"));
  const stack = await startLocalStack({
    dataDir,
    port: 0,
    env: {},
    prefix: "bench",
    drainMs: 0,
    sweepIntervalMs: 3_600_000,
    concurrency,
  });
  try {
    return await work(stack);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Counts the bytes the handlers' logger writes to stdout (at INFO, what Lambda ships to CloudWatch)
 * without printing them; `stop()` restores stdout and the silent level and returns the count.
 */
function countLogBytes(): { stop(): number } {
  let bytes = 0;
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  logger.setLogLevel("INFO");
  return {
    stop() {
      process.stdout.write = write;
      logger.setLogLevel("SILENT");
      return bytes;
    },
  };
}

/**
 * Offers `rate` events per second for `seconds` (signed batches of 10, one account, timestamps of
 * the moment they are sent) and times each event from its HTTP 200 to its listing by the read API.
 */
async function steady(stack: Stack, rate: number, seconds: number): Promise<FreshnessResult> {
  const { workspaceId, sharedSecret, apiKey } = stack.dev.credentials;
  const account = `fresh-${Date.now()}`;
  const per = 10;
  const total = Math.max(per, Math.round((rate * seconds) / per) * per);
  // In send order, so the first entry is the oldest still unread.
  const answered = new Map<string, { at: number; timestamp: string }>();
  const latencies: number[] = [];
  const started = performance.now();
  let oldest = new Date().toISOString();
  let sendingEnded = 0;
  let sent = 0;
  const sender = async () => {
    for (let b = 0; b * per < total; b++) {
      const due = started + ((b * per) / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const timestamp = new Date().toISOString();
      const batch = Array.from({ length: per }, (_, i) => ({
        type: "track",
        messageId: `${account}-${b * per + i}`,
        userId: `fresh-user-${i}`,
        event: "Report Built",
        timestamp,
        properties: { account_id: account },
      }));
      const signature = createHmac("sha1", sharedSecret).update(JSON.stringify(batch[0])).digest("hex");
      const res = await fetch(`${stack.url}/v1/webhooks/segment/${workspaceId}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-signature": signature },
        body: JSON.stringify(batch),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`ingest answered ${res.status}`);
      const at = performance.now();
      for (const c of batch) answered.set(c.messageId, { at, timestamp });
      sent += per;
    }
  };
  let sending = true;
  const watch = async () => {
    while (sending || answered.size > 0) {
      await new Promise((r) => setTimeout(r, 50));
      if (answered.size === 0) continue;
      if (!sending && performance.now() - sendingEnded > 60_000) {
        throw new Error(`${answered.size} events still unreadable 60 s after the last was accepted`);
      }
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ limit: "500", from: oldest });
        if (cursor) query.set("cursor", cursor);
        const res = await fetch(`${stack.url}/v1/accounts/${account}/events?${query}`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        if (res.status === 404) {
          await res.arrayBuffer();
          break; // the account is not there yet: nothing of it is readable
        }
        if (!res.ok) throw new Error(`read API answered ${res.status}: ${await res.text()}`);
        const page = (await res.json()) as {
          items: { event_id: string; timestamp: string }[];
          next_cursor: string | null;
        };
        const now = performance.now();
        for (const item of page.items) {
          const sentAt = answered.get(item.event_id);
          if (sentAt === undefined) continue;
          latencies.push(now - sentAt.at);
          answered.delete(item.event_id);
        }
        cursor = page.next_cursor;
      } while (cursor);
      // Everything older than the oldest still-unread event has been seen.
      const first = answered.values().next();
      if (!first.done) oldest = first.value.timestamp;
    }
  };
  const senders = sender().finally(() => {
    sending = false;
    sendingEnded = performance.now();
  });
  for (const outcome of await Promise.allSettled([senders, watch()])) {
    if (outcome.status === "rejected") throw outcome.reason;
  }
  return {
    offeredEventsPerSecond: rate,
    achievedEventsPerSecond: sent / ((performance.now() - started) / 1000),
    events: sent,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
}

type Stack = Awaited<ReturnType<typeof startLocalStack>>;

async function run(stack: Stack, events: number, scale: number): Promise<EndToEndRun> {
  const { workspaceId, sharedSecret } = stack.dev.credentials;
  // Only track calls with an explicit account: the run measures throughput, not identity work.
  const calls = segmentCalls(events, { seed: 100 + scale, trackShare: 1, prefix: `e2e${scale}` });
  const answered = new Map<string, number>();
  const db = createDocumentClient(stack.config);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();

  let next = 0;
  const send = async () => {
    while (next < calls.length) {
      const batch = calls.slice(next, next + BATCH);
      next += BATCH;
      const body = JSON.stringify(batch);
      const signature = createHmac("sha1", sharedSecret).update(JSON.stringify(batch[0])).digest("hex");
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${stack.url}/v1/webhooks/segment/${workspaceId}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-signature": signature },
          body,
        });
        await res.arrayBuffer();
        if (res.ok) break;
        if (attempt > 5 || res.status < 500) throw new Error(`ingest answered ${res.status}`);
      }
      const at = performance.now();
      batch.forEach((c, i) => {
        if ((next - BATCH + i) % SAMPLE_EVERY === 0) answered.set(c.messageId as string, at);
      });
    }
  };

  // A watcher reads sampled events back until each is readable.
  const latencies: number[] = [];
  let sendersDone = false;
  const watch = async () => {
    while (!sendersDone || answered.size > 0) {
      const ids = [...answered.keys()].slice(0, 100);
      if (ids.length === 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const out = await db.send(
        new BatchGetCommand({
          RequestItems: {
            [stack.config.eventsTable]: {
              Keys: ids.map((id) => keys.event(workspaceId, id)),
              ProjectionExpression: "event_id",
            },
          },
        }),
      );
      const now = performance.now();
      for (const item of out.Responses?.[stack.config.eventsTable] ?? []) {
        const id = item.event_id as string;
        latencies.push(now - (answered.get(id) as number));
        answered.delete(id);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const watcher = watch();
  await Promise.all(Array.from({ length: IN_FLIGHT }, send));
  sendersDone = true;
  await watcher;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  db.destroy();
  return {
    scale,
    events,
    seconds,
    eventsPerSecond: events / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMicrosPerEvent: (cpu.user + cpu.system) / events,
  };
}

/** DynamoDB Local's own speed for the same items: BatchWriteItem, 25 a request, as many in flight. */
async function rawWriteSpeed(stack: Stack, count: number): Promise<number> {
  const db = createDocumentClient(stack.config);
  const calls = segmentCalls(count, { seed: 999, trackShare: 1, prefix: "raw" });
  const items = calls.map((c) =>
    eventItem({
      workspace_id: "raw-bench",
      event_id: c.messageId as string,
      event_name: c.event as string,
      type: "track",
      timestamp: c.timestamp as string,
      user_id: c.userId as string,
      anonymous_id: null,
      account_id: (c.properties as { account_id: string }).account_id,
      account_from_user: false,
      account_resolution: "explicit",
      properties: c.properties as Record<string, string>,
      received_at: "2024-06-01T00:00:00.000Z",
      source: "product",
    }),
  );
  const started = performance.now();
  let next = 0;
  const writer = async () => {
    while (next < items.length) {
      let pending: Record<string, unknown>[] = items.slice(next, next + 25).map((Item) => ({ PutRequest: { Item } }));
      next += 25;
      while (pending.length > 0) {
        const out = await db.send(
          new BatchWriteCommand({ RequestItems: { [stack.config.eventsTable]: pending as never } }),
        );
        pending = (out.UnprocessedItems?.[stack.config.eventsTable] as Record<string, unknown>[] | undefined) ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT * 2 }, writer));
  const seconds = (performance.now() - started) / 1000;
  db.destroy();
  return count / seconds;
}
