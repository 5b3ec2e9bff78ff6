import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { runConcurrentNormalizers } from "../../support/concurrent-normalizers";
import { provisionTestResources } from "../../support/local-resources";
import { exportWorkspace, generateCalls, oracle } from "../../support/model-oracle";
import { freshWorkspace, interleave, shuffledMessages } from "../../support/normalize-harness";

let config: Config;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  handler = createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
});

describe("order and duplicate independence", () => {
  it.each([11, 23])(
    "any delivery order with duplicates, 4 normalizers side by side, gives the oracle's state (seed %i)",
    async (seed) => {
      const calls = generateCalls(seed, 300);
      // Three orders, each in its own workspace, on one queue drained by 4 normalizers at once.
      const runs = [0, 1, 2].map((order) => {
        const ws = freshWorkspace();
        return { ws, messages: shuffledMessages(ws, calls, seed * 100 + order).messages };
      });
      await runConcurrentNormalizers(config, handler, interleave(runs.map((r) => r.messages)), {
        normalizers: 4,
        maxMessages: 5,
      });
      const states = [];
      for (const { ws } of runs) states.push({ ws, state: await exportWorkspace(config, ws) });
      const strip = (state: unknown, ws: string) => JSON.parse(JSON.stringify(state).replaceAll(ws, "WS"));
      const expected = strip(oracle("WS", calls), "WS");
      const uniqueEvents = new Set(
        calls.filter((c) => ["track", "page"].includes(c.type as string)).map((c) => c.messageId),
      ).size;
      for (const { ws, state } of states) {
        expect(state.events).toHaveLength(uniqueEvents);
        expect(strip(state, ws)).toEqual(expected);
      }
    },
  );
});
