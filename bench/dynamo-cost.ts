/**
 * DynamoDB cost of normalizing a track-heavy workload, counted from the requests the code sends
 * (a middleware on the real client, against DynamoDB Local): requests by operation, items written,
 * and capacity units. The middleware asks every request for `ReturnConsumedCapacity: "INDEXES"`
 * and sums what DynamoDB answers (table and each index separately), so write units include the
 * index entries; it also keeps its own estimate of the base-table units (1 WCU per started KB of
 * each item sent), to check the reported figures against.
 */
import { BatchGetCommand, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../packages/aws/src/clients";
import type { Config } from "../packages/aws/src/config";
import { DeliveryStatusStore } from "../packages/aws/src/dynamo/delivery-status";
import { keys } from "../packages/aws/src/dynamo/keys";
import { DynamoModelStore } from "../packages/aws/src/dynamo/model-store";
import { normalizeBatch } from "../packages/core/src/pipeline/normalize-batch";
import { EntitiesTable, EventsTable, tables } from "../packages/resources/src/definitions";
import { segmentCalls } from "./workload";

export interface RequestCounts {
  requests: Record<string, number>;
  /** Requests by operation and what they touched: `Query Events:byUser`, `GetItem Entities`. */
  requestsByTarget: Record<string, number>;
  /** PartiQL statements sent in BatchExecuteStatement requests, and how many were refused by their condition. */
  statements: { sent: number; refused: number };
  /**
   * Write units of BatchExecuteStatement, which DynamoDB Local does not report: computed from each
   * statement's item (its size, 1 WCU per started KB, on the table and on every index whose key
   * attributes the item carries); a refused condition bills the table alone, for the existing
   * item's size (estimated from the attempted item: another version of the same event).
   */
  computedStatementWriteUnits: number;
  totalRequests: number;
  itemsWritten: number;
  writeUnits: number;
  itemsRead: number;
  /** Capacity units DynamoDB reported (ReturnConsumedCapacity INDEXES), by table or index. */
  consumed: { total: number; read: number; write: number; byTarget: Record<string, number> };
  /** Requests whose answer carried ConsumedCapacity (0 if the server does not report it). */
  requestsReporting: number;
}

interface Units {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}
interface Capacity extends Units {
  TableName?: string;
  Table?: Units;
  GlobalSecondaryIndexes?: Record<string, Units>;
}
const writeOperations = new Set([
  "BatchWriteItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "TransactWriteItems",
  "BatchExecuteStatement",
]);
const reportsCapacity = new Set([...writeOperations, "BatchGetItem", "GetItem", "Query", "Scan", "TransactGetItems"]);

/** Adds one ConsumedCapacity entry: the table's units and each index's, under `table` / `table:index`. */
function addCapacity(counts: RequestCounts, c: Capacity, isWrite: boolean) {
  const table = (c.TableName ?? "?").replace(/^.*?(Entities|Events)$/, "$1");
  const parts: [string, Units | undefined][] = [
    [table, c.Table],
    ...Object.entries(c.GlobalSecondaryIndexes ?? {}).map(([index, u]): [string, Units] => [`${table}:${index}`, u]),
  ];
  let sum = 0;
  for (const [target, u] of parts) {
    if (!u) continue;
    const units = u.CapacityUnits ?? (u.ReadCapacityUnits ?? 0) + (u.WriteCapacityUnits ?? 0);
    counts.consumed.byTarget[target] = (counts.consumed.byTarget[target] ?? 0) + units;
    sum += units;
  }
  // Servers that leave out the breakdown still give the total.
  if (sum === 0) sum = c.CapacityUnits ?? 0;
  counts.consumed.total += sum;
  if (isWrite) counts.consumed.write += sum;
  else counts.consumed.read += sum;
}

/** A document client that counts what it sends. */
export function countingClient(config: Config) {
  const counts: RequestCounts = {
    requests: {},
    requestsByTarget: {},
    statements: { sent: 0, refused: 0 },
    computedStatementWriteUnits: 0,
    totalRequests: 0,
    itemsWritten: 0,
    writeUnits: 0,
    itemsRead: 0,
    consumed: { total: 0, read: 0, write: 0, byTarget: {} },
    requestsReporting: 0,
  };
  const db = createDocumentClient(config);
  // Reads the items UPDATE statements wrote, to size them (not counted: a separate client).
  const plain = createDocumentClient(config);
  const destroy = db.destroy.bind(db);
  db.destroy = () => {
    plain.destroy();
    destroy();
  };
  const units = (item: unknown) => Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(item)) / 1024));
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, "");
      counts.requests[name] = (counts.requests[name] ?? 0) + 1;
      counts.totalRequests++;
      const input = args.input as Record<string, unknown>;
      for (const target of targetsOf(input)) {
        const key = `${name} ${target}`;
        counts.requestsByTarget[key] = (counts.requestsByTarget[key] ?? 0) + 1;
      }
      const statements = name === "BatchExecuteStatement" ? (input.Statements as PartiqlStatement[]) : [];
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
      if (reportsCapacity.has(name)) input.ReturnConsumedCapacity = "INDEXES";
      const output = await next(args);
      const out = output.output as {
        Responses?: Record<string, unknown[]>;
        Items?: unknown[];
        Item?: unknown;
        ConsumedCapacity?: Capacity | Capacity[];
      };
      const consumed = out.ConsumedCapacity;
      if (consumed) {
        counts.requestsReporting++;
        const isWrite = writeOperations.has(name);
        for (const c of Array.isArray(consumed) ? consumed : [consumed]) addCapacity(counts, c, isWrite);
      }
      if (statements.length > 0) {
        const answers = (output.output as { Responses?: { Error?: { Code?: string } }[] }).Responses ?? [];
        for (const [i, statement] of statements.entries()) {
          const refused = answers[i]?.Error?.Code !== undefined;
          counts.statements.sent++;
          if (refused) counts.statements.refused++;
          else counts.itemsWritten++;
          // Computed only where the server reported nothing for the request (DynamoDB Local).
          // (Awaited first: `+= await` would add to the total read before the await, losing what
          // overlapping requests added meanwhile.)
          if (!consumed) {
            const units = /^\s*UPDATE/i.test(statement.Statement)
              ? await updateWriteUnits(plain, statement, refused)
              : statementWriteUnits(statement, refused);
            counts.computedStatementWriteUnits += units;
          }
        }
      } else if (out.Responses) for (const items of Object.values(out.Responses)) counts.itemsRead += items.length;
      if (out.Items) counts.itemsRead += out.Items.length;
      if (out.Item) counts.itemsRead++;
      return output;
    },
    { step: "initialize", name: "countRequests" },
  );
  return { db, counts };
}

/**
 * Write units of a PartiQL UPDATE as AWS bills an UpdateItem: the item's size after the update (an
 * update bills the larger of before and after; these only add) on the table, and the same on each
 * index the item is in (the Entities indexes project ALL, so every index entry is rewritten); a
 * refused condition bills the table alone. The item is read back after the request to size it.
 */
async function updateWriteUnits(
  plain: ReturnType<typeof createDocumentClient>,
  s: PartiqlStatement,
  refused: boolean,
): Promise<number> {
  const params = s.Parameters ?? [];
  const key: Record<string, unknown> = {};
  let at = 0;
  for (const m of s.Statement.matchAll(/(\b(pk|sk)\s*=\s*)?\?/g)) {
    if (m[2]) key[m[2]] = params[at];
    at++;
  }
  const table = statementTable(s);
  const item = (await plain.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item ?? key;
  return itemWriteUnits(item, tableIndexes(table), refused);
}

interface PartiqlStatement {
  Statement: string;
  Parameters?: unknown[];
}

/** The short name of a table (`Events`) from a stage's table name. */
const shortTable = (name: string) => name.replace(/^.*?(Entities|Events)$/, "$1");

/** What a request touched, `Events` or `Events:byUser`, for the breakdown by target. */
function targetsOf(input: Record<string, unknown>): string[] {
  if (typeof input.TableName === "string")
    return [`${shortTable(input.TableName)}${typeof input.IndexName === "string" ? `:${input.IndexName}` : ""}`];
  if (input.RequestItems) return Object.keys(input.RequestItems).map(shortTable);
  if (Array.isArray(input.Statements))
    return [...new Set((input.Statements as PartiqlStatement[]).map((s) => shortTable(statementTable(s))))];
  return ["?"];
}

const statementTable = (s: PartiqlStatement) => /"([^"]+)"/.exec(s.Statement)?.[1] ?? "?";

/**
 * The item a PartiQL INSERT writes (`INSERT INTO "t" VALUE {'a': ?, ...}`), its attribute names
 * from the statement and values from the parameters; for an UPDATE, the attributes it sets.
 */
function statementItem(s: PartiqlStatement): Record<string, unknown> {
  const names = [...s.Statement.matchAll(/'((?:[^']|'')*)'\s*:\s*\?|\b(\w+)\s*=\s*\?/g)].map((m) =>
    (m[1] ?? m[2] ?? "").replaceAll("''", "'"),
  );
  return Object.fromEntries(names.map((n, i) => [n, s.Parameters?.[i]]));
}

/**
 * Write units of one statement as AWS bills them: an applied INSERT 1 WCU per started KB of the
 * item on the table and again on each index whose key attributes it carries; a refused one the
 * table alone (a failed condition writes no index), sized from the attempted item.
 */
function statementWriteUnits(s: PartiqlStatement, refused: boolean): number {
  return itemWriteUnits(statementItem(s), tableIndexes(statementTable(s)), refused);
}

/** The global indexes of a table, by its stage's name. */
const tableIndexes = (name: string) => tables.find((t) => shortTable(name) === t.name)?.globalIndexes ?? [];

/**
 * Write units of storing `item` once: 1 WCU per started KB on the table, and the same again on
 * every index whose key attributes it carries (the indexes project ALL, so an entry is as large as
 * the item); `tableOnly` (a refused condition) bills the table alone.
 */
function itemWriteUnits(
  item: Record<string, unknown>,
  indexes: readonly { partitionKey: string; sortKey: string }[],
  tableOnly = false,
): number {
  const units = Math.max(1, Math.ceil(dynamoItemBytes(item) / 1024));
  if (tableOnly) return units;
  return (
    units * (1 + indexes.filter((i) => item[i.partitionKey] !== undefined && item[i.sortKey] !== undefined).length)
  );
}

export interface DynamoCostResult {
  label: string;
  events: number;
  trackEvents: number;
  perThousand: {
    requests: number;
    itemsWritten: number;
    /** Our own estimate: base-table items only, 1 WCU per started KB of what was sent. */
    writeUnits: number;
    itemsRead: number;
    /** As DynamoDB reported them (table + indexes); null when the server reports none. */
    reportedWriteUnits: number | null;
    /** BatchExecuteStatement's write units, computed (DynamoDB Local reports none for it): see `RequestCounts`. */
    computedStatementWriteUnits: number;
    /** Reported write units plus the computed ones: what the ratio to the floor uses. */
    totalWriteUnits: number;
    reportedReadUnits: number | null;
    /** Computed from the key design: each stored event item's units on the table and on each index it is in. */
    computedEventWriteUnits: number;
    /** The floor: the write units that storing each event once with its index entries cannot avoid. */
    floorWriteUnits: number;
    /**
     * What the identify and group calls cannot avoid: each profile and membership item the pass
     * created or changed (a new version, an earlier `since`) stored once with its index entries.
     */
    entityFloorWriteUnits: number;
  };
  /** Write units over the floor (reported units where the server reports them). */
  ratioToFloor: number;
  /** Write units over the floor of every call: the events' floor plus `entityFloorWriteUnits`. */
  ratioToCallsFloor: number;
  /** Where the reported capacity went, per 1,000 track events: `Events`, `Events:byAccount`, ... */
  reportedByTarget: Record<string, number>;
  /** Which write-unit figure the ratio uses. */
  writeUnitsSource: string;
  requests: Record<string, number>;
  /** Requests per 1,000 track events by operation and table or index (`Query Events:byUser`). */
  requestsByTarget: Record<string, number>;
  /** PartiQL statements per 1,000 track events, and those refused by their condition. */
  statements: { sent: number; refused: number };
  /** Milliseconds of this process's CPU spent in the counted pass, per 1,000 events (all calls). */
  cpuMsPerThousandEvents: number;
}

/**
 * DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers about a byte per two
 * digits plus one, booleans and nulls one byte, maps and lists three bytes plus their contents and
 * a byte per element). https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}
function valueBytes(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (typeof value === "number") return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, "").length / 2) + 1;
  if (typeof value === "boolean" || value === null || value === undefined) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueBytes(v), 0);
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + valueBytes(v), 0);
  if (typeof value === "object")
    return 3 + dynamoItemBytes(value as Record<string, unknown>) + Object.keys(value).length;
  return 0;
}

/**
 * Write units of storing one event item once: 1 WCU per started KB on the table, and the same again
 * on every index the item is in (the events indexes project ALL attributes, so an index entry is as
 * large as the item).
 */
export function eventWriteUnits(item: Record<string, unknown>): number {
  return itemWriteUnits(item, EventsTable.globalIndexes);
}

/**
 * Normalizes `events` calls (90% track) delivered as SQS batches of `recordsPerBatch` messages of
 * `callsPerMessage` calls, and returns the counts per 1,000 track events.
 */
export async function benchDynamoCost(
  config: Config,
  options: {
    label: string;
    events: number;
    callsPerMessage: number;
    recordsPerBatch: number;
    workspace: string;
    /**
     * true: the counted pass is the first traffic of a new month for every profile (each profile
     * records the month once: one write per profile); false: the profiles already have events in
     * that month (the rest of a month's traffic).
     */
    newMonth: boolean;
  },
): Promise<DynamoCostResult> {
  // Steady state: a first pass (not counted) creates the profiles and memberships; the counted
  // pass is the same users' traffic a month later (or, with `newMonth` false, later the same
  // month), in time order as it would arrive.
  const shape = { trackShare: 0.9, users: 100, accounts: 20 };
  const later =
    (days: number) =>
    (c: Record<string, unknown>): Record<string, unknown> => ({
      ...c,
      timestamp: new Date(Date.parse(c.timestamp as string) + days * 86400_000).toISOString(),
    });
  const warm = segmentCalls(options.events, { ...shape, seed: 3, prefix: `${options.workspace}-warm` }).map(
    later(options.newMonth ? 0 : 31),
  );
  const plain = createDocumentClient(config);
  await deliver(new DynamoModelStore(plain, config), warm, options);
  plain.destroy();
  const before = await entityItems(config, options.workspace);

  const { db, counts } = countingClient(config);
  const calls = segmentCalls(options.events, { ...shape, seed: 4, prefix: options.workspace })
    .map(later(31))
    .sort((a, b) => ((a.timestamp as string) < (b.timestamp as string) ? -1 : 1));
  const trackEvents = calls.filter((c) => c.type === "track").length;
  const cpuBefore = process.cpuUsage();
  await deliver(new DynamoModelStore(db, config), calls, options);
  const cpu = process.cpuUsage(cpuBefore);
  db.destroy();
  const stored = await storedEvents(config, options.workspace, calls);
  const floor = stored.reduce((n, item) => n + eventWriteUnits(item), 0);
  const entityFloor = entityFloorUnits(before, await entityItems(config, options.workspace));
  const scale = 1000 / trackEvents;
  const reports = counts.requestsReporting > 0;
  const writes = (reports ? counts.consumed.write : counts.writeUnits) + counts.computedStatementWriteUnits;
  const perK = (n: number) => Math.round(n * scale * 10) / 10;
  return {
    label: options.label,
    events: calls.length,
    trackEvents,
    perThousand: {
      requests: Math.round(counts.totalRequests * scale),
      itemsWritten: Math.round(counts.itemsWritten * scale),
      writeUnits: Math.round(counts.writeUnits * scale),
      itemsRead: Math.round(counts.itemsRead * scale),
      reportedWriteUnits: reports ? Math.round(counts.consumed.write * scale) : null,
      reportedReadUnits: reports ? Math.round(counts.consumed.read * scale) : null,
      computedStatementWriteUnits: Math.round(counts.computedStatementWriteUnits * scale),
      totalWriteUnits: Math.round(writes * scale),
      computedEventWriteUnits: Math.round(floor * scale),
      floorWriteUnits: Math.round(floor * scale),
      entityFloorWriteUnits: Math.round(entityFloor * scale),
    },
    ratioToFloor: writes / floor,
    ratioToCallsFloor: writes / (floor + entityFloor),
    reportedByTarget: Object.fromEntries(Object.entries(counts.consumed.byTarget).map(([k, v]) => [k, perK(v)])),
    writeUnitsSource: `${reports ? "reported by DynamoDB Local (INDEXES)" : "estimated from item sizes, base table only"}${
      counts.statements.sent > 0 ? " + BatchExecuteStatement computed from item sizes and key design" : ""
    }`,
    requests: counts.requests,
    requestsByTarget: Object.fromEntries(
      Object.entries(counts.requestsByTarget)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, perK(v)]),
    ),
    statements: { sent: perK(counts.statements.sent), refused: perK(counts.statements.refused) },
    cpuMsPerThousandEvents: ((cpu.user + cpu.system) / 1000) * (1000 / calls.length),
  };
}

/** A workspace's profile and membership items (read by an uncounted client), by `pk sk`. */
async function entityItems(config: Config, workspace: string): Promise<Map<string, Record<string, unknown>>> {
  const db = createDocumentClient(config);
  const items = new Map<string, Record<string, unknown>>();
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: config.entitiesTable,
        FilterExpression: "begins_with(pk, :p) AND (sk = :profile OR begins_with(sk, :member))",
        ExpressionAttributeValues: { ":p": `WS#${workspace}#`, ":profile": "PROFILE", ":member": "MEMBER#" },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) items.set(`${item.pk} ${item.sk}`, item);
    start = out.LastEvaluatedKey;
  } while (start);
  db.destroy();
  return items;
}

/**
 * The write units of the profile and membership items that are new after the pass, or whose
 * `version` (fields) or `since` changed: each stored once, on the table and on every index whose
 * key attributes it carries. A change of `event_months` alone is not counted: that is overhead.
 */
function entityFloorUnits(
  before: Map<string, Record<string, unknown>>,
  after: Map<string, Record<string, unknown>>,
): number {
  let units = 0;
  for (const [key, item] of after) {
    const old = before.get(key);
    if (old && old.version === item.version && old.since === item.since) continue;
    units += itemWriteUnits(item, EntitiesTable.globalIndexes);
  }
  return units;
}

/** The event items the counted pass stored, read back (not counted) to size the floor. */
async function storedEvents(config: Config, workspace: string, calls: Record<string, unknown>[]) {
  const db = createDocumentClient(config);
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < calls.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = calls
      .slice(i, i + 100)
      .map((c) => keys.event(workspace, c.messageId as string) as unknown as Record<string, unknown>);
    while (pending && pending.length > 0) {
      const out = await db.send(new BatchGetCommand({ RequestItems: { [config.eventsTable]: { Keys: pending } } }));
      items.push(...((out.Responses?.[config.eventsTable] ?? []) as Record<string, unknown>[]));
      pending = out.UnprocessedKeys?.[config.eventsTable]?.Keys as Record<string, unknown>[] | undefined;
    }
  }
  db.destroy();
  return items;
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

/**
 * Write units of ingest's delivery counters, which every HTTP request writes (one UpdateItem on
 * its source's item of the UTC day, `DeliveryStatusStore.record`): `requests` accepted requests
 * spread evenly over one day, so the item grows through the day's five-minute slots as it does on
 * AWS (an update is billed for the larger of the item before and after it). Units as DynamoDB
 * Local reports them.
 */
export async function benchDeliveryCounters(
  config: Config,
  requests: number,
): Promise<{ requests: number; writeUnitsPerRequest: number; itemBytesAtEndOfDay: number }> {
  const { db, counts } = countingClient(config);
  const store = new DeliveryStatusStore(db, config.entitiesTable);
  const day = Date.UTC(2024, 5, 3);
  const workspaceId = `counters-${Date.now()}`;
  for (let i = 0; i < requests; i++) {
    const at = new Date(day + Math.floor((i * 86_400_000) / requests));
    await store.record({
      workspaceId,
      source: "product",
      at,
      route: "webhook",
      accepted: 1,
      rejectedCalls: 0,
      signatureFailure: false,
    });
  }
  db.destroy();
  const plain = createDocumentClient(config);
  const item = (
    await plain.send(
      new GetCommand({ TableName: config.entitiesTable, Key: keys.deliveryDay(workspaceId, "product", "2024-06-03") }),
    )
  ).Item;
  plain.destroy();
  return {
    requests,
    writeUnitsPerRequest: counts.consumed.write / requests,
    itemBytesAtEndOfDay: item ? dynamoItemBytes(item) : 0,
  };
}
