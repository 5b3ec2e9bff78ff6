import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * The three ways the no-loss test found for a transient failure to leave an event on the wrong
 * account for good, each made to happen once, deterministically: every step must be redone (or
 * not yet done) when SQS delivers the message again.
 */

let config: Config;
let reader: DynamoModelReader;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  reader = new DynamoModelReader(createDocumentClient(config), config);
});

type Request = { command: string; input: Record<string, unknown> };

/** A normalize handler whose DynamoDB requests fail (throttled) while `fail` says so. */
function handlerFailing(fail: (request: Request) => boolean) {
  const db = createDocumentClient(config);
  db.middlewareStack.add(
    (next, context) => async (args) => {
      if (fail({ command: String(context.commandName), input: args.input as Record<string, unknown> })) {
        throw Object.assign(new Error("Rate exceeded (injected)"), {
          name: "ThrottlingException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: "initialize", name: "injectFault" },
  );
  return createNormalizeHandler({ store: new DynamoModelStore(db, config) });
}

const healthy = () => handlerFailing(() => false);
const text = (request: Request) => JSON.stringify(request.input);

const group = (ws: string) =>
  rawMessage(ws, [{ type: "group", messageId: "g1", userId: "u1", groupId: "a1", timestamp: "2024-05-01T00:00:00Z" }]);
const track = (ws: string) =>
  rawMessage(ws, [
    { type: "track", messageId: "t1", userId: "u1", event: "Clicked", timestamp: "2024-05-05T00:00:00Z" },
  ]);

describe("a transient failure never leaves an event on the wrong account", () => {
  it("the membership was written but re-attributing the user's events failed: the redelivery redoes it", async () => {
    const ws = freshWorkspace();
    expect((await healthy()(sqsEvent([track(ws)]))).batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "t1")).toMatchObject({ account_id: null, account_resolution: "none" });

    // The user's events are read for re-attribution through the Events byUser index: fail that.
    const event = sqsEvent([group(ws)]);
    const first = await handlerFailing(
      (r) => r.command === "QueryCommand" && text(r).includes('"byUser"') && text(r).includes("usk"),
    )(event);
    expect(first.batchItemFailures).toHaveLength(1);
    expect(await reader.getEvent(ws, "t1")).toMatchObject({ account_id: null });

    expect((await healthy()(event)).batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "t1")).toMatchObject({
      account_id: "a1",
      account_resolution: "user_single_account",
    });
    expect((await reader.getAccount(ws, "a1"))?.last_seen_at).toBe("2024-05-05T00:00:00.000Z");
  });

  it("the user's memberships could not be read: the event is not stored without them", async () => {
    const ws = freshWorkspace();
    expect((await healthy()(sqsEvent([group(ws)]))).batchItemFailures).toEqual([]);

    // Memberships of a user are read through the Entities byUser index.
    const event = sqsEvent([track(ws)]);
    const first = await handlerFailing((r) => r.command === "QueryCommand" && text(r).includes("gsi1pk"))(event);
    expect(first.batchItemFailures).toHaveLength(1);
    expect(await reader.getEvent(ws, "t1")).toBeUndefined();

    expect((await healthy()(event)).batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "t1")).toMatchObject({
      account_id: "a1",
      account_resolution: "user_single_account",
    });
  });

  it("the event's month could not be recorded on the user: the event waits, so a membership arriving meanwhile still reaches it", async () => {
    const ws = freshWorkspace();
    // last_seen_at and event_months are written with one UpdateItem per profile: fail the user's.
    const event = sqsEvent([track(ws)]);
    const first = await handlerFailing(
      (r) => /^Update(Item)?Command$/.test(r.command) && text(r).includes("event_months") && text(r).includes("#U#u1"),
    )(event);
    expect(first.batchItemFailures).toHaveLength(1);

    expect((await healthy()(sqsEvent([group(ws)]))).batchItemFailures).toEqual([]);
    expect((await healthy()(event)).batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "t1")).toMatchObject({
      account_id: "a1",
      account_resolution: "user_single_account",
    });
    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-05-05T00:00:00.000Z");
  });
});

describe("a transient failure never leaves anonymous events unattributed", () => {
  it("the alias was saved but moving the anonymous events failed: the redelivery redoes it", async () => {
    const ws = freshWorkspace();
    const anonymous = rawMessage(ws, [
      { type: "page", messageId: "p1", anonymousId: "device-1", name: "Pricing", timestamp: "2024-05-01T00:00:00Z" },
    ]);
    expect((await healthy()(sqsEvent([anonymous]))).batchItemFailures).toEqual([]);
    expect((await reader.getEvent(ws, "p1"))?.user_id).toBeNull();

    const identify = sqsEvent([
      rawMessage(ws, [
        { type: "identify", messageId: "i1", userId: "u1", anonymousId: "device-1", timestamp: "2024-05-02T00:00:00Z" },
      ]),
    ]);
    // The anonymous events are found through the Events byUser index: fail that read once.
    const first = await handlerFailing(
      (r) => r.command === "QueryCommand" && text(r).includes('"byUser"') && text(r).includes("#N#device-1"),
    )(identify);
    expect(first.batchItemFailures).toHaveLength(1);
    expect((await reader.getEvent(ws, "p1"))?.user_id).toBeNull();

    expect((await healthy()(identify)).batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "p1")).toMatchObject({ user_id: "u1", anonymous_id: "device-1" });
    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-05-01T00:00:00.000Z");
  });
});

describe("two normalizers at once never leave an event without its account", () => {
  it("a membership stored between this batch's membership read and its event write is seen", async () => {
    const ws = freshWorkspace();
    const db = createDocumentClient(config);
    const other = healthy();
    const store = new DynamoModelStore(db, config);
    let interleaved = false;
    // This normalizer reads the user's memberships (none yet); before it writes the event, another
    // normalizer stores the user's group call completely (and finds no event to re-attribute).
    const racing = Object.create(store) as DynamoModelStore;
    racing.userMemberships = async (workspaceId: string, userId: string) => {
      const found = await store.userMemberships(workspaceId, userId);
      if (!interleaved) {
        interleaved = true;
        expect((await other(sqsEvent([group(ws)]))).batchItemFailures).toEqual([]);
      }
      return found;
    };
    const result = await createNormalizeHandler({ store: racing })(sqsEvent([track(ws)]));
    expect(interleaved).toBe(true);
    expect(result.batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "t1")).toMatchObject({
      account_id: "a1",
      account_resolution: "user_single_account",
    });
    expect((await reader.getAccount(ws, "a1"))?.last_seen_at).toBe("2024-05-05T00:00:00.000Z");
  });
});
