import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";
import { throttleStatements } from "../../support/statement-throttling";

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

/** A DynamoDB error shaped like the SDK's throttling exception. */
function throttling(): Error {
  return Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

/**
 * A document client whose requests fail with throttling while `shouldFail` says so. The fault is
 * injected in the client's middleware, in front of the real DynamoDB Local.
 */
function faultyClient(shouldFail: (command: string, input: Record<string, unknown>) => boolean) {
  const db = createDocumentClient({ ...config, dynamoEndpoint: config.dynamoEndpoint });
  db.middlewareStack.add(
    (next, context) => async (args) => {
      if (shouldFail(String(context.commandName), args.input as Record<string, unknown>)) throw throttling();
      return next(args);
    },
    { step: "initialize", name: "injectThrottling" },
  );
  return db;
}

async function storedEventIds(ws: string): Promise<string[]> {
  const db = createDocumentClient(config);
  const page = await db.send(
    new ScanCommand({
      TableName: config.eventsTable,
      FilterExpression: "workspace_id = :ws",
      ExpressionAttributeValues: { ":ws": ws },
    }),
  );
  return (page.Items ?? []).map((i) => i.event_id as string).sort();
}

describe("transient DynamoDB failures", () => {
  it("returns exactly the throttled messages as batch item failures, and a rerun stores them once", async () => {
    const ws = freshWorkspace();
    const healthy = createDocumentClient(config);
    let throttle = true;
    // Throttle every write that touches user "u-hot"'s profile (an UpdateItem, or its statement
    // in a gathered BatchExecuteStatement).
    const db = faultyClient(
      (command, input) => throttle && command === "UpdateItemCommand" && JSON.stringify(input.Key).includes("#U#u-hot"),
    );
    throttleStatements(db, (s) => throttle && JSON.stringify(s.Parameters).includes("#U#u-hot"));
    const handler = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
    const event = sqsEvent([
      rawMessage(ws, [
        {
          type: "identify",
          messageId: "i-ok",
          userId: "u-ok",
          timestamp: "2024-05-01T00:00:00Z",
          traits: { first_name: "Ok" },
        },
      ]),
      rawMessage(ws, [
        {
          type: "identify",
          messageId: "i-hot",
          userId: "u-hot",
          timestamp: "2024-05-01T00:00:00Z",
          traits: { first_name: "Hot" },
        },
        { type: "track", messageId: "t-hot", userId: "u-hot", event: "Clicked", timestamp: "2024-05-01T00:00:01Z" },
      ]),
      rawMessage(ws, [
        { type: "track", messageId: "t-ok", userId: "u-ok", event: "Clicked", timestamp: "2024-05-01T00:00:02Z" },
      ]),
    ]);
    const first = await handler(event);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]?.messageId }]);

    const reader = new DynamoModelReader(healthy, config);
    expect((await reader.getUser(ws, "u-ok"))?.first_name).toBe("Ok");
    expect((await reader.getUser(ws, "u-hot"))?.first_name ?? null).toBeNull();

    // SQS delivers the failed message again; the throttling has passed.
    throttle = false;
    const failedRecord = event.Records.filter((r) =>
      first.batchItemFailures.some((f) => f.itemIdentifier === r.messageId),
    );
    const second = await handler({ Records: failedRecord });
    expect(second.batchItemFailures).toEqual([]);
    expect((await reader.getUser(ws, "u-hot"))?.first_name).toBe("Hot");
    expect(await storedEventIds(ws)).toEqual(["t-hot", "t-ok"]);
    expect((await reader.getUser(ws, "u-hot"))?.last_seen_at).toBe("2024-05-01T00:00:01.000Z");
  });

  it("sends back every message whose events were in a throttled write, and stores each event once on redelivery", async () => {
    const ws = freshWorkspace();
    let failures = 0;
    // Event writes: PartiQL INSERTs in BatchExecuteStatement (conditional PutItem for a taken id) on the Events table.
    const eventWrite = (command: string, input: Record<string, unknown>) =>
      (command === "PutItemCommand" && input.TableName === config.eventsTable) ||
      (command === "BatchExecuteStatementCommand" &&
        ((input.Statements as { Statement?: string }[] | undefined) ?? []).some((s) =>
          s.Statement?.includes(`"${config.eventsTable}"`),
        ));
    const db = faultyClient((command, input) => eventWrite(command, input) && failures++ < 100);
    const handler = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
    const event = sqsEvent([
      rawMessage(ws, [
        {
          type: "identify",
          messageId: "i1",
          userId: "u1",
          timestamp: "2024-05-01T00:00:00Z",
          traits: { first_name: "A" },
        },
      ]),
      rawMessage(ws, [{ type: "track", messageId: "t1", userId: "u1", event: "E", timestamp: "2024-05-01T00:00:01Z" }]),
      rawMessage(ws, [
        { type: "track", messageId: "t2", userId: "u1", event: "E", timestamp: "2024-05-01T00:00:02Z" },
        { type: "track", messageId: "t1", userId: "u1", event: "E", timestamp: "2024-05-01T00:00:01Z" },
      ]),
    ]);
    const first = await handler(event);
    expect(first.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [event.Records[1]?.messageId, event.Records[2]?.messageId].sort(),
    );
    expect(await storedEventIds(ws)).toEqual([]);

    const healthyHandler = createNormalizeHandler({
      store: new DynamoModelStore(createDocumentClient(config), config),
    });
    const retried = event.Records.slice(1);
    expect((await healthyHandler({ Records: retried })).batchItemFailures).toEqual([]);
    // A second redelivery (SQS is at-least-once) changes nothing.
    expect((await healthyHandler({ Records: retried })).batchItemFailures).toEqual([]);
    expect(await storedEventIds(ws)).toEqual(["t1", "t2"]);
  });
});
