import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { runConcurrentNormalizers } from "../../support/concurrent-normalizers";
import { provisionTestResources } from "../../support/local-resources";
import { canonicalExport, exportWorkspace, generateCalls, ids, oracle } from "../../support/model-oracle";
import { freshWorkspace, interleave, shuffledMessages } from "../../support/normalize-harness";
import { testSeed } from "../../support/seeded-random";

/**
 * Spec 3.1 and 3.2 at scale: the same 5,000 calls, delivered through the real normalize handler in
 * SQS batches by 4 normalizers side by side on the real queue (as Lambda runs them), in three
 * shuffled orders with 20% of them delivered twice, leave byte-identical
 * exported state (every profile, membership and event of the workspace, canonical JSON, the
 * workspace id replaced), equal to the oracle's.
 */

const seed = testSeed(9001);
const callCount = 5000;
const orders = 3;

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

describe("order and duplicate independence at scale", () => {
  it(`${callCount} calls in ${orders} shuffled orders with 20% duplicates give byte-identical state`, async () => {
    const calls = generateCalls(seed, callCount, { users: ids("u", 30), accounts: ids("a", 10) });
    const db = createDocumentClient(config);
    const handler = createNormalizeHandler({
      store: new DynamoModelStore(db, config),
      now: () => "2024-06-02T00:00:00.000Z",
    });
    const started = Date.now();
    // The orders go to separate workspaces (they share nothing but the tables and the queue),
    // interleaved on one queue that 4 normalizers drain together.
    const runs = Array.from({ length: orders }, (_, order) => {
      const ws = freshWorkspace();
      const shuffled = shuffledMessages(ws, calls, seed * 10 + order, 0.2);
      return { ws, delivery: { ...shuffled, messages: shuffled.messages.length }, messages: shuffled.messages };
    });
    const run = await runConcurrentNormalizers(config, handler, interleave(runs.map((r) => r.messages)), {
      normalizers: 4,
      maxMessages: 10,
      // Generous: DynamoDB Local on a shared, loaded machine took ~190 s for this run.
      timeoutMs: 540_000,
    });
    const deliveredMs = Date.now() - started;
    const exports: string[] = [];
    for (const { ws } of runs) exports.push(canonicalExport(await exportWorkspace(config, ws), ws));
    db.destroy();
    const expected = canonicalExport(oracle("WS", calls), "WS");
    const state = JSON.parse(exports[0] as string);
    const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

    console.log(
      [
        `order independence (seed ${seed}): ${callCount} calls; ${state.accounts.length} accounts, ${state.users.length} users, ${state.memberships.length} memberships, ${state.events.length} events`,
        ...runs.map(
          ({ delivery }, i) =>
            `  order ${i + 1}: delivered ${delivery.deliveries} (${delivery.duplicates} duplicates) in ${delivery.messages} messages; export ${exports[i]?.length} bytes sha256 ${sha(exports[i] as string)}`,
        ),
        `  4 normalizers: ${run.batches} batches, ${run.failed} messages retried; oracle: sha256 ${sha(expected)}; delivery took ${deliveredMs} ms`,
      ].join("\n"),
    );

    const uniqueEvents = new Set(
      calls.filter((c) => ["track", "page"].includes(c.type as string)).map((c) => c.messageId),
    ).size;
    expect(state.events).toHaveLength(uniqueEvents);
    for (const [i, text] of exports.entries()) expect(text, `order ${i + 1}`).toBe(exports[0]);
    expect(JSON.parse(exports[0] as string)).toEqual(JSON.parse(expected));
    expect(exports[0]).toBe(expected);
  }, 600_000);
});
