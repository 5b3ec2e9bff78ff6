/**
 * DynamoDB cost of normalizing a track-heavy workload, counted from the requests the code sends
 * (a middleware on the real client, against DynamoDB Local): requests by operation, items written,
 * and write capacity units (1 WCU per started KB of each item written).
 */
import { createDocumentClient } from "../packages/aws/src/clients";
import type { Config } from "../packages/aws/src/config";
import { DynamoModelStore } from "../packages/aws/src/dynamo/model-store";
import { normalizeBatch } from "../packages/core/src/pipeline/normalize-batch";
import { segmentCalls } from "./workload";

export interface RequestCounts {
  requests: Record<string, number>;
  totalRequests: number;
  itemsWritten: number;
  writeUnits: number;
  itemsRead: number;
}

/** A document client that counts what it sends. */
export function countingClient(config: Config) {
  const counts: RequestCounts = { requests: {}, totalRequests: 0, itemsWritten: 0, writeUnits: 0, itemsRead: 0 };
  const db = createDocumentClient(config);
  const units = (item: unknown) => Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(item)) / 1024));
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, "");
      counts.requests[name] = (counts.requests[name] ?? 0) + 1;
      counts.totalRequests++;
      const input = args.input as Record<string, unknown>;
      if (name === "BatchWriteItem") {
        for (const requests of Object.values(
          input.RequestItems as Record<string, Record<string, { Item?: unknown }>[]>,
        )) {
          for (const r of requests) {
            counts.itemsWritten++;
            counts.writeUnits += r.PutRequest?.Item ? units(r.PutRequest.Item) : 1;
          }
        }
      } else if (["PutItem", "UpdateItem", "DeleteItem"].includes(name)) {
        counts.itemsWritten++;
        counts.writeUnits += units(input.Item ?? input.ExpressionAttributeValues ?? {});
      }
      const output = await next(args);
      const out = output.output as { Responses?: Record<string, unknown[]>; Items?: unknown[]; Item?: unknown };
      if (out.Responses) for (const items of Object.values(out.Responses)) counts.itemsRead += items.length;
      if (out.Items) counts.itemsRead += out.Items.length;
      if (out.Item) counts.itemsRead++;
      return output;
    },
    { step: "initialize", name: "countRequests" },
  );
  return { db, counts };
}

export interface DynamoCostResult {
  label: string;
  events: number;
  trackEvents: number;
  perThousand: { requests: number; itemsWritten: number; writeUnits: number; itemsRead: number };
  requests: Record<string, number>;
}

/**
 * Normalizes `events` calls (90% track) delivered as SQS batches of `recordsPerBatch` messages of
 * `callsPerMessage` calls, and returns the counts per 1,000 track events.
 */
export async function benchDynamoCost(
  config: Config,
  options: { label: string; events: number; callsPerMessage: number; recordsPerBatch: number; workspace: string },
): Promise<DynamoCostResult> {
  // Steady state: a first pass (not counted) creates the profiles and memberships; the counted
  // pass is the next month's traffic of the same users, in time order as it would arrive.
  const shape = { trackShare: 0.9, users: 100, accounts: 20 };
  const warm = segmentCalls(options.events, { ...shape, seed: 3, prefix: `${options.workspace}-warm` });
  const plain = createDocumentClient(config);
  await deliver(new DynamoModelStore(plain, config), warm, options);
  plain.destroy();

  const { db, counts } = countingClient(config);
  const calls = segmentCalls(options.events, { ...shape, seed: 4, prefix: options.workspace })
    .map(
      (c): Record<string, unknown> => ({
        ...c,
        timestamp: new Date(Date.parse(c.timestamp as string) + 31 * 86400_000).toISOString(),
      }),
    )
    .sort((a, b) => ((a.timestamp as string) < (b.timestamp as string) ? -1 : 1));
  const trackEvents = calls.filter((c) => c.type === "track").length;
  await deliver(new DynamoModelStore(db, config), calls, options);
  db.destroy();
  const scale = 1000 / trackEvents;
  return {
    label: options.label,
    events: calls.length,
    trackEvents,
    perThousand: {
      requests: Math.round(counts.totalRequests * scale),
      itemsWritten: Math.round(counts.itemsWritten * scale),
      writeUnits: Math.round(counts.writeUnits * scale),
      itemsRead: Math.round(counts.itemsRead * scale),
    },
    requests: counts.requests,
  };
}

/** Normalizes the calls as SQS batches of `recordsPerBatch` messages of `callsPerMessage` calls. */
async function deliver(
  store: DynamoModelStore,
  calls: Record<string, unknown>[],
  options: { callsPerMessage: number; recordsPerBatch: number; workspace: string },
): Promise<void> {
  let record = 0;
  const perBatch = options.callsPerMessage * options.recordsPerBatch;
  for (let i = 0; i < calls.length; i += perBatch) {
    const records = [];
    for (let j = i; j < Math.min(calls.length, i + perBatch); j += options.callsPerMessage) {
      const body = {
        v: 1,
        workspaceId: options.workspace,
        source: "product",
        receivedAt: "2024-07-01T00:00:00.000Z",
        requestId: `r${record}`,
        calls: calls.slice(j, j + options.callsPerMessage),
      };
      records.push({ id: `rec-${record++}`, body: JSON.stringify(body) });
    }
    const outcome = await normalizeBatch(records, store, () => "2024-07-01T00:00:00.000Z");
    if (outcome.failedRecordIds.length > 0) {
      throw new Error(`bench batch had ${outcome.failedRecordIds.length} failures`);
    }
  }
}
