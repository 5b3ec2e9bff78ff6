import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { normalizeSubscription } from "../../../packages/resources/src/definitions";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace } from "../../support/normalize-harness";
import { throttleStatements } from "../../support/statement-throttling";

/**
 * Review probe of issue 21's second round: a full batch's profile writes, gathered, while DynamoDB
 * keeps throttling a few hot items (one in each request of 25). The hot ones fail alone (retryable);
 * the others must land in about the time of one request's retries, not of every request's one after
 * another (40 requests × about 1.2 s of backoff: past the normalize function's 30 s, when the whole
 * batch would come back instead of the hot records).
 */

let config: Config;
beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

describe("a full batch of gathered profile writes with hot items throttled", () => {
  it("fails the hot writes alone and lands the rest without waiting out each request's retries in turn", async () => {
    const ws = freshWorkspace();
    const db = createDocumentClient(config);
    throttleStatements(db, (s) => /#U#hot-/.test(JSON.stringify(s.Parameters)));
    const store = new DynamoModelStore(db, config);
    const size = normalizeSubscription.batchSize;
    const ids = Array.from({ length: size }, (_, i) => (i % 25 === 3 ? `hot-${i}` : `u-${i}`));
    const fields = { name: { v: "ok", t: "2024-05-01T00:00:00.000Z", m: "m" } };
    const started = Date.now();
    const outcomes = await Promise.allSettled(
      ids.map((id) => store.saveProfile({ workspaceId: ws, kind: "user", id }, fields, 0)),
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`${size} gathered profile writes, ${size / 25} hot: ${seconds.toFixed(1)} s`);
    outcomes.forEach((o, i) => {
      if (ids[i]?.startsWith("hot-")) expect(o).toMatchObject({ status: "rejected", reason: { retryable: true } });
      else expect(o).toEqual({ status: "fulfilled", value: true });
    });
    const read = async (id: string) =>
      (await db.send(new GetCommand({ TableName: config.entitiesTable, Key: keys.user(ws, id), ConsistentRead: true })))
        .Item;
    expect((await read("u-0"))?.version).toBe(1);
    expect((await read(`u-${size - 1}`))?.version).toBe(1);
    expect(await read("hot-3")).toBeUndefined();
    expect(seconds).toBeLessThan(15);
  }, 180_000);
});
