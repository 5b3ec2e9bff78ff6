import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { exportWorkspace, generateCalls, oracle } from "../../support/model-oracle";
import { deliverShuffled, freshWorkspace } from "../../support/normalize-harness";

let config: Config;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  handler = createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
});

describe("order and duplicate independence", () => {
  it.each([11, 23])("any delivery order with duplicates gives the oracle's state (seed %i)", async (seed) => {
    const calls = generateCalls(seed, 300);
    const states = [];
    for (let order = 0; order < 3; order++) {
      const ws = freshWorkspace();
      await deliverShuffled(handler, ws, calls, seed * 100 + order);
      states.push({ ws, state: await exportWorkspace(config, ws) });
    }
    const strip = (state: unknown, ws: string) => JSON.parse(JSON.stringify(state).replaceAll(ws, "WS"));
    const expected = strip(oracle("WS", calls), "WS");
    const uniqueEvents = new Set(
      calls.filter((c) => ["track", "page"].includes(c.type as string)).map((c) => c.messageId),
    ).size;
    for (const { ws, state } of states) {
      expect(state.events).toHaveLength(uniqueEvents);
      expect(strip(state, ws)).toEqual(expected);
    }
  });
});
