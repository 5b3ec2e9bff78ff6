/**
 * CPU-only parts of the benchmark: ingest cost per event against the floor (JSON.parse + HMAC-SHA1
 * of the same bytes), and the normalize rules' throughput. No I/O: the queue is a stand-in that
 * accepts every entry, after the real sender has built them.
 */
import { createHmac } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createRawQueueSender } from "../packages/aws/src/sqs/raw-queue";
import type { HttpRequest } from "../packages/core/src/http/request";
import { receiveIngestRequest } from "../packages/core/src/ingest/receive";
import { normalizeCall } from "../packages/core/src/normalize/call";
import { mergeFields, type VersionedFields } from "../packages/core/src/normalize/merge";
import type { SegmentCall } from "../packages/core/src/segment/envelope";
import type { Source } from "../packages/core/src/workspace/workspace";
import { median, nsPerIteration } from "./measure";
import { segmentCalls } from "./workload";

const secret = "bench-shared-secret";
const source: Source = {
  workspaceId: "bench",
  name: "product",
  secrets: [{ value: secret, createdAt: "2024-01-01T00:00:00.000Z" }],
  writeKeyHash: "0".repeat(64),
  createdAt: "2024-01-01T00:00:00.000Z",
} as Source;

/** An SQS client stand-in that accepts every entry the real sender built. */
const acceptingSqs = {
  send: async (command: { input: { Entries?: { Id?: string }[] } }) => ({
    Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: "" })),
    Failed: [],
  }),
} as unknown as SQSClient;

const ports = {
  credentials: { findSource: async () => source, findSourceByWriteKeyHash: async () => undefined },
  queue: createRawQueueSender(acceptingSqs, "https://sqs.bench/raw"),
};

function signedRequest(body: string, path = "/v1/webhooks/segment/bench"): HttpRequest {
  const first = body.startsWith("[") ? JSON.stringify(JSON.parse(body)[0]) : body;
  return {
    method: "POST",
    path,
    headers: {
      "content-type": "application/json",
      "x-signature": createHmac("sha1", secret).update(first).digest("hex"),
    },
    body: Buffer.from(body),
    requestId: "bench",
    receivedAt: new Date("2024-06-01T00:00:00Z"),
  };
}

export interface IngestCpuResult {
  label: string;
  events: number;
  bytes: number;
  ingestNsPerEvent: number;
  floorNsPerEvent: number;
  ratio: number;
}

async function ingestCase(label: string, body: string, events: number, iterations: number): Promise<IngestCpuResult> {
  const request = signedRequest(body);
  const check = await receiveIngestRequest(request, ports);
  if (!check.ok) throw new Error(`bench request refused: ${check.error.code} ${check.error.message}`);
  const bytes = Buffer.byteLength(body);
  const floorWork = () => {
    JSON.parse(body);
    createHmac("sha1", secret).update(body).digest("hex");
  };
  const ingestWork = async () => {
    const r = await receiveIngestRequest(request, ports);
    if (!r.ok) throw new Error("refused");
  };
  // Rounds of the two alternate, so a change in the machine's load (other processes) moves both.
  const ingestRounds: number[] = [];
  const floorRounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    ingestRounds.push(await nsPerIteration(ingestWork, iterations, 1));
    floorRounds.push(await nsPerIteration(floorWork, iterations, 1));
  }
  const ingest = median(ingestRounds);
  const floor = median(floorRounds);
  return {
    label,
    events,
    bytes,
    ingestNsPerEvent: ingest / events,
    floorNsPerEvent: floor / events,
    ratio: median(ingestRounds.map((ns, i) => ns / (floorRounds[i] as number))),
  };
}

/**
 * Ingest CPU per event against the floor: a single event, a 500-event batch, and a 4,000-event
 * batch, the most Segment Actions sends in one webhook delivery (signed on its first event), all on
 * the webhook route.
 */
export async function benchIngestCpu(quick: boolean): Promise<IngestCpuResult[]> {
  const calls = segmentCalls(500, { seed: 7 });
  const actions = segmentCalls(4000, { seed: 8 });
  return [
    await ingestCase("single event", JSON.stringify(calls[0]), 1, quick ? 300 : 3000),
    await ingestCase("500-event batch", JSON.stringify(calls), 500, quick ? 3 : 30),
    await ingestCase("4,000-event Actions batch", JSON.stringify(actions), 4000, quick ? 1 : 4),
  ];
}

export interface NormalizeCpuResult {
  calls: number;
  eventsPerSecond: number;
}

/** The pure normalize rules (mapping, typing, per-field merge) over a mixed workload, one core. */
export async function benchNormalizeCpu(quick: boolean): Promise<NormalizeCpuResult> {
  const calls = segmentCalls(quick ? 2000 : 20000, { seed: 11, trackShare: 0.6 }) as SegmentCall[];
  const meta = { workspaceId: "bench", source: "product", receivedAt: "2024-06-01T00:00:00.000Z" };
  const run = () => {
    const profiles = new Map<string, VersionedFields>();
    for (const call of calls) {
      const n = normalizeCall(call, meta);
      for (const write of n.profiles) {
        const key = `${write.kind}:${write.id}`;
        profiles.set(key, mergeFields(profiles.get(key) ?? {}, write.fields, n.stamp).fields);
      }
    }
    return profiles.size;
  };
  const ns = await nsPerIteration(run, 1, quick ? 3 : 7);
  return { calls: calls.length, eventsPerSecond: calls.length / (ns / 1e9) };
}
