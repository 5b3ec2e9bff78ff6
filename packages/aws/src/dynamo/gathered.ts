import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { IngestError } from "../../../core/src/errors";
import type { Key } from "./keys";
import { batchGet, itemKeyOf, type Statement } from "./table-ops";

/**
 * Gathers what callers ask for in the same turn of the event loop into one call of `run` (which
 * answers each item in order), so a stage that asks per item, all items at once, costs one
 * request (or a request per DynamoDB's limit) instead of one each. When `run` fails permanently
 * for a whole gathering (one malformed item), each item is run again alone, so only the bad one
 * fails; a retryable failure fails them all (the batch goes back to SQS as a whole anyway).
 *
 * @example
 * const reads = new Gathered<Key, Item | undefined>((keys) => readAll(keys));
 * const item = await reads.ask(key);
 */
export class Gathered<I, O> {
  private pending: { item: I; settle: (out: O) => void; fail: (e: unknown) => void }[] = [];

  constructor(private readonly run: (items: I[]) => Promise<O[]>) {}

  ask(item: I): Promise<O> {
    return new Promise((settle, fail) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ item, settle, fail });
    });
  }

  private async flush(): Promise<void> {
    const gathered = this.pending;
    this.pending = [];
    try {
      const out = await this.run(gathered.map((p) => p.item));
      for (const [i, p] of gathered.entries()) p.settle(out[i] as O);
    } catch (error) {
      if (gathered.length === 1 || !(error instanceof IngestError) || error.retryable) {
        for (const p of gathered) p.fail(error);
        return;
      }
      await Promise.all(gathered.map((p) => this.run([p.item]).then(([out]) => p.settle(out as O), p.fail)));
    }
  }
}

/**
 * Consistent reads of single items, gathered into one BatchGetItem (100 keys a request) per turn
 * of the event loop; each caller gets its item, or undefined when there is none.
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
  return new Gathered(async (itemKeys) => {
    const items = await batchGet(db, table, itemKeys, { consistent: true, ...options });
    const byKey = new Map(items.map((item) => [itemKeyOf({ pk: item.pk as string, sk: item.sk as string }), item]));
    return itemKeys.map((key) => byKey.get(itemKeyOf(key)));
  });
}

/**
 * A PartiQL `UPDATE` of one item for `batchStatements`: sets `values` (attribute names quoted,
 * so reserved words are fine), applied only where the item exists and `condition` holds (its `?`
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
): Statement {
  const names = Object.keys(values).filter((name) => values[name] !== undefined);
  const set = names.map((name) => `"${name.replaceAll('"', '""')}" = ?`).join(", ");
  return {
    Statement: `UPDATE "${table}" SET ${set} WHERE pk = ? AND sk = ?${condition ? ` AND ${condition}` : ""}`,
    Parameters: [...names.map((name) => values[name]), key.pk, key.sk, ...conditionValues],
    key,
  };
}
