/**
 * Issue 21 (last_seen_at derived at read time): the DynamoDB cost of the bench's workload cold (as
 * `benchDynamoCost` runs it: every profile's month is new in the counted pass) and warm (the same
 * shape of traffic once more, in the same month, so no profile's month is new). Run:
 * `npx tsx bench/dynamo-cost-warm.ts [events]`. Prints per-1,000-track-event figures as JSON.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDocumentClient, createSqsClient } from "../packages/aws/src/clients";
import { type Config, parseConfig } from "../packages/aws/src/config";
import { DynamoModelStore } from "../packages/aws/src/dynamo/model-store";
import { normalizeBatch } from "../packages/core/src/pipeline/normalize-batch";
import { localEnvironment } from "../packages/local/src/environment";
import { provisionResources } from "../packages/local/src/provision";
import { startLocalServices } from "../packages/local/src/services";
import { benchDynamoCost, countingClient } from "./dynamo-cost";
import { segmentCalls } from "./workload";

const events = Number(process.argv[2] ?? 400);
const shapes = [
  { label: "batched (10 messages × 100 calls)", callsPerMessage: 100, recordsPerBatch: 10 },
  { label: "single-call (100 messages × 1 call)", callsPerMessage: 1, recordsPerBatch: 100 },
];

async function warmPass(config: Config, ws: string, shape: (typeof shapes)[number]) {
  const { db, counts } = countingClient(config);
  const breakdown: Record<string, { n: number; wcu: number }> = {};
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { sk?: string }; UpdateExpression?: string; TableName?: string };
      const output = await next(args);
      const name = String(context.commandName).replace(/Command$/, "");
      if (!/Update|Put|Delete|BatchWrite/.test(name) || !input.TableName?.endsWith("Entities")) return output;
      const what = `${name} ${String(input.Key?.sk ?? "").split("#")[0]} ${(input.UpdateExpression ?? "").slice(0, 40)}`;
      const c = (output.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity;
      const entry = breakdown[what] ?? { n: 0, wcu: 0 };
      breakdown[what] = entry;
      entry.n++;
      entry.wcu += c?.CapacityUnits ?? 0;
      return output;
    },
    { step: "initialize", name: "breakdown" },
  );
  const calls = segmentCalls(events, { trackShare: 0.9, users: 100, accounts: 20, seed: 5, prefix: `${ws}-w2` })
    .map(
      (c): Record<string, unknown> => ({
        ...c,
        timestamp: new Date(Date.parse(c.timestamp as string) + 31 * 86400_000).toISOString(),
      }),
    )
    .sort((a, b) => ((a.timestamp as string) < (b.timestamp as string) ? -1 : 1));
  const store = new DynamoModelStore(db, config);
  const perBatch = shape.callsPerMessage * shape.recordsPerBatch;
  let record = 0;
  for (let i = 0; i < calls.length; i += perBatch) {
    const records = [];
    for (let j = i; j < Math.min(calls.length, i + perBatch); j += shape.callsPerMessage) {
      const body = {
        v: 1,
        workspaceId: ws,
        source: "product",
        receivedAt: "2024-07-01T00:00:00.000Z",
        requestId: `w${record}`,
        calls: calls.slice(j, j + shape.callsPerMessage),
      };
      records.push({ id: `warm-${record++}`, body: JSON.stringify(body) });
    }
    const outcome = await normalizeBatch(records, store, () => "2024-07-01T00:00:00.000Z");
    if (outcome.failedRecordIds.length > 0) throw new Error("warm batch failed");
  }
  db.destroy();
  const track = calls.filter((c) => c.type === "track").length;
  const scale = 1000 / track;
  const per = (n: number) => Math.round(n * scale);
  return {
    requests: per(counts.totalRequests),
    writeUnits: per(counts.consumed.write),
    readUnits: per(counts.consumed.read),
    ratioToFloor: Math.round((counts.consumed.write / (track * 3 + (calls.length - track) * 0)) * 100) / 100,
    byTarget: Object.fromEntries(Object.entries(counts.consumed.byTarget).map(([k, v]) => [k, per(v)])),
    byOperation: Object.fromEntries(Object.entries(counts.requests).map(([k, v]) => [k, per(v)])),
    entitiesWrites: Object.fromEntries(
      Object.entries(breakdown).map(([k, v]) => [k, { requests: per(v.n), wcu: per(v.wcu) }]),
    ),
  };
}

const services = await startLocalServices();
try {
  const db = new DynamoDBClient({
    region: "us-east-1",
    endpoint: services.dynamoEndpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const sqs = createSqsClient({ region: "us-east-1", sqsEndpoint: services.sqsEndpoint });
  const config = parseConfig(localEnvironment(services, await provisionResources(db, sqs, `warm${Date.now()}`)));
  void createDocumentClient;
  for (const [i, shape] of shapes.entries()) {
    const ws = `cost-${i}`;
    const cold = await benchDynamoCost(config, { ...shape, events, workspace: ws });
    const warm = await warmPass(config, ws, shape);
    console.log(
      JSON.stringify(
        {
          shape: shape.label,
          cold: {
            writeUnits: cold.perThousand.reportedWriteUnits,
            readUnits: cold.perThousand.reportedReadUnits,
            requests: cold.perThousand.requests,
            ratioToFloor: Math.round(cold.ratioToFloor * 100) / 100,
            floor: cold.perThousand.floorWriteUnits,
            byTarget: cold.reportedByTarget,
            byOperation: Object.fromEntries(
              Object.entries(cold.requests).map(([k, v]) => [k, Math.round((v * 1000) / cold.trackEvents)]),
            ),
          },
          warm,
        },
        null,
        1,
      ),
    );
  }
} finally {
  await services.stop();
}
