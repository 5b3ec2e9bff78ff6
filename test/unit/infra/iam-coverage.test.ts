import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SdkCall } from "../../../packages/aws/src/sdk-call-audit";
import { auditSdkCalls } from "../../../packages/aws/src/sdk-call-audit";
import { iamCoverage, needsOf, readSdkCalls } from "../../support/iam-coverage";
import type { InfraFunction, InfraModel } from "../../support/infra-model";

/** The IAM rules the coverage check applies: AWS authorises some calls by other actions than their names. */

const call = (overrides: Partial<SdkCall>): SdkCall => ({
  function: "api",
  service: "dynamodb",
  operation: "GetItem",
  targets: ["t1-Entities"],
  ...overrides,
});

const logFile = join(tmpdir(), `iam-coverage-unit-${process.pid}.jsonl`);

/** A middleware stack holding what `auditSdkCalls` adds, run on one command. */
function recordingStack() {
  type Handler = (args: { input: unknown }) => Promise<unknown>;
  const added: ((next: Handler, context: { commandName?: string }) => Handler)[] = [];
  return {
    add: (middleware: (typeof added)[number]) => void added.push(middleware),
    run: (commandName: string, input: unknown) =>
      added.reduceRight<Handler>(
        (next, m) => m(next, { commandName }),
        async () => ({}),
      )({ input }),
  };
}

function infraGranting(permissions: InfraFunction["permissions"]): InfraModel {
  const fn = { name: "api", permissions } as InfraFunction;
  return {
    stage: "s",
    app: "a",
    functions: { api: fn },
    subscriptions: [],
    schedules: [],
    httpApi: { defaultRouteSettings: {}, routes: [] },
  };
}

describe("IAM coverage", () => {
  it("needs each transaction item's own action, condition checks included, on that item's table", () => {
    const needs = needsOf(
      call({
        operation: "TransactWriteItems",
        targets: ["t1-Entities", "t1-Events"],
        items: ["ConditionCheck:t1-Entities", "Put:t1-Events", "Update:t1-Entities", "Delete:t1-Entities"],
      }),
    );
    expect(needs).toEqual([
      { action: "dynamodb:ConditionCheckItem", resource: "{{Entities.arn}}" },
      { action: "dynamodb:PutItem", resource: "{{Events.arn}}" },
      { action: "dynamodb:UpdateItem", resource: "{{Entities.arn}}" },
      { action: "dynamodb:DeleteItem", resource: "{{Entities.arn}}" },
    ]);
  });

  it("needs each PartiQL statement's own action on its table, which PutItem/UpdateItem grants do not cover", () => {
    const statements = call({
      operation: "BatchExecuteStatement",
      targets: ["t1-Events"],
      items: ["PartiQLInsert:t1-Events", "PartiQLUpdate:t1-Events"],
    });
    expect(needsOf(statements)).toEqual([
      { action: "dynamodb:PartiQLInsert", resource: "{{Events.arn}}" },
      { action: "dynamodb:PartiQLUpdate", resource: "{{Events.arn}}" },
    ]);
    const itemActions = infraGranting([
      { actions: ["dynamodb:PutItem", "dynamodb:UpdateItem"], resources: ["{{Events.arn}}"] },
    ]);
    expect(iamCoverage([statements], itemActions).missing.map((m) => m.action)).toEqual([
      "dynamodb:PartiQLInsert",
      "dynamodb:PartiQLUpdate",
    ]);
  });

  it("records a PartiQL statement's verb and table, never its values", () => {
    const client = { middlewareStack: recordingStack() };
    process.env.AWS_CALL_LOG = logFile;
    try {
      auditSdkCalls(client, "normalize", "dynamodb");
    } finally {
      delete process.env.AWS_CALL_LOG;
    }
    return client.middlewareStack
      .run("BatchExecuteStatementCommand", {
        Statements: [
          { Statement: `INSERT INTO "t1-Events" VALUE {'pk': ?}`, Parameters: ["secret-1"] },
          { Statement: `UPDATE "t1-Entities" SET a = ? WHERE pk = ? AND sk = ?`, Parameters: ["secret-2"] },
        ],
      })
      .then(() => {
        const [recorded] = readSdkCalls(logFile);
        expect(recorded).toEqual({
          function: "normalize",
          service: "dynamodb",
          operation: "BatchExecuteStatement",
          targets: ["t1-Entities", "t1-Events"],
          items: ["PartiQLInsert:t1-Events", "PartiQLUpdate:t1-Entities"],
        });
        expect(readFileSync(logFile, "utf8")).not.toContain("secret");
        rmSync(logFile, { force: true });
      });
  });

  it("authorises SQS batch calls by their single-message actions", () => {
    const queue = "http://sqs.us-east-1.localhost:1/000000000000/t1-RawQueue";
    expect(needsOf(call({ service: "sqs", operation: "SendMessageBatch", targets: [queue] }))).toEqual([
      { action: "sqs:SendMessage", resource: "{{RawQueue.arn}}" },
    ]);
    expect(needsOf(call({ service: "sqs", operation: "DeleteMessageBatch", targets: [queue] }))[0]?.action).toBe(
      "sqs:DeleteMessage",
    );
  });

  it("needs the index resource for a query on an index, which a table-only grant does not cover", () => {
    const query = call({ operation: "Query", indexName: "byUser" });
    expect(needsOf(query)).toEqual([{ action: "dynamodb:Query", resource: "{{Entities.arn}}/index/byUser" }]);
    const tableOnly = infraGranting([{ actions: ["dynamodb:Query"], resources: ["{{Entities.arn}}"] }]);
    expect(iamCoverage([query], tableOnly).missing.map((m) => m.resource)).toEqual(["{{Entities.arn}}/index/byUser"]);
    const withIndexes = infraGranting([
      { actions: ["dynamodb:Query"], resources: ["{{Entities.arn}}", "{{Entities.arn}}/index/*"] },
    ]);
    expect(iamCoverage([query], withIndexes).missing).toEqual([]);
  });

  it("reports an action granted on another table, or not at all, as missing", () => {
    const infra = infraGranting([{ actions: ["dynamodb:GetItem"], resources: ["{{Events.arn}}"] }]);
    const missing = iamCoverage([call({}), call({ operation: "PutItem", targets: ["t1-Events"] })], infra).missing;
    expect(missing.map((m) => `${m.action} ${m.resource}`)).toEqual([
      "dynamodb:GetItem {{Entities.arn}}",
      "dynamodb:PutItem {{Events.arn}}",
    ]);
  });
});
