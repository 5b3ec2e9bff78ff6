import { SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { createIngestHandler } from "../../../packages/aws/src/ingest/handler";
import { createRawQueueSender } from "../../../packages/aws/src/sqs/raw-queue";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { type Poller, startPoller } from "../../../packages/local/src/poller";
import {
  type FaultCounts,
  injectDynamoFaults,
  injectSqsSendFaults,
  killableNormalizeHandler,
  noFaults,
} from "../../support/fault-injection";
import { provisionTestResources } from "../../support/local-resources";
import {
  diffExports,
  exportWorkspace,
  generateCalls,
  ids,
  oracle,
  type WorkspaceExport,
} from "../../support/model-oracle";
import { freshWorkspace } from "../../support/normalize-harness";
import { queueDepth, untilQueueEmpty } from "../../support/queue";
import { prng, shuffle, testSeed } from "../../support/seeded-random";
import { segmentRequests, sendLikeSegment } from "../../support/segment-sender";

/**
 * Nothing is lost and nothing is duplicated under faults, end to end: 5,000 mixed calls (identify,
 * group, track, page; single calls and batches; signed webhooks and the tracking API) go over HTTP
 * to the real ingest handler, through the real SQS sender to fauxqs, through the local poller to
 * the real normalize handler, into DynamoDB Local, while
 *   (a) SendMessageBatch calls of the ingest's SQS client throw 5xx (before or after queueing) and
 *       entries come back Failed, so some requests are answered 503 and the sender retries them;
 *   (b) DynamoDB requests of the normalizer are throttled, or time out after being applied, so
 *       batches report partial failures;
 *   (c) normalize workers are killed mid-batch (after a random number of storage requests) or
 *       after the work but before reporting, so nothing is deleted and SQS delivers it again.
 * Then the stored state must equal the oracle's: every event once, every profile and membership
 * as the calls say, and the DLQ empty.
 *
 * The test's raw queue gets a visibility timeout of 4 s (SetQueueAttributes; the deployed one is
 * 180 s) so that failed and abandoned messages come back within seconds. Faults are injected only
 * while a message has been received at most 3 times: with the DLQ after 5 receives, every message
 * keeps fault-free deliveries, so a message in the DLQ is a bug and not bad luck.
 */

const seed = testSeed(4242);
const callCount = 5000;
const visibilityTimeoutSeconds = 4;

let config: Config;
let server: HandlerServer | undefined;
let poller: Poller | undefined;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

afterAll(async () => {
  await server?.close();
  await poller?.stop();
  for (const client of clients) client.destroy();
});

/** One entity of an export as JSON, by its diff key (`event:<id>`, `user:<id>`, …). */
function describeEntity(state: WorkspaceExport, key: string): string {
  const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  const found =
    kind === "event"
      ? state.events.find((e) => e.event_id === id)
      : kind === "user"
        ? state.users.find((u) => u.user_id === id)
        : kind === "account"
          ? state.accounts.find((a) => a.account_id === id)
          : state.memberships.find((m) => `${m.account_id}/${m.user_id}` === id);
  return JSON.stringify(found) ?? "(none)";
}

function formatCounts(counts: FaultCounts): string {
  return [
    `SQS: ${counts.sqsErrors} calls 5xx before queueing, ${counts.sqsLostAnswers} 5xx after queueing, ${counts.sqsFailedEntries} entries Failed`,
    `DynamoDB: ${counts.dynamoThrottles} throttled, ${counts.dynamoTimeouts} timed out after applying`,
    `workers killed: ${counts.killedMidBatch} mid-batch, ${counts.killedBeforeReport} before reporting`,
  ].join("; ");
}

describe("no loss and no duplicates under faults, end to end", () => {
  it(`${callCount} calls over HTTP with SQS, DynamoDB and worker faults: state equals the oracle, DLQ empty`, async () => {
    const started = Date.now();
    const admin = createSqsClient(config);
    clients.push(admin);
    await admin.send(
      new SetQueueAttributesCommand({
        QueueUrl: config.rawQueueUrl,
        Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) },
      }),
    );

    const workspaces = new WorkspaceStore(createDocumentClient(config), config.entitiesTable);
    const ws = freshWorkspace();
    const { sharedSecret, writeKey } = await workspaces.createWorkspace({ id: ws });
    const { token: bearerToken } = await workspaces.issueBearerToken(ws);

    const counts = noFaults();
    // Ingest: the real handler over a real workspace store and the real SQS sender, whose client fails.
    const ingestSqs = createSqsClient(config);
    const ingestDb = createDocumentClient(config);
    clients.push(ingestSqs, ingestDb);
    injectSqsSendFaults(ingestSqs, prng(seed + 1), { error: 0.12, lostAnswer: 0.08, failedEntry: 0.15 }, counts);
    const ingest = createIngestHandler({
      credentials: new WorkspaceStore(ingestDb, config.entitiesTable, { cacheSeconds: 30 }),
      queue: createRawQueueSender(ingestSqs, config.rawQueueUrl),
    });
    server = await startHandlerServer([{ prefix: "/v1", handler: ingest }]);

    // Normalize: the real handler over a DynamoDB client that fails, in a worker that can be killed.
    const normalizeDb = createDocumentClient(config);
    const pollerSqs = createSqsClient(config);
    clients.push(normalizeDb, pollerSqs);
    injectDynamoFaults(normalizeDb, prng(seed + 2), { throttle: 0.01, timeout: 0.005 }, counts);
    const worker = killableNormalizeHandler(
      createNormalizeHandler({ store: new DynamoModelStore(normalizeDb, config) }),
      prng(seed + 3),
      { midBatch: 0.08, beforeReport: 0.04, maxRequestsBeforeKill: 40, maxFaultyReceive: 3 },
      counts,
    );
    const pollerLog: string[] = [];
    poller = await startPoller({
      sqs: pollerSqs,
      queueUrl: config.rawQueueUrl,
      handler: worker.handler,
      // Several normalizers side by side, as Lambda runs them.
      concurrency: 4,
      waitTimeSeconds: 1,
      log: (line) => pollerLog.push(line),
    });

    // 5,000 calls as a seeded mix of requests; 5% of the requests are sent twice (Segment retries).
    const calls = generateCalls(seed, callCount, {
      users: ids("u", 30),
      accounts: ids("a", 10),
      messageIdPrefix: "e2e",
    });
    const r = prng(seed + 4);
    const requests = segmentRequests(calls, { workspaceId: ws, sharedSecret, writeKey, bearerToken }, r);
    const resent = requests.filter(() => r.chance(0.05));
    const sent = await sendLikeSegment(server.url, shuffle([...requests, ...resent], r), { concurrency: 8 });
    const sentMs = Date.now() - started;

    await untilQueueEmpty(admin, config.rawQueueUrl, 120_000);
    await poller.stop();
    await worker.settled();
    const dlq = await queueDepth(admin, config.deadLetterQueueUrl as string);

    const stored = await exportWorkspace(config, ws, { omitEventFields: ["received_at"] });
    const expected = oracle(ws, calls);
    for (const event of expected.events) delete event.received_at;
    const diff = diffExports(stored, expected);
    const storedIds = stored.events.map((e) => e.event_id as string);
    const expectedIds = new Set(expected.events.map((e) => e.event_id as string));
    const lost = [...expectedIds].filter((id) => !storedIds.includes(id));
    const duplicated =
      storedIds.length - new Set(storedIds).size + storedIds.filter((id) => !expectedIds.has(id)).length;
    const accepted = sent.statuses[200] ?? 0;

    console.log(
      [
        `no loss under faults (seed ${seed}): ${callCount} calls in ${requests.length} requests + ${resent.length} resent; ${sent.attempts} HTTP attempts`,
        `  sent ${sent.requests} requests, accepted ${accepted}, retried ${sent.retried} (${JSON.stringify(sent.retriedStatuses)}), final statuses ${JSON.stringify(sent.statuses)}`,
        `  stored ${stored.events.length} events (expected ${expectedIds.size}), lost ${lost.length}, duplicated ${duplicated}; ${stored.accounts.length} accounts, ${stored.users.length} users, ${stored.memberships.length} memberships; DLQ ${dlq}`,
        `  differences from the oracle: ${diff.missing.length} missing, ${diff.unexpected.length} unexpected, ${diff.different.length} different${diff.different.length + diff.missing.length + diff.unexpected.length > 0 ? ` (${[...diff.missing, ...diff.unexpected, ...diff.different].slice(0, 8).join(", ")})` : ""}`,
        `  faults: ${formatCounts(counts)}`,
        ...diff.different
          .slice(0, 3)
          .map(
            (key) =>
              `  ${key}: stored ${describeEntity(stored, key).slice(0, 300)}; expected ${describeEntity(expected, key).slice(0, 300)}`,
          ),
        `  poller: ${poller.stats.batches} batches, ${poller.stats.received} received, ${poller.stats.deleted} deleted, ${poller.stats.failed} reported failed or abandoned, ${poller.stats.handlerErrors} killed; max receive count ${worker.maxReceiveCount()}`,
        `  time: sending ${sentMs} ms, total ${Date.now() - started} ms`,
      ].join("\n"),
    );

    // Every request got through in the end, after retries of the 503s.
    expect(sent.statuses).toEqual({ 200: requests.length + resent.length });
    expect(lost).toEqual([]);
    expect(duplicated).toBe(0);
    expect(stored.events).toHaveLength(expectedIds.size);
    expect(diff).toEqual({ missing: [], unexpected: [], different: [] });
    expect(dlq).toBe(0);
    // The faults really happened: each kind at least once, and SQS gave work back.
    expect(sent.retriedStatuses["503"] ?? 0).toBeGreaterThan(0);
    for (const [kind, n] of Object.entries(counts)) expect(n, kind).toBeGreaterThan(0);
    expect(poller.stats.failed).toBeGreaterThan(0);
  }, 300_000);
});
