import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import {
  adversarialDeliveries,
  adversarialOracle,
  type Delivery,
  generateAdversarialCalls,
} from "../../support/adversarial-calls";
import { runConcurrentNormalizers } from "../../support/concurrent-normalizers";
import { provisionTestResources } from "../../support/local-resources";
import { canonicalExport, diffExports, exportWorkspace } from "../../support/model-oracle";
import { freshWorkspace, rawMessage } from "../../support/normalize-harness";
import { prng, testSeed } from "../../support/seeded-random";

/**
 * The order-independence property under adversarial input (spec 3.1, 3.2, 3.5a; issue 17): calls
 * with deletes, aliases (chains and re-points), nulls, missing, zoneless and far-future timestamps
 * and messageIds shared by different calls, delivered in several random orders with random
 * redeliveries through 4 normalizers side by side on the real SQS queue, always leave byte-identical
 * exported state, equal to the oracle that applies the rules in time order.
 */

const seed = testSeed(1717);
const callCount = 140;
const orders = 3;
const normalizers = 4;

let config: Config;
let db: ReturnType<typeof createDocumentClient>;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  db = createDocumentClient(config);
  handler = createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
});
afterAll(() => db?.destroy());

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const label = (d: Delivery) => `${d.call.messageId}@${d.receivedAt.slice(5, 13)}`;

describe("order independence under adversarial calls and concurrent normalizers", () => {
  it(`${callCount} generated calls in ${orders} random orders with redeliveries, ${normalizers} normalizers`, async () => {
    const calls = generateAdversarialCalls(seed, callCount);
    const expected = canonicalExport(adversarialOracle("WS", calls), "WS");
    const lines = [
      `adversarial order independence (seed ${seed}, SEED=${seed} to replay): ${calls.length} calls`,
      ...calls.map(
        ({ call, receivedAt }) =>
          `  call ${call.messageId} ${call.type} user=${call.userId ?? "-"} anon=${call.anonymousId ?? call.previousId ?? "-"} ts=${call.timestamp ?? "(none)"} received=${receivedAt}`,
      ),
    ];
    const exports: string[] = [];
    for (let order = 0; order < orders; order++) {
      const ws = freshWorkspace();
      const { first, retries } = adversarialDeliveries(calls, prng(seed * 10 + order));
      const toMessages = (list: Delivery[]) => list.map((d) => rawMessage(ws, [d.call], "product", d.receivedAt));
      const started = Date.now();
      const one = await runConcurrentNormalizers(config, handler, toMessages(first), { normalizers, maxMessages: 3 });
      const two = await runConcurrentNormalizers(config, handler, toMessages(retries), { normalizers, maxMessages: 3 });
      const state = await exportWorkspace(config, ws);
      const text = canonicalExport(state, ws);
      exports.push(text);
      lines.push(
        `  order ${order + 1}: ${first.length} deliveries then ${retries.length} retries in ${one.batches + two.batches} batches (${one.failed + two.failed} retried) in ${Date.now() - started} ms; ${state.accounts.length} accounts, ${state.users.length} users, ${state.memberships.length} memberships, ${state.events.length} events; sha256 ${sha(text)}`,
        `    first: ${first.map(label).join(" ")}`,
        `    retries: ${retries.map(label).join(" ")}`,
      );
      const want = JSON.parse(expected.replaceAll("WS", ws));
      const diff = diffExports(state, want);
      // Name what differs, and show the first difference in full.
      const shown = diff.different[0]?.split(":")[1];
      const pick = (s: typeof state) =>
        JSON.stringify(
          [...s.events, ...s.users, ...s.accounts].find(
            (e) => [e.event_id, e.user_id, e.account_id].includes(shown) && (e.event_id === shown || !e.event_id),
          ),
        );
      expect(diff, `order ${order + 1} differs from the oracle: got ${pick(state)} want ${pick(want)}`).toEqual({
        missing: [],
        unexpected: [],
        different: [],
      });
    }
    lines.push(`  oracle: sha256 ${sha(expected)}`);
    console.log(lines.join("\n"));
    for (const [i, text] of exports.entries()) expect(text, `order ${i + 1}`).toBe(expected);
  }, 600_000);
});
