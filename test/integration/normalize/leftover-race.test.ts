import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

let config: Config;
beforeAll(async () => {
  ({ config } = await provisionTestResources());
});
const T = (d: string) => `2024-${d}T10:00:00.000Z`;
const RECV = "2024-08-01T00:00:00.000Z";
const track = (id: string, account: string, ts: string) => ({
  type: "track",
  messageId: id,
  userId: "u1",
  event: "E",
  timestamp: ts,
  properties: { account_id: account },
});

/** The write that takes an events-only profile out of view: its delete before, its `leftover` mark now. */
const profileRemoval = (command: string, input: { UpdateExpression?: string }) =>
  command === "DeleteItemCommand" || (command === "UpdateItemCommand" && /leftover/.test(input.UpdateExpression ?? ""));

describe("an events-only profile that lost its events, while a concurrent normalizer stores an event of it", () => {
  it("keeps the account (and its last_seen_at) when an event in a month it already has lands before the delete", async () => {
    const ws = freshWorkspace();
    const plain = createNormalizeHandler({ store: new DynamoModelStore(createDocumentClient(config), config) });
    // acc-x exists only from events: one event in June.
    expect(
      (await plain(sqsEvent([rawMessage(ws, [track("m1", "acc-x", T("06-05"))], "product", RECV)]))).batchItemFailures,
    ).toEqual([]);
    // A second normalizer stores a newer acc-x event (June, a month acc-x has: no Entities write) just
    // before the first normalizer's profile removal is sent.
    const racing = createDocumentClient(config);
    let raced = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TableName?: string; UpdateExpression?: string };
        if (!raced && input.TableName === config.entitiesTable && profileRemoval(String(context.commandName), input)) {
          raced = true;
          const other = await plain(sqsEvent([rawMessage(ws, [track("m2", "acc-x", T("06-07"))], "product", RECV)]));
          expect(other.batchItemFailures).toEqual([]);
        }
        return next(args);
      },
      { step: "initialize", name: "race" },
    );
    const conflicted = createNormalizeHandler({ store: new DynamoModelStore(racing, config) });
    // m1 again, a different call with a later time, for acc-y: acc-x loses its only event.
    const out = await conflicted(sqsEvent([rawMessage(ws, [track("m1", "acc-y", T("06-06"))], "product", RECV)]));
    expect(out.batchItemFailures).toEqual([]);
    expect(raced).toBe(true);
    const reader = new DynamoModelReader(createDocumentClient(config), config);
    expect((await reader.getEvent(ws, "m2"))?.account_id).toBe("acc-x");
    const acc = await reader.getAccount(ws, "acc-x");
    expect(acc?.last_seen_at).toBe(T("06-07"));
  });
});
