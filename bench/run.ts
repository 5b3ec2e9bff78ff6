/**
 * `npm run bench`: where the product costs money and time, measured as ratios within one run (the
 * machines are noisy; absolute numbers move, ratios much less). Prints a table and writes
 * bench/results.json. `--quick` (CI) runs a short version to prove the bench works; it gates
 * nothing on speed.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createSqsClient } from "../packages/aws/src/clients";
import { parseConfig } from "../packages/aws/src/config";
import { logger } from "../packages/aws/src/logger";
import { localEnvironment } from "../packages/local/src/environment";
import { provisionResources } from "../packages/local/src/provision";
import { startLocalServices } from "../packages/local/src/services";
import { normalizeSubscription } from "../packages/resources/src/definitions";
import { benchColdStart } from "./cold-start";
import { costPerMillion, prices, type ShapeMeasures } from "./cost-model";
import { benchIngestCpu, benchNormalizeCpu } from "./cpu";
import { benchDeliveryCounters, benchDynamoCost, type DynamoCostResult } from "./dynamo-cost";
import { benchEndToEnd } from "./end-to-end";
import { round } from "./measure";
import { segmentCalls } from "./workload";

const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";
// The handlers' per-request log lines would bury the table (and cost time being written).
logger.setLogLevel("SILENT");

interface Row {
  measure: string;
  value: string;
  target: string;
  met: "yes" | "no" | "-";
}
const rows: Row[] = [];
const row = (measure: string, value: string, target = "", met?: boolean) =>
  rows.push({ measure, value, target, met: met === undefined ? "-" : met ? "yes" : "no" });
const step = (name: string) => process.stderr.write(`bench: ${name}…\n`);

const results: Record<string, unknown> = {
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
  },
  quick,
  startedAt: new Date().toISOString(),
};

step("ingest CPU");
const ingest = await benchIngestCpu(quick);
results.ingestCpu = ingest;
for (const r of ingest) {
  row(
    `ingest CPU per event, ${r.label}`,
    `${round(r.ingestNsPerEvent / 1000, 1)} µs (floor ${round(r.floorNsPerEvent / 1000, 1)} µs) = ${round(r.ratio, 2)}x floor`,
    "≤ 3x floor",
    r.ratio <= 3,
  );
}

step("normalize CPU");
const normalize = await benchNormalizeCpu(quick);
results.normalizeCpu = normalize;
row(
  "normalize rules, one core",
  `${Math.round(normalize.eventsPerSecond).toLocaleString("en")} events/s`,
  "≥ 20,000 events/s",
  normalize.eventsPerSecond >= 20_000,
);

step("cold start");
const cold = await benchColdStart(["ingest", "stripe-ingest", "normalize", "api", "sweep"], quick);
results.coldStart = cold;
for (const c of cold) {
  const isIngest = c.function === "ingest";
  row(
    `${c.function}: bundle, init`,
    `${round(c.bundleBytes / 1024, 1)} KB, ${round(c.initMs, 1)} ms`,
    isIngest ? "< 300 KB, < 100 ms" : "",
    isIngest ? c.bundleBytes < 300 * 1024 && c.initMs < 100 : undefined,
  );
}

/** Messages a normalize batch takes from a busy queue (the deployed subscription). */
const full = normalizeSubscription.batchSize;

step("starting DynamoDB Local and fauxqs");
const cost: DynamoCostResult[] = [];
let counters: Awaited<ReturnType<typeof benchDeliveryCounters>> | undefined;
const services = await startLocalServices();
try {
  const db = new DynamoDBClient({
    region: "us-east-1",
    endpoint: services.dynamoEndpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const sqs = createSqsClient({ region: "us-east-1", sqsEndpoint: services.sqsEndpoint });
  const env = localEnvironment(services, await provisionResources(db, sqs, `bench${Date.now()}`));
  const config = parseConfig(env);

  step("DynamoDB cost");
  // At least one full batch of each shape, so a figure per 1,000 events is not a partial batch's.
  const events = quick ? 1000 : 4000;
  // The first two (every profile's first events of a month) feed the cost model; the next two are
  // the rest of a month's traffic, when the profiles already have events in that month. Single-call
  // messages (Segment's classic webhooks) come as many a batch as the normalize subscription takes
  // (`normalizeSubscription.batchSize`: a busy queue fills it within the batching window); the last
  // case is a quiet queue's batch, 100 messages, for comparison.
  const batched = { label: "batches of 10 messages × 100 calls", callsPerMessage: 100, recordsPerBatch: 10 };
  const single = { label: `batches of ${full} single-call messages`, callsPerMessage: 1, recordsPerBatch: full };
  const cases = [
    { ...batched, newMonth: true },
    { ...single, newMonth: true },
    { ...batched, newMonth: false },
    { ...single, newMonth: false },
    ...(full > 100
      ? [{ label: "batches of 100 single-call messages", callsPerMessage: 1, recordsPerBatch: 100, newMonth: true }]
      : []),
  ];
  for (const [i, c] of cases.entries()) {
    cost.push(
      await benchDynamoCost(config, {
        ...c,
        label: `${c.label}, ${c.newMonth ? "a new month for every profile" : "profiles already seen that month"}`,
        events,
        workspace: `cost-${i}`,
      }),
    );
  }
  results.dynamoCost = cost;
  for (const c of cost) {
    const p = c.perThousand;
    const units = p.totalWriteUnits;
    row(
      `DynamoDB per 1,000 track events (${c.label})`,
      `${units} WCU incl. indexes (${c.writeUnitsSource}; floor ${p.floorWriteUnits + p.entityFloorWriteUnits} = events ${p.floorWriteUnits} + profiles and memberships ${p.entityFloorWriteUnits}) = ${round(c.ratioToCallsFloor, 2)}x floor (${round(c.ratioToFloor, 2)}x the events' alone), ${p.reportedReadUnits ?? "?"} RCU, ${p.requests} requests`,
      "≤ 1.1x floor, ≤ 100 requests",
      c.ratioToCallsFloor <= 1.1 && p.requests <= 100,
    );
  }

  step("delivery counters");
  // Every ingest request adds to its source's counters of the day: a day's worth of slots.
  counters = await benchDeliveryCounters(config, quick ? 576 : 2880);
  results.deliveryCounters = counters;
  row(
    "ingest delivery counters, per HTTP request (one UpdateItem, a day's item growing)",
    `${round(counters.writeUnitsPerRequest, 2)} WCU (item ${round(counters.itemBytesAtEndOfDay / 1024, 1)} KB at the day's end)`,
  );

  step("normalize memory");
  const memory = JSON.parse(
    execFileSync(process.execPath, ["--import", "tsx", "bench/normalize-memory.ts"], {
      env: { ...process.env, ...env, LOG_LEVEL: "SILENT", BENCH_MESSAGES: quick ? "200" : "1000" },
    })
      .toString()
      .trim()
      .split("\n")
      .at(-1) as string,
  );
  results.normalizeMemory = memory;
  row(
    `normalize peak RSS, ${memory.messages}-message batch (${memory.calls} calls)`,
    `${round(memory.peakRssMb, 0)} MB in ${round(memory.durationMs / 1000, 1)} s`,
    "< 256 MB",
    memory.peakRssMb < 256,
  );

  db.destroy();
  sqs.destroy();
} finally {
  await services.stop();
}

step("end to end (local stack)");
const e2e = await benchEndToEnd({ quick });
results.endToEnd = e2e;
const baseCost = e2e.runs[0]?.cpuMicrosPerEvent ?? 0;
for (const r of e2e.runs) {
  const flat = r.cpuMicrosPerEvent <= baseCost * 1.25;
  row(
    `end to end ${r.scale}x (${r.events.toLocaleString("en")} events)`,
    `${Math.round(r.eventsPerSecond)} events/s, p50 ${Math.round(r.p50Ms)} ms, p99 ${Math.round(r.p99Ms)} ms, ${Math.round(r.cpuMicrosPerEvent)} µs CPU/event`,
    r.scale === 1 ? "≥ ½ raw write speed" : "CPU/event within 25% of 1x",
    r.scale === 1 ? r.eventsPerSecond >= e2e.rawWritesPerSecond / 2 : flat,
  );
}
row("DynamoDB Local raw BatchWriteItem (same items)", `${Math.round(e2e.rawWritesPerSecond)} items/s`);

const one = e2e.oneNormalizer;
row(
  `end to end 1x, 1 vs 4 normalizers`,
  `${Math.round(one.eventsPerSecond)} vs ${Math.round(e2e.runs[0]?.eventsPerSecond ?? 0)} events/s = ${round(e2e.fourOverOne, 2)}x`,
  "measured (scaling not assumed)",
);
const f = e2e.freshness;
row(
  `freshness at ${Math.round(f.offeredEventsPerSecond)} events/s offered (½ capacity), ${f.events} events`,
  `HTTP 200 → read API: p50 ${Math.round(f.p50Ms)} ms, p99 ${Math.round(f.p99Ms)} ms`,
  "p99 < 2 s",
  f.p99Ms < 2000,
);

step("cost model");
const sample = segmentCalls(500, { seed: 7 });
const callBytes = Buffer.byteLength(JSON.stringify(sample)) / sample.length;
// Handler logs were measured with 100-event requests; counted as if all of it were per request
// (an upper bound for batched calls), a one-call request logs about what a 100-event one does.
const logBytesPerRequest = e2e.logBytesPerEvent * 100;
const shape = (
  label: string,
  ingestCase: (typeof ingest)[number] | undefined,
  dynamo: (typeof cost)[number] | undefined,
  options: { eventsPerRequest: number; callsPerMessage: number; messagesPerBatch: number },
): ShapeMeasures => {
  const perEvent = (dynamo?.trackEvents ?? 0) / (dynamo?.events ?? 1) / 1000;
  return {
    label,
    ...options,
    ingestNsPerEvent: ingestCase?.ingestNsPerEvent ?? 0,
    normalizeMsPerEvent: (dynamo?.cpuMsPerThousandEvents ?? 0) / 1000,
    writeUnitsPerEvent: (dynamo?.perThousand.totalWriteUnits ?? 0) * perEvent,
    counterUnitsPerRequest: counters?.writeUnitsPerRequest ?? 0,
    readUnitsPerEvent: (dynamo?.perThousand.reportedReadUnits ?? dynamo?.perThousand.itemsRead ?? 0) * perEvent,
    callBytes,
    logBytesPerEvent: logBytesPerRequest / options.eventsPerRequest,
  };
};
const costModel = [
  costPerMillion(
    shape("batched: 500-event requests, 100-call messages, 10 a batch", ingest[1], cost[0], {
      eventsPerRequest: 500,
      callsPerMessage: 100,
      messagesPerBatch: 10,
    }),
  ),
  costPerMillion(
    shape(`one call per request and message (classic webhooks), ${full} a batch`, ingest[0], cost[1], {
      eventsPerRequest: 1,
      callsPerMessage: 1,
      messagesPerBatch: full,
    }),
  ),
];
results.costModel = { prices, shapes: costModel };
for (const c of costModel) {
  const top = [...c.lines].sort((a, b) => b.dollars - a.dollars)[0];
  row(
    `AWS $ per million events (${c.label})`,
    `$${round(c.dollarsPerMillion, 3)} (largest: ${top?.item} $${round(top?.dollars ?? 0, 3)}); 4M events $${round(c.growth[2]?.dollars ?? 0, 2)}, linear`,
    `prices ${prices.asOf}`,
  );
}

results.finishedAt = new Date().toISOString();
writeFileSync("bench/results.json", `${JSON.stringify({ ...results, table: rows }, null, 2)}\n`);
const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => [r.measure, r.value, r.target][i]?.length ?? 0)));
for (const r of rows) {
  console.log(
    `${r.measure.padEnd(widths[0] ?? 0)} | ${r.value.padEnd(widths[1] ?? 0)} | ${r.target.padEnd(widths[2] ?? 0)} | ${r.met}`,
  );
}
console.log("\nwritten: bench/results.json");
