import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { IngestError } from "../../../core/src/errors";
import type { Key } from "./keys";
import { batchGet, itemKeyOf, type Statement, settleStatements } from "./table-ops";

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
  return new Gathered((statements) => settleStatements(db, statements, operation));
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
  // One SET clause per attribute (`SET a = ? SET b = ?`), the form DynamoDB's PartiQL grammar documents.
  const set = [
    ...names.map((name) => `SET ${quote(name)} = ?`),
    ...adds.map((name) => `SET ${quote(name)} = set_add(${quote(name)}, ?)`),
  ].join(" ");
  return {
    Statement: `UPDATE "${table}" ${set} WHERE pk = ? AND sk = ?${condition ? ` AND ${condition}` : ""}`,
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
