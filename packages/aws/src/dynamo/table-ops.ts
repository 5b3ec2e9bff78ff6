import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  BatchExecuteStatementCommand,
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { DependencyError, IngestError } from "../../../core/src/errors";
import { type RetryPolicy, retry } from "../../../core/src/retry";
import type { Key } from "./keys";
import { storageCall } from "./storage-error";

/**
 * The few DynamoDB patterns every store here uses, written once: batch reads and writes of any
 * size (chunked to DynamoDB's limits, unprocessed items tried again), queries followed page by
 * page, and one test for a failed condition. Every request goes through `storageCall`, so each
 * failure reaches the caller classified as retryable (`DependencyError`) or permanent.
 */

/** One page of a listing; `next` is DynamoDB's LastEvaluatedKey (the API wraps it in a cursor). */
export interface Page<T> {
  items: T[];
  next?: Record<string, unknown>;
}

/** A BatchWriteItem request: `{ PutRequest: { Item } }` or `{ DeleteRequest: { Key } }`. */
export type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Key } };

/** BatchGetItem reads at most 100 keys a request, BatchWriteItem writes at most 25 items. */
export const BATCH_GET_LIMIT = 100;
export const BATCH_WRITE_LIMIT = 25;

/**
 * How often what DynamoDB leaves unprocessed in a batch (throughput exceeded on some partitions)
 * is sent again. The SDK's own retries do not cover it: the request as a whole succeeded.
 */
export const unprocessedRetry: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 50,
  maxDelayMs: 1000,
  retryable: (error) => error instanceof UnprocessedError,
};

/** What is still unprocessed after the last try of a batch. */
class UnprocessedError extends DependencyError {}

/**
 * Whether a request failed only because its condition did not hold: a `ConditionExpression` of a
 * put, update or delete, or (with `index`, that item; without, any item) of a transaction. It
 * looks through `storageCall`'s classification to the SDK error it keeps as `cause`.
 *
 * @example
 * if (conditionFailed(error)) return false; // another writer got there first
 */
export function conditionFailed(error: unknown, index?: number): boolean {
  const sdk = (error as { cause?: unknown } | undefined)?.cause ?? error;
  if (sdk instanceof ConditionalCheckFailedException) return index === undefined;
  if (!(sdk instanceof TransactionCanceledException)) return false;
  const reasons = sdk.CancellationReasons ?? [];
  return index === undefined
    ? reasons.some((r) => r.Code === "ConditionalCheckFailed")
    : reasons[index]?.Code === "ConditionalCheckFailed";
}

/**
 * Runs a conditional request: true when it was applied, false when its condition failed; every
 * other failure is thrown, classified.
 *
 * @example
 * const won = await ifCondition("profile write", () => db.send(new UpdateCommand({ …, ConditionExpression })));
 */
export async function ifCondition(operation: string, send: () => Promise<unknown>): Promise<boolean> {
  try {
    await storageCall(operation, send);
    return true;
  } catch (error) {
    if (conditionFailed(error)) return false;
    throw error;
  }
}

const keyId = (k: { pk?: unknown; sk?: unknown }) => JSON.stringify([k.pk, k.sk]);

/**
 * The items stored under these keys (absent ones are left out), in no particular order: 100 keys
 * a BatchGetItem, a key named twice read once, unprocessed keys read again with backoff.
 *
 * @example
 * const items = await batchGet(db, table, [keys.user(ws, "u1")], { consistent: true, projection: "f" });
 */
export async function batchGet(
  db: DynamoDBDocumentClient,
  table: string,
  itemKeys: Key[],
  options: { consistent?: boolean; projection?: string; names?: Record<string, string> } = {},
): Promise<Record<string, unknown>[]> {
  // BatchGetItem refuses a request that names the same key twice.
  const unique = [...new Map(itemKeys.map((k) => [keyId(k), { pk: k.pk, sk: k.sk }])).values()];
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
    let pending: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_LIMIT);
    await retry(async () => {
      const request = {
        Keys: pending,
        ...(options.consistent ? { ConsistentRead: true } : {}),
        ...(options.projection ? { ProjectionExpression: `pk, sk, ${options.projection}` } : {}),
        ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
      };
      const out = await storageCall("batch read", () =>
        db.send(new BatchGetCommand({ RequestItems: { [table]: request } })),
      );
      items.push(...(out.Responses?.[table] ?? []));
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length > 0)
        throw new UnprocessedError("storage.unavailable", `DynamoDB left ${pending.length} read(s) unprocessed`);
    }, unprocessedRetry);
  }
  return items;
}

/** `batchGet`, keyed by `itemKeyOf` of each found item. */
export async function batchGetByKey(
  db: DynamoDBDocumentClient,
  table: string,
  itemKeys: Key[],
  options: { consistent?: boolean } = {},
): Promise<Map<string, Record<string, unknown>>> {
  const items = await batchGet(db, table, itemKeys, options);
  return new Map(items.map((item) => [keyId(item), item]));
}

/** The map key `batchGetByKey` files an item under. */
export function itemKeyOf(key: Key): string {
  return keyId(key);
}

/**
 * Writes any number of put and delete requests: 25 a BatchWriteItem, unprocessed items written
 * again with backoff. Deletes of the same key twice are sent once (BatchWriteItem refuses them).
 *
 * @example
 * await batchWrite(db, table, eventKeys.map((Key) => ({ DeleteRequest: { Key } })));
 */
export async function batchWrite(db: DynamoDBDocumentClient, table: string, requests: WriteRequest[]): Promise<void> {
  const seen = new Set<string>();
  const unique = requests.filter((r) => {
    if (!("DeleteRequest" in r)) return true;
    const id = keyId(r.DeleteRequest.Key);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  for (let i = 0; i < unique.length; i += BATCH_WRITE_LIMIT) {
    let pending: WriteRequest[] = unique.slice(i, i + BATCH_WRITE_LIMIT);
    await retry(async () => {
      const out = await storageCall("batch write", () =>
        db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })),
      );
      pending = (out.UnprocessedItems?.[table] as WriteRequest[] | undefined) ?? [];
      if (pending.length > 0)
        throw new UnprocessedError("storage.unavailable", `DynamoDB left ${pending.length} write(s) unprocessed`);
    }, unprocessedRetry);
  }
}

/** One item by key, or undefined. */
export async function getItem(
  db: DynamoDBDocumentClient,
  table: string,
  key: Key,
  options: { consistent?: boolean; operation?: string } = {},
): Promise<Record<string, unknown> | undefined> {
  const out = await storageCall(options.operation ?? "read", () =>
    db.send(new GetCommand({ TableName: table, Key: key, ...(options.consistent ? { ConsistentRead: true } : {}) })),
  );
  return out.Item;
}

/** One page of a query; `next` is where the following page starts. */
export async function queryPage(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Page<Record<string, unknown>>> {
  const page = await storageCall("query", () => db.send(new QueryCommand(input)));
  return { items: page.Items ?? [], next: page.LastEvaluatedKey };
}

/**
 * Every item a query matches, following `LastEvaluatedKey` page by page. Only for partitions that
 * stay small (a user's memberships, a month of a user's events, a workspace's sources); listings
 * the API serves page by page with a cursor use `queryPage`.
 *
 * @example
 * const memberships = await queryAll(db, { TableName, IndexName: "byUser", KeyConditionExpression: "gsi1pk = :pk", … });
 */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start = input.ExclusiveStartKey;
  do {
    const page = await queryPage(db, { ...input, ExclusiveStartKey: start });
    items.push(...page.items);
    start = page.next;
  } while (start);
  return items;
}

/**
 * A PartiQL write for `batchStatements`: the statement with `?` placeholders, their values, and
 * the key of the item it writes (one request may not name an item twice).
 */
export interface Statement {
  Statement: string;
  Parameters: unknown[];
  key: Key;
}

/** BatchExecuteStatement runs at most 25 statements a request. */
export const BATCH_STATEMENT_LIMIT = 25;

/** Per-statement error codes that may pass when the statement is sent again. */
const STATEMENT_TRANSIENT = new Set([
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
  "ThrottlingError",
  "InternalServerError",
  "TransactionConflict",
]);

/** Per-statement error codes meaning "the item's condition did not hold" (not a fault). */
const STATEMENT_CONDITION = new Set(["ConditionalCheckFailed", "DuplicateItem"]);

/**
 * A PartiQL `INSERT` of a whole item: applied only when no item has its key (else `DuplicateItem`,
 * which `batchStatements` reports as a failed condition). Top-level attributes with `undefined`
 * values are left out, as the document client's `removeUndefinedValues` does.
 *
 * @example
 * await batchStatements(db, items.map((item) => insertStatement(table, item)));
 */
export function insertStatement(table: string, item: Record<string, unknown>): Statement {
  const names = Object.keys(item).filter((name) => item[name] !== undefined);
  const fields = names.map((name) => `'${name.replaceAll("'", "''")}': ?`).join(", ");
  return {
    Statement: `INSERT INTO "${table}" VALUE {${fields}}`,
    Parameters: names.map((name) => item[name]),
    key: { pk: item.pk as string, sk: item.sk as string },
  };
}

/**
 * Runs conditional writes as PartiQL statements, 25 a BatchExecuteStatement: one request for up to
 * 25 conditional puts or updates, each applied or refused on its own, at the same write units as
 * PutItem/UpdateItem (not a transaction). Returns, per statement in order, true when applied and
 * false when its condition failed (`DuplicateItem` of an INSERT, `ConditionalCheckFailed` of an
 * UPDATE … WHERE). Statements refused for throughput or a transient fault are sent again with
 * backoff; any other per-statement error is thrown, classified as `storage.rejected`. Statements on
 * the same item go in later requests than the earlier ones on it (DynamoDB refuses a request that
 * names an item twice), so they apply in the order given.
 *
 * @example
 * const applied = await batchStatements(db, events.map((e) => insertStatement(table, eventItem(e))));
 */
export async function batchStatements(
  db: DynamoDBDocumentClient,
  statements: Statement[],
  operation = "batch statement",
): Promise<boolean[]> {
  const outcomes = await settleStatements(db, statements, operation);
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) throw failed.reason;
  return outcomes.map((o) => o.status === "fulfilled" && o.value);
}

/**
 * Sends `statements` as `batchStatements` does and settles each on its own, in order: true when
 * applied, false when its condition failed, rejected (for that statement alone) when DynamoDB
 * refused it (`storage.rejected`) or kept refusing it for throughput (retryable). A request
 * refused as a whole on its merits is sent again statement by statement, so only the bad one fails.
 */
export async function settleStatements(
  db: DynamoDBDocumentClient,
  statements: Statement[],
  operation: string,
): Promise<PromiseSettledResult<boolean>[]> {
  const outcomes: PromiseSettledResult<boolean>[] = statements.map(() => ({
    status: "rejected",
    reason: new Error("not sent"),
  }));
  // Requests of one wave name each item once, so they go at once (a few at a time): a request
  // waiting out its throttled statements' backoff must not hold up the others behind it.
  const send = pLimit(REQUESTS_AT_ONCE);
  for (const wave of statementWaves(statements)) {
    await Promise.all(wave.map((request) => send(() => sendSettled(db, request, operation, outcomes))));
  }
  return outcomes;
}

/** Statement requests sent at once. */
const REQUESTS_AT_ONCE = 16;

/**
 * `statementRequests` in waves: the n-th statement on an item goes in the n-th wave, so a wave's
 * requests can be sent together and each item's statements still apply in the order asked.
 */
function statementWaves(statements: Statement[]): { statement: Statement; at: number }[][][] {
  const waves: { statement: Statement; at: number }[][] = [];
  const seen = new Map<string, number>();
  statements.forEach((statement, at) => {
    const id = itemKeyOf(statement.key);
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    if (n === waves.length) waves.push([]);
    waves[n]?.push({ statement, at });
  });
  // Each item once a wave: `statementRequests` only cuts it into requests of 25.
  return waves.map((wave) =>
    statementRequests(wave.map((p) => p.statement)).map((request) =>
      request.map((p) => ({ statement: p.statement, at: wave[p.at]?.at ?? -1 })),
    ),
  );
}

/** Sends one request's statements, retrying those refused for now, and settles each in `outcomes`. */
async function sendSettled(
  db: DynamoDBDocumentClient,
  request: { statement: Statement; at: number }[],
  operation: string,
  outcomes: PromiseSettledResult<boolean>[],
): Promise<void> {
  let pending = request;
  try {
    await retry(async () => {
      const out = await storageCall(operation, () =>
        db.send(
          new BatchExecuteStatementCommand({
            Statements: pending.map(({ statement: { Statement, Parameters } }) => ({ Statement, Parameters })),
          }),
        ),
      );
      const again: typeof pending = [];
      for (const [j, p] of pending.entries()) {
        const error = out.Responses?.[j]?.Error;
        if (!error?.Code) outcomes[p.at] = { status: "fulfilled", value: true };
        else if (STATEMENT_CONDITION.has(error.Code)) outcomes[p.at] = { status: "fulfilled", value: false };
        else if (STATEMENT_TRANSIENT.has(error.Code)) again.push(p);
        else {
          const message = `DynamoDB refused ${operation}: ${error.Code}: ${error.Message ?? ""}`;
          outcomes[p.at] = { status: "rejected", reason: new IngestError("storage.rejected", message) };
        }
      }
      pending = again;
      if (pending.length > 0)
        throw new UnprocessedError("storage.unavailable", `DynamoDB refused ${pending.length} statement(s) for now`);
    }, unprocessedRetry);
  } catch (error) {
    if (pending.length > 1 && error instanceof IngestError && !error.retryable) {
      for (const p of pending) await sendSettled(db, [p], operation, outcomes);
      return;
    }
    for (const p of pending) outcomes[p.at] = { status: "rejected", reason: error };
  }
}

/** Statements grouped into requests of at most 25, no item twice in one, in the order given per item. */
function statementRequests(statements: Statement[]): { statement: Statement; at: number }[][] {
  const requests: { statement: Statement; at: number }[][] = [];
  const itemsIn: Set<string>[] = [];
  const lastRequestOf = new Map<string, number>();
  statements.forEach((statement, at) => {
    const id = keyId(statement.key);
    let r = (lastRequestOf.get(id) ?? -1) + 1;
    while (r < requests.length && ((requests[r]?.length ?? 0) >= BATCH_STATEMENT_LIMIT || itemsIn[r]?.has(id))) r++;
    if (r === requests.length) {
      requests.push([]);
      itemsIn.push(new Set());
    }
    requests[r]?.push({ statement, at });
    itemsIn[r]?.add(id);
    lastRequestOf.set(id, r);
  });
  return requests;
}
