import { PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import {
  batchGet,
  batchWrite,
  conditionFailed,
  ifCondition,
  queryAll,
  queryPage,
} from "../../../packages/aws/src/dynamo/table-ops";
import { DependencyError, IngestError } from "../../../packages/core/src/errors";
import { provisionTestResources } from "../../support/local-resources";
import { leaveUnprocessed } from "../../support/unprocessed-items";

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

const item = (pk: string, i: number) => ({ pk, sk: `ITEM#${String(i).padStart(4, "0")}`, n: i });

describe("batchWrite and batchGet against DynamoDB Local", () => {
  it("write and read back any number of items, past the 25 and 100 a request", async () => {
    const db = createDocumentClient(config);
    const items = Array.from({ length: 260 }, (_, i) => item("P#many", i));
    await batchWrite(
      db,
      config.entitiesTable,
      items.map((Item) => ({ PutRequest: { Item } })),
    );
    const keys = items.map(({ pk, sk }) => ({ pk, sk }));
    // A key named twice is read once (BatchGetItem refuses duplicates).
    const read = await batchGet(db, config.entitiesTable, [...keys, keys[0] as { pk: string; sk: string }], {
      consistent: true,
    });
    expect(read.map((r) => r.n).sort((a, b) => Number(a) - Number(b))).toEqual(items.map((i) => i.n));
  });

  it("send what DynamoDB leaves unprocessed again until it is done", async () => {
    const db = createDocumentClient(config);
    const faults = leaveUnprocessed(db, { share: 0.5, times: 3 });
    const items = Array.from({ length: 60 }, (_, i) => item("P#unprocessed", i));
    await batchWrite(
      db,
      config.entitiesTable,
      items.map((Item) => ({ PutRequest: { Item } })),
    );
    const read = await batchGet(
      db,
      config.entitiesTable,
      items.map(({ pk, sk }) => ({ pk, sk })),
      { consistent: true },
    );
    expect(read).toHaveLength(60);
    // Every injected shortfall was made up for, in both directions.
    expect(faults.writesLeft).toBeGreaterThan(0);
    expect(faults.readsLeft).toBeGreaterThan(0);
  });

  it("give up with a retryable error when items stay unprocessed", async () => {
    const db = createDocumentClient(config);
    leaveUnprocessed(db, { share: 1, times: 1000 });
    const write = batchWrite(db, config.entitiesTable, [{ PutRequest: { Item: item("P#stuck", 1) } }]);
    await expect(write).rejects.toBeInstanceOf(DependencyError);
    await expect(write).rejects.toMatchObject({ code: "storage.unavailable", retryable: true });
    const read = batchGet(db, config.entitiesTable, [{ pk: "P#stuck", sk: "x" }]);
    await expect(read).rejects.toMatchObject({ code: "storage.unavailable", retryable: true });
  });

  it("classify a request DynamoDB refuses as permanent", async () => {
    const db = createDocumentClient(config);
    // No sort key: a validation error, which no retry can fix.
    const write = batchWrite(db, config.entitiesTable, [{ PutRequest: { Item: { pk: "P#bad" } } }]);
    await expect(write).rejects.toBeInstanceOf(IngestError);
    await expect(write).rejects.toMatchObject({ code: "storage.rejected", retryable: false });
  });
});

describe("queries page by page", () => {
  it("queryAll follows every page; queryPage stops after one", async () => {
    const db = createDocumentClient(config);
    const items = Array.from({ length: 30 }, (_, i) => item("P#pages", i));
    await batchWrite(
      db,
      config.entitiesTable,
      items.map((Item) => ({ PutRequest: { Item } })),
    );
    const input = {
      TableName: config.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": "P#pages" },
      Limit: 7,
    };
    expect((await queryAll(db, input)).map((i) => i.n)).toEqual(items.map((i) => i.n));
    const first = await queryPage(db, input);
    expect(first.items.map((i) => i.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const second = await queryPage(db, { ...input, ExclusiveStartKey: first.next });
    expect(second.items.map((i) => i.n)).toEqual([7, 8, 9, 10, 11, 12, 13]);
  });
});

describe("a failed condition", () => {
  it("is told apart from other failures, for single requests and transactions", async () => {
    const db = createDocumentClient(config);
    const put = () =>
      db.send(
        new PutCommand({
          TableName: config.entitiesTable,
          Item: { pk: "P#cond", sk: "ONE" },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    expect(await ifCondition("test write", put)).toBe(true);
    expect(await ifCondition("test write", put)).toBe(false);

    const transaction = () =>
      db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: config.entitiesTable, Item: { pk: "P#cond", sk: "TWO" } } },
            {
              Put: {
                TableName: config.entitiesTable,
                Item: { pk: "P#cond", sk: "ONE" },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ],
        }),
      );
    const error = await transaction().catch((e: unknown) => e);
    expect([conditionFailed(error), conditionFailed(error, 0), conditionFailed(error, 1)]).toEqual([true, false, true]);
    // A refusal on the request's merits is not a failed condition: ifCondition throws it, classified.
    const invalid = ifCondition("test write", () =>
      db.send(new PutCommand({ TableName: config.entitiesTable, Item: { pk: "P#cond" } })),
    );
    await expect(invalid).rejects.toMatchObject({ code: "storage.rejected" });
  });
});
