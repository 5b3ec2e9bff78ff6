/**
 * Peak memory of the normalize handler on one 1,000-message SQS batch, in a process of its own
 * (so nothing else counts towards its peak RSS). Run by bench/run.ts with the local servers'
 * environment; prints one JSON line.
 */
import { createNormalizeHandler } from "../packages/aws/src/handlers/normalize";
import { sqsEvent } from "../test/support/normalize-harness";
import { segmentCalls } from "./workload";

const messages = Number(process.env.BENCH_MESSAGES ?? 1000);
const callsPerMessage = Number(process.env.BENCH_CALLS_PER_MESSAGE ?? 5);
const calls = segmentCalls(messages * callsPerMessage, { seed: 5, trackShare: 0.8, prefix: "mem" });
const before = process.memoryUsage().rss;
const handler = createNormalizeHandler();
const event = sqsEvent(
  Array.from({ length: messages }, (_, i) => ({
    v: 1 as const,
    workspaceId: "bench-mem",
    source: "product",
    receivedAt: "2024-06-01T00:00:00.000Z",
    requestId: `r${i}`,
    calls: calls.slice(i * callsPerMessage, (i + 1) * callsPerMessage),
  })),
);
const started = performance.now();
const result = await handler(event);
const ms = performance.now() - started;
console.log(
  JSON.stringify({
    messages,
    calls: calls.length,
    failed: result.batchItemFailures.length,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    startRssMb: before / 1024 / 1024,
    durationMs: ms,
  }),
);
