/**
 * CPU-only parts of the benchmark: ingest cost per event against the floor (JSON.parse + HMAC-SHA1
 * of the same bytes), and the normalize rules' throughput. No I/O: ingest is measured through the
 * deployed handler (`createIngestHandler`, as `functions/ingest.ts` builds it: an API Gateway
 * event in, the delivery counters written, the answer and the log line made), with the AWS SDK
 * clients replaced at `send` by stand-ins that accept every request our code built. What the SDK
 * itself does with a command (serialising, signing, HTTP) is not counted here.
 */
import { createHmac } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { DeliveryStatusStore } from "../packages/aws/src/dynamo/delivery-status";
import { createIngestHandler } from "../packages/aws/src/ingest/handler";
import { createRawQueueSender } from "../packages/aws/src/sqs/raw-queue";
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

/** A DynamoDB document client stand-in that accepts the delivery counters' UpdateItem. */
const acceptingDb = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;

/**
 * The handler as deployed, over the stand-ins. The credentials are found at once, as from the
 * workspace store's in-process cache on a warm container; the log line is serialised (what the
 * logger does with it) and dropped.
 */
const handler = createIngestHandler({
  credentials: { findSource: async () => source, findSourceByWriteKeyHash: async () => undefined },
  queue: createRawQueueSender(acceptingSqs, "https://sqs.bench/raw"),
  deliveries: new DeliveryStatusStore(acceptingDb, "bench-entities"),
  log: {
    info: (message, attributes) => void JSON.stringify({ message, ...attributes }),
    error: (message, attributes) => void JSON.stringify({ message, ...attributes }),
  },
});

/** A signed webhook delivery as API Gateway's HTTP API (payload 2.0) hands it to the function. */
function signedEvent(body: string, path = "/v1/webhooks/segment/bench"): APIGatewayProxyEventV2 {
  const first = body.startsWith("[") ? JSON.stringify(JSON.parse(body)[0]) : body;
  return {
    version: "2.0",
    routeKey: "POST /v1/webhooks/segment/{workspaceId}",
    rawPath: path,
    rawQueryString: "",
    headers: {
      accept: "*/*",
      "content-length": String(Buffer.byteLength(body)),
      "content-type": "application/json",
      host: "ingest.example.com",
      "user-agent": "Segment.io/1.0",
      "x-amzn-trace-id": "Root=1-00000000-000000000000000000000000",
      "x-forwarded-for": "192.0.2.1",
      "x-forwarded-port": "443",
      "x-forwarded-proto": "https",
      "x-signature": createHmac("sha1", secret).update(first).digest("hex"),
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "bench",
      domainName: "ingest.example.com",
      domainPrefix: "ingest",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "Segment.io/1.0" },
      requestId: "bench",
      routeKey: "POST /v1/webhooks/segment/{workspaceId}",
      stage: "$default",
      time: "01/Jun/2024:00:00:00 +0000",
      timeEpoch: Date.parse("2024-06-01T00:00:00Z"),
    },
    body,
    isBase64Encoded: false,
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
  const event = signedEvent(body);
  const check = await handler(event);
  if (check.statusCode !== 200) throw new Error(`bench request refused: ${check.statusCode} ${check.body}`);
  const bytes = Buffer.byteLength(body);
  const floorWork = () => {
    JSON.parse(body);
    createHmac("sha1", secret).update(body).digest("hex");
  };
  const ingestWork = async () => {
    const answer = await handler(event);
    if (answer.statusCode !== 200) throw new Error("refused");
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
