import { BatchExecuteStatementCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { IngestError } from "../../../core/src/errors";
import { retry } from "../../../core/src/retry";
import type { Key } from "./keys";
import { storageCall } from "./storage-error";
import {
  batchGet,
  itemKeyOf,
  STATEMENT_CONDITION,
  STATEMENT_TRANSIENT,
  type Statement,
  statementRequests,
  UnprocessedError,
  unprocessedRetry,
} from "./table-ops";

type Settled<O> = PromiseSettledResult<O>;
const fulfilled = <O>(value: O): Settled<O> => ({ status: "fulfilled", value });
const rejected = <O>(reason: unknown): Settled<O> => ({ status: "rejected", reason });

/** Whether a failure refused a request on its merits (not a fault that may pass). */
const refused = (error: unknown) => error instanceof IngestError && !error.retryable;

/**
 * Gathers what callers ask for in the same turn of the event loop into one call of `run`, which
 * settles each item on its own (in order), so a stage that asks per item, all items at once,
 * costs one request (or one per DynamoDB's limit) instead of one each, and one item's failure is
 * that caller's alone.
 *
 * @example
 * const reads = new Gathered<Key, Item | undefined>((keys) => readAll(keys));
 * const item = await reads.ask(key);
 */
export class Gathered<I, O> {
  private pending: { item: I; settle: (out: O) => void; fail: (e: unknown) => void }[] = [];

  constructor(private readonly run: (items: I[]) => Promise<Settled<O>[]>) {}

  ask(item: I): Promise<O> {
    return new Promise((settle, fail) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ item, settle, fail });
    });
  }

  private async flush(): Promise<void> {
    const gathered = this.pending;
    this.pending = [];
    const outcomes = await this.run(gathered.map((p) => p.item)).catch((error: unknown) =>
      gathered.map(() => rejected<O>(error)),
    );
    for (const [i, p] of gathered.entries()) {
      const outcome = outcomes[i];
      if (outcome?.status === "fulfilled") p.settle(outcome.value);
      else p.fail(outcome?.reason);
    }
  }
}

/**
 * Consistent reads of single items, gathered into one BatchGetItem (100 keys a request) per turn
 * of the event loop; each caller gets its item, or undefined when there is none. A read DynamoDB
 * refuses on its merits (one malformed key) is made again key by key, so only that key fails.
 *
 * @example
 * const accounts = gatheredReads(db, table, { projection: "#v", names: { "#v": "version" } });
 * const item = await accounts.ask(keys.account(ws, "acme"));
 */
export function gatheredReads(
  db: DynamoDBDocumentClient,
  table: string,
  options: { projection?: string; names?: Record<string, string> } = {},
): Gathered<Key, Record<string, unknown> | undefined> {
  type Item = Record<string, unknown> | undefined;
  const read = async (itemKeys: Key[]): Promise<Settled<Item>[]> => {
    const items = await batchGet(db, table, itemKeys, { consistent: true, ...options });
    const byKey = new Map(items.map((item) => [itemKeyOf({ pk: item.pk as string, sk: item.sk as string }), item]));
    return itemKeys.map((key) => fulfilled(byKey.get(itemKeyOf(key))));
  };
  return new Gathered<Key, Item>(async (itemKeys) => {
    try {
      return await read(itemKeys);
    } catch (error) {
      if (itemKeys.length === 1 || !refused(error)) return itemKeys.map(() => rejected<Item>(error));
      return Promise.all(
        itemKeys.map((key) => read([key]).then(([one]) => one ?? fulfilled<Item>(undefined), rejected<Item>)),
      );
    }
  });
}

/**
 * Conditional PartiQL writes gathered per turn of the event loop into BatchExecuteStatement
 * requests (25 a request, as `batchStatements`), each statement settled on its own: true when
 * applied, false when its condition failed, an error only for that statement when DynamoDB refused
 * it (`storage.rejected`) or kept refusing it for throughput (retryable). A request refused as a
 * whole on its merits is sent again statement by statement, so only the bad one fails.
 *
 * @example
 * const writes = gatheredStatements(db, "profile write");
 * const applied = await writes.ask(updateStatement(table, key, values, `"version" = ?`, [3]));
 */
export function gatheredStatements(db: DynamoDBDocumentClient, operation: string): Gathered<Statement, boolean> {
  return new Gathered(async (statements) => {
    const outcomes: Settled<boolean>[] = statements.map(() => rejected(new Error("not sent")));
    // Requests of one wave name each item once, so they go at once (a few at a time): a request
    // waiting out its throttled statements' backoff must not hold up the others behind it.
    const send = pLimit(REQUESTS_AT_ONCE);
    for (const wave of statementWaves(statements)) {
      await Promise.all(wave.map((request) => send(() => sendSettled(db, request, operation, outcomes))));
    }
    return outcomes;
  });
}

/** Requests of gathered statements sent at once. */
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
  outcomes: Settled<boolean>[],
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
        if (!error?.Code) outcomes[p.at] = fulfilled(true);
        else if (STATEMENT_CONDITION.has(error.Code)) outcomes[p.at] = fulfilled(false);
        else if (STATEMENT_TRANSIENT.has(error.Code)) again.push(p);
        else {
          const message = `DynamoDB refused ${operation}: ${error.Code}: ${error.Message ?? ""}`;
          outcomes[p.at] = rejected(new IngestError("storage.rejected", message));
        }
      }
      pending = again;
      if (pending.length > 0)
        throw new UnprocessedError("storage.unavailable", `DynamoDB refused ${pending.length} statement(s) for now`);
    }, unprocessedRetry);
  } catch (error) {
    if (pending.length > 1 && refused(error)) {
      for (const p of pending) await sendSettled(db, [p], operation, outcomes);
      return;
    }
    for (const p of pending) outcomes[p.at] = rejected(error);
  }
}

/**
 * A PartiQL `UPDATE` of one item for `batchStatements`: sets `values` (attribute names quoted,
 * so reserved words are fine) and adds to the string sets in `setAdds`, applied only where the item exists and `condition` holds (its `?`
 * take `conditionValues`); else `ConditionalCheckFailed`, reported as a failed condition.
 *
 * @example
 * updateStatement(table, key, { since: "2024-05-01T00:00:00.000Z" }, "since > ?", ["2024-05-01T00:00:00.000Z"]);
 */
export function updateStatement(
  table: string,
  key: Key,
  values: Record<string, unknown>,
  condition?: string,
  conditionValues: unknown[] = [],
  setAdds: Record<string, Set<string>> = {},
): Statement {
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const names = Object.keys(values).filter((name) => values[name] !== undefined);
  const adds = Object.keys(setAdds).filter((name) => (setAdds[name]?.size ?? 0) > 0);
  const set = [
    ...names.map((name) => `${quote(name)} = ?`),
    ...adds.map((name) => `${quote(name)} = set_add(${quote(name)}, ?)`),
  ].join(", ");
  return {
    Statement: `UPDATE "${table}" SET ${set} WHERE pk = ? AND sk = ?${condition ? ` AND ${condition}` : ""}`,
    Parameters: [
      ...names.map((name) => values[name]),
      ...adds.map((name) => setAdds[name]),
      key.pk,
      key.sk,
      ...conditionValues,
    ],
    key,
  };
}
