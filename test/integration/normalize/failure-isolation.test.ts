import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * One call's permanent storage error never fails or rejects the other calls of its SQS batch
 * (issue 16), against the real DynamoDB Local. Some refusals are real (a key over DynamoDB's
 * limits); others are DynamoDB's own `ValidationException`, injected in the SDK client's middleware
 * for requests that carry a marked value, as DynamoDB answers a request it refuses on its merits.
 */

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

/** A DynamoDB error shaped like the SDK's ValidationException (a permanent, 400 refusal). */
function validationException(): Error {
  return Object.assign(new Error("One or more parameter values were invalid"), {
    name: "ValidationException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

/** A normalize handler over a document client that refuses (permanently) requests `refuse` picks. */
function handlerRefusing(refuse: (command: string, input: string) => boolean) {
  const db = createDocumentClient(config);
  db.middlewareStack.add(
    (next, context) => async (args) => {
      if (refuse(String(context.commandName), JSON.stringify(args.input))) throw validationException();
      return next(args);
    },
    { step: "initialize", name: "injectValidationException" },
  );
  return createNormalizeHandler({ store: new DynamoModelStore(db, config) });
}

const reader = () => new DynamoModelReader(createDocumentClient(config), config);
const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
  type: "track",
  event: "Report Exported",
  userId: "u1",
  messageId,
  timestamp: "2024-05-01T12:00:00.000Z",
  ...extra,
});

describe("ids over the id rules that reach the normalizer (older or redriven messages)", () => {
  it("a 1,500-character messageId in one record: that call is a reject, the other record's call is stored", async () => {
    const ws = freshWorkspace();
    const handler = createNormalizeHandler({ store: new DynamoModelStore(createDocumentClient(config), config) });
    const event = sqsEvent([rawMessage(ws, [track("m".repeat(1500))]), rawMessage(ws, [track("good-1")])]);
    const result = await handler(event);
    expect(result.batchItemFailures).toEqual([]);
    const r = reader();
    expect(await r.getEvent(ws, "good-1")).toMatchObject({ event_name: "Report Exported" });
    const rejects = await r.listRejects(ws);
    expect(rejects.map((x) => [x.code, x.field])).toEqual([["id.too_long", "messageId"]]);
    expect(rejects[0]?.message_id).toMatch(/^refused-id-[0-9a-f]{32}$/);
  });

  it("a 2,100-character userId among 100 valid tracks of one record: 100 events stored, one id.too_long reject", async () => {
    const ws = freshWorkspace();
    const handler = createNormalizeHandler({ store: new DynamoModelStore(createDocumentClient(config), config) });
    const calls = Array.from({ length: 100 }, (_, i) => track(`ok-${i}`));
    calls.splice(50, 0, track("long-user", { userId: "u".repeat(2100) }));
    const result = await handler(sqsEvent([rawMessage(ws, calls)]));
    expect(result.batchItemFailures).toEqual([]);
    const r = reader();
    const stored = await Promise.all(calls.map((c) => r.getEvent(ws, c.messageId as string)));
    expect(stored.filter(Boolean)).toHaveLength(100);
    expect((await r.listRejects(ws)).map((x) => [x.message_id, x.code, x.field])).toEqual([
      ["long-user", "id.too_long", "userId"],
    ]);
  });
});

describe("a permanent refusal of a shared write", () => {
  it("an event write DynamoDB refuses for one event: the other 24 of its chunk are stored, one reject", async () => {
    const ws = freshWorkspace();
    const handler = handlerRefusing(
      (command, input) =>
        ["BatchWriteItemCommand", "PutItemCommand", "BatchExecuteStatementCommand"].includes(command) &&
        input.includes("poison-1"),
    );
    const records = [0, 1, 2, 3, 4].map((r) =>
      rawMessage(
        ws,
        Array.from({ length: 5 }, (_, i) => track(r === 2 && i === 3 ? "poison-1" : `ev-${r}-${i}`)),
      ),
    );
    const result = await handler(sqsEvent(records));
    expect(result.batchItemFailures).toEqual([]);
    const r = reader();
    const ids = records.flatMap((m) => m.calls.map((c) => c.messageId as string));
    const stored = (await Promise.all(ids.map((id) => r.getEvent(ws, id)))).flatMap((e) => (e ? [e.event_id] : []));
    expect(stored.sort()).toEqual(ids.filter((id) => id !== "poison-1").sort());
    expect((await r.listRejects(ws)).map((x) => [x.message_id, x.code])).toEqual([["poison-1", "storage.rejected"]]);
  });

  it("a profile read DynamoDB refuses for one profile: every other profile of the batch is written", async () => {
    const ws = freshWorkspace();
    const handler = handlerRefusing(
      (command, input) => command === "BatchGetItemCommand" && input.includes("#U#poison-user"),
    );
    const identify = (userId: string) => ({
      type: "identify",
      userId,
      messageId: `id-${userId}`,
      timestamp: "2024-05-01T12:00:00.000Z",
      traits: { first_name: userId },
    });
    const result = await handler(
      sqsEvent([rawMessage(ws, [identify("a"), identify("poison-user")]), rawMessage(ws, [identify("b")])]),
    );
    expect(result.batchItemFailures).toEqual([]);
    const r = reader();
    expect(await r.getUser(ws, "a")).toMatchObject({ first_name: "a" });
    expect(await r.getUser(ws, "b")).toMatchObject({ first_name: "b" });
    expect((await r.listRejects(ws)).map((x) => [x.message_id, x.code])).toEqual([
      ["id-poison-user", "storage.rejected"],
    ]);
  });
});

describe("rejects that cannot be written", () => {
  it("a reject whose key DynamoDB refuses (a 1,100-character trait name) does not fail the batch's other records", async () => {
    const ws = freshWorkspace();
    const handler = createNormalizeHandler({ store: new DynamoModelStore(createDocumentClient(config), config) });
    const identify = (userId: string, traits: Record<string, unknown>) => ({
      type: "identify",
      userId,
      messageId: `id-${userId}`,
      timestamp: "2024-05-01T12:00:00.000Z",
      traits,
    });
    const longName = "k".repeat(1100);
    const result = await handler(
      sqsEvent([
        rawMessage(ws, [identify("a", { [longName]: { nested: true }, name: "A" })]),
        rawMessage(ws, [identify("b", { address: { city: "X" }, name: "B" })]),
      ]),
    );
    expect(result.batchItemFailures).toEqual([]);
    const rejects = await reader().listRejects(ws);
    expect(rejects.map((x) => [x.message_id, x.code, x.field]).sort()).toEqual([
      ["id-a", "trait.nested_object", `traits.${longName}`],
      ["id-b", "trait.nested_object", "traits.address"],
    ]);
  });

  it("a reject refused in full is stored reduced; one refused even so sends back only its own record", async () => {
    const ws = freshWorkspace();
    const handler = handlerRefusing(
      (command, input) =>
        command === "UpdateItemCommand" &&
        input.includes("#REJECTS") &&
        (input.includes("traits.refused_full") || input.includes("never-writable")),
    );
    const identify = (messageId: string, traits: Record<string, unknown>) => ({
      type: "identify",
      userId: messageId,
      messageId,
      timestamp: "2024-05-01T12:00:00.000Z",
      traits,
    });
    const event = sqsEvent([
      rawMessage(ws, [identify("reduced", { refused_full: { a: 1 } })]),
      rawMessage(ws, [identify("never-writable", { x: { a: 1 } })]),
      rawMessage(ws, [identify("fine", { y: { a: 1 } })]),
    ]);
    const result = await handler(event);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]?.messageId }]);
    const rejects = await reader().listRejects(ws);
    expect(rejects.map((x) => [x.message_id, x.code, x.field]).sort()).toEqual([
      ["fine", "trait.nested_object", "traits.y"],
      ["reduced", "trait.nested_object", "call"],
    ]);
  });
});
