/**
 * Peak memory of the normalize handler on one 1,000-message SQS batch, in a process of its own
 * (so nothing else counts towards its peak RSS). Run by bench/run.ts with the local servers'
 * environment; prints one JSON line.
 */
import { createNormalizeHandler } from "../packages/aws/src/handlers/normalize";
import { segmentCalls } from "./workload";

const messages = Number(process.env.BENCH_MESSAGES ?? 1000);
const callsPerMessage = Number(process.env.BENCH_CALLS_PER_MESSAGE ?? 5);
const calls = segmentCalls(messages * callsPerMessage, { seed: 5, trackShare: 0.8, prefix: "mem" });
const before = process.memoryUsage().rss;
const handler = createNormalizeHandler();
const records = Array.from({ length: messages }, (_, i) => ({
  messageId: `mem-${i}`,
  receiptHandle: `rh-${i}`,
  body: JSON.stringify({
    v: 1,
    workspaceId: "bench-mem",
    source: "product",
    receivedAt: "2024-06-01T00:00:00.000Z",
    requestId: `r${i}`,
    calls: calls.slice(i * callsPerMessage, (i + 1) * callsPerMessage),
  }),
  attributes: {
    ApproximateReceiveCount: "1",
    SentTimestamp: "0",
    SenderId: "bench",
    ApproximateFirstReceiveTimestamp: "0",
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:raw",
  awsRegion: "us-east-1",
}));
const started = performance.now();
const result = await handler({ Records: records });
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
