/**
 * End to end through the local stack, in this process: HTTP (signed webhook batches) → ingest →
 * fauxqs → poller → normalize → DynamoDB Local. Measures events per second and the latency from
 * the HTTP answer to the event being readable, at 1x, 2x and 4x the volume (cost per event, as
 * this process's CPU time per event, must stay flat), against DynamoDB Local's raw speed writing
 * the same event items with BatchWriteItem.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchGetCommand, BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../packages/aws/src/clients";
import { keys } from "../packages/aws/src/dynamo/keys";
import { eventItem } from "../packages/aws/src/dynamo/model-store";
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

export interface EndToEndResult {
  runs: EndToEndRun[];
  rawWritesPerSecond: number;
}

const BATCH = 100;
const IN_FLIGHT = 4;
const SAMPLE_EVERY = 10;

export async function benchEndToEnd(options: { quick: boolean }): Promise<EndToEndResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-stack-"));
  const stack = await startLocalStack({
    dataDir,
    port: 0,
    env: {},
    prefix: "bench",
    drainMs: 0,
    sweepIntervalMs: 3_600_000,
  });
  try {
    const base = options.quick ? 1000 : 20_000;
    const runs: EndToEndRun[] = [];
    for (const scale of [1, 2, 4]) runs.push(await run(stack, base * scale, scale));
    const rawWritesPerSecond = await rawWriteSpeed(stack, options.quick ? 2000 : 20_000);
    return { runs, rawWritesPerSecond };
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
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
