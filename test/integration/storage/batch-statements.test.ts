import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { batchStatements, insertStatement } from "../../../packages/aws/src/dynamo/table-ops";
import { provisionTestResources } from "../../support/local-resources";

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

const item = (pk: string, i: number, extra: Record<string, unknown> = {}) => ({
  pk,
  sk: `ITEM#${String(i).padStart(4, "0")}`,
  n: i,
  ...extra,
});

describe("batchStatements (PartiQL BatchExecuteStatement) against DynamoDB Local", () => {
  it("insert any number of items, each only where its key is free, and say which were applied", async () => {
    const db = createDocumentClient(config);
    const first = Array.from({ length: 30 }, (_, i) => item("P#insert", i, { tag: "first" }));
    expect(
      await batchStatements(
        db,
        first.map((it) => insertStatement(config.entitiesTable, it)),
      ),
    ).toEqual(first.map(() => true));
    // Every third key is taken: those inserts fail on their own, the others land.
    const second = Array.from({ length: 60 }, (_, i) =>
      item("P#insert", i * 3 - 60 < 0 ? i * 3 : 100 + i, { tag: "second" }),
    );
    const applied = await batchStatements(
      db,
      second.map((it) => insertStatement(config.entitiesTable, it)),
    );
    expect(applied).toEqual(second.map((it) => it.n >= 30));
    const kept = await db.send(
      new GetCommand({ TableName: config.entitiesTable, Key: { pk: "P#insert", sk: "ITEM#0003" } }),
    );
    expect(kept.Item?.tag).toBe("first");
  });

  it("keep nested values, nulls, sets and awkward attribute names exactly", async () => {
    const db = createDocumentClient(config);
    const expected = item("P#shapes", 1, {
      properties: { plan: "pro", list: [1, "two", null, { deep: true }], empty: {} },
      nothing: null,
      months: new Set(["2026-11", "2026-12"]),
      "it's": "quoted",
      "a.b": 2,
    });
    const odd = { ...expected, skipped: undefined };
    expect(await batchStatements(db, [insertStatement(config.entitiesTable, odd)])).toEqual([true]);
    const read = await db.send(new GetCommand({ TableName: config.entitiesTable, Key: { pk: odd.pk, sk: odd.sk } }));
    expect(read.Item).toEqual(expected);
  });

  it("report a failed UPDATE … WHERE condition as not applied", async () => {
    const db = createDocumentClient(config);
    await batchStatements(db, [insertStatement(config.entitiesTable, item("P#update", 1, { t: "2026-01-01" }))]);
    const update = (t: string) => ({
      Statement: `UPDATE "${config.entitiesTable}" SET t = ? WHERE pk = ? AND sk = ? AND t < ?`,
      Parameters: [t, "P#update", "ITEM#0001", t],
      key: { pk: "P#update", sk: "ITEM#0001" },
    });
    // Two statements on one item: sent in two requests, in order (one request may not name it twice).
    expect(await batchStatements(db, [update("2026-02-01"), update("2025-12-01"), update("2026-03-01")])).toEqual([
      true,
      false,
      true,
    ]);
    const read = await db.send(
      new GetCommand({ TableName: config.entitiesTable, Key: { pk: "P#update", sk: "ITEM#0001" } }),
    );
    expect(read.Item?.t).toBe("2026-03-01");
  });

  it("send statements refused for throughput again, and classify a refused statement as permanent", async () => {
    const db = createDocumentClient(config);
    let refusals = 2;
    db.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const output = out.output as { Responses?: { Error?: unknown }[] };
        if (refusals > 0 && output?.Responses) {
          refusals--;
          output.Responses = output.Responses.map(() => ({
            Error: { Code: "ProvisionedThroughputExceeded", Message: "slow down" },
          }));
        }
        return out;
      },
      { step: "initialize", name: "throttleStatements" },
    );
    // The first two answers claim throttling (after the writes really happened): the retry then
    // finds the keys taken, so these report false, and nothing is thrown.
    const outcome = await batchStatements(db, [insertStatement(config.entitiesTable, item("P#throttled", 1))]);
    expect(refusals).toBe(0);
    expect(outcome).toEqual([false]);
    const bad = batchStatements(createDocumentClient(config), [
      {
        Statement: `INSERT INTO "${config.entitiesTable}" VALUE {'pk': ?}`,
        Parameters: ["P#nosk"],
        key: { pk: "P#nosk", sk: "" },
      },
    ]);
    await expect(bad).rejects.toMatchObject({ code: "storage.rejected", retryable: false });
  });
});
