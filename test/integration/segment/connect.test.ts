import { existsSync } from "node:fs";
import webhookDestination from "@segment/action-destinations/dist/destinations/webhook/index.js";
import { createTestEvent, createTestIntegration, type JSONObject } from "@segment/actions-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import {
  openApiDocumentPath,
  type SegmentPublicApiServer,
  segmentSource,
  sendActionId,
  startSegmentPublicApiServer,
  webhookMetadataId,
} from "../../support/segment-public-api-server";
import { callsOf, drainQueue, type IngestStack, startIngestStack } from "../ingest/ingest-stack";

/**
 * `segment connect` against a stand-in for Segment's Public API that holds every request to
 * Segment's published OpenAPI document when shared/seed carries it, else to the document derived
 * from the official SDK's generated sources (test/support/segment-public-api-server.ts), with the
 * workspace in DynamoDB Local; the destination it creates is then driven with Segment's own
 * Webhooks (Actions) code, whose signed deliveries must be accepted by the real ingest handler.
 */

let stack: IngestStack;
let segment: SegmentPublicApiServer;

beforeAll(async () => {
  stack = await startIngestStack();
  segment = await startSegmentPublicApiServer({
    sources: [
      segmentSource("srcWeb0001", "Acme Web"),
      segmentSource("srcWeb0002", "Globex Web"),
      segmentSource("srcWeb0003", "Initech Web"),
    ],
  });
  for (const id of ["acme", "globex", "initech"]) await stack.store.createWorkspace({ id });
});
afterAll(async () => {
  await segment?.close();
  await stack?.close();
});
afterEach(() => {
  // Every request the CLI sent must be one Segment's document allows.
  expect(segment.violations.splice(0)).toEqual([]);
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const connect = (workspace: string, sourceId: string, ...more: string[]) =>
  cli(
    "segment",
    "connect",
    "--workspace",
    workspace,
    "--source-id",
    sourceId,
    "--token",
    segment.token,
    "--base-url",
    stack.server.url,
    "--api-url",
    segment.url,
    ...more,
  );

const destinationsOf = (sourceId: string) =>
  [...segment.state.destinations.values()].filter((d) => d.sourceId === sourceId);
const subscriptionsOf = (destinationId: string) => segment.state.subscriptions.get(destinationId) ?? [];
const types = ["identify", "group", "track", "page", "screen"];

describe("segment connect (Segment's Public API)", () => {
  it("creates a Webhooks (Actions) destination whose signed, batched deliveries ingest accepts", async () => {
    const run = await connect("acme", "srcWeb0001", "--json");
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.out);
    const webhookUrl = `${stack.server.url}/v1/webhooks/segment/acme`;
    expect(result).toMatchObject({ dryRun: false, webhookUrl, tierNote: expect.stringContaining("Team and Business") });

    const [destination, ...others] = destinationsOf("srcWeb0001");
    expect(others).toEqual([]);
    expect(destination).toMatchObject({
      name: "segment-ingest acme",
      enabled: true,
      metadata: { id: webhookMetadataId },
      settings: { sharedSecret: result.sharedSecret },
    });
    // The catalog was read to find the id (it sits on the catalog's second page).
    expect(segment.requests.filter((r) => r.operationId === "getDestinationsCatalog")).toHaveLength(2);

    const subscriptions = subscriptionsOf(destination?.id as string);
    expect(subscriptions.map((s) => s.trigger).sort()).toEqual(types.map((t) => `type = "${t}"`).sort());
    for (const s of subscriptions) {
      expect(s).toMatchObject({
        actionId: sendActionId,
        enabled: true,
        settings: { url: webhookUrl, method: "POST", data: { "@path": "$." }, enable_batching: true, batch_size: 1000 },
      });
    }

    // The secret is active on our source.
    const source = await stack.store.getSource("acme", "product");
    expect(source?.secrets.map((s) => s.value)).toContain(result.sharedSecret);

    // Segment's own Webhooks (Actions) code, with exactly these settings and this mapping.
    const integration = createTestIntegration(webhookDestination);
    const track = subscriptions.find((s) => s.trigger === 'type = "track"');
    const events = [1, 2, 3].map((n) =>
      createTestEvent({ type: "track", event: "Report Exported", userId: `u${n}`, messageId: `connect-${n}` }),
    );
    const responses = await integration.testBatchAction("send", {
      events,
      mapping: track?.settings as JSONObject,
      settings: destination?.settings as JSONObject,
    });
    expect(responses.map((r) => r.status)).toEqual([200]);
    const queued = callsOf(await drainQueue(stack.sqs, stack.config.rawQueueUrl));
    expect(queued.map((c) => c.messageId)).toEqual(["connect-1", "connect-2", "connect-3"]);
  });

  it("run again, finds and updates its destination and subscriptions: nothing doubles", async () => {
    const before = destinationsOf("srcWeb0001");
    const second = await connect("acme", "srcWeb0001", "--json");
    expect(second.code).toBe(0);
    const third = await connect("acme", "srcWeb0001", "--json");
    expect(third.code).toBe(0);
    const after = destinationsOf("srcWeb0001");
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id));
    expect(subscriptionsOf(after[0]?.id as string)).toHaveLength(5);
    const result = JSON.parse(third.out);
    expect(result.steps.map((s: { action: string }) => s.action)).toEqual(Array(6).fill("update"));
    expect(after[0]?.settings).toEqual({ sharedSecret: result.sharedSecret });
    // The third run retired the secret the first run had made (no longer in Segment) for its own.
    expect(result.retiredOlderSecret).toBe(true);
    const source = await stack.store.getSource("acme", "product");
    expect(source?.secrets.map((s) => s.value)).toEqual([JSON.parse(second.out).sharedSecret, result.sharedSecret]);
  });

  it("a destination write that fails withdraws the fresh secret: the newest active one is still Segment's", async () => {
    const signing = () =>
      (destinationsOf("srcWeb0001")[0]?.settings as { sharedSecret?: string } | undefined)?.sharedSecret;
    const before = signing();
    expect(before).toBeDefined();
    segment.rateLimit("updateDestination", 5, 0);
    const failed = await connect("acme", "srcWeb0001", "--json");
    expect(failed.code).not.toBe(0);
    expect(failed.err).toContain("The new shared secret was withdrawn");
    expect(signing()).toBe(before);
    const afterFailure = await stack.store.getSource("acme", "product");
    expect(afterFailure?.secrets.at(-1)?.value).toBe(before);
    // So the next run retires the other one, never the secret Segment signs with.
    const next = await connect("acme", "srcWeb0001", "--json");
    expect(next.code).toBe(0);
    const source = await stack.store.getSource("acme", "product");
    expect(source?.secrets.map((s) => s.value)).toEqual([before, JSON.parse(next.out).sharedSecret]);
  });

  it("--dry-run prints the plan and changes nothing, in Segment or here", async () => {
    const secrets = (await stack.store.getSource("globex", "product"))?.secrets;
    const writes = () => segment.requests.filter((r) => r.method !== "GET").length;
    const writesBefore = writes();
    const run = await connect("globex", "srcWeb0002", "--dry-run");
    expect(run.code).toBe(0);
    expect(run.out).toContain("Dry run: nothing was changed.");
    expect(run.out).toMatch(/would create +destination +segment-ingest globex/);
    for (const type of types) expect(run.out).toMatch(new RegExp(`would create +subscription +segment-ingest ${type}`));
    expect(run.out).toContain("Team and Business tiers");
    expect(writes()).toBe(writesBefore);
    expect(destinationsOf("srcWeb0002")).toEqual([]);
    expect((await stack.store.getSource("globex", "product"))?.secrets).toEqual(secrets);
  });

  it("a 429 from the rate-limited subscriptions endpoint is retried after Retry-After", async () => {
    segment.rateLimit("createDestinationSubscription", 1, 1);
    const started = Date.now();
    const run = await connect("initech", "srcWeb0003", "--json");
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const result = JSON.parse(run.out);
    expect(result.retries).toEqual(["createDestinationSubscription answered 429; retried after 1 s"]);
    const [destination] = destinationsOf("srcWeb0003");
    expect(subscriptionsOf(destination?.id as string)).toHaveLength(5);
  });

  it("refuses clearly when our workspace has no such source, before calling Segment", async () => {
    const sent = segment.requests.length;
    const run = await connect("acme", "srcWeb0001", "--source", "crm");
    expect(run.code).toBe(1);
    expect(run.err).toContain("(source.not_found)");
    expect(segment.requests.length).toBe(sent);
  });

  it("an unknown Segment source is a clear error", async () => {
    const run = await connect("acme", "srcMissing9", "--json");
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toMatchObject({ code: "segment_api.not_found" });
  });
});

describe("the Public API stand-in itself", () => {
  it("records a request the document does not allow", async () => {
    const post = (path: string, body: unknown, headers: Record<string, string>) =>
      fetch(`${segment.url}${path}`, { method: "POST", body: JSON.stringify(body), headers });
    const auth = { authorization: `Bearer ${segment.token}` };
    // No metadataId (required), wrong content type, no token, an operation that does not exist.
    await post(
      "/destinations",
      { sourceId: "srcWeb0001", settings: {} },
      {
        ...auth,
        "content-type": "application/vnd.segment.v1+json",
      },
    );
    await post(
      "/destinations",
      { sourceId: "srcWeb0001", metadataId: "x", settings: {} },
      {
        ...auth,
        "content-type": "text/plain",
      },
    );
    await post(
      "/destinations",
      { sourceId: "srcWeb0001", metadataId: "x", settings: {} },
      {
        "content-type": "application/vnd.segment.v1+json",
      },
    );
    await post("/destinations/abc/webhooks", {}, { ...auth, "content-type": "application/json" });
    const found = segment.violations.splice(0);
    expect(found).toHaveLength(4);
    expect(found[0]).toContain("must have required property 'metadataId'");
    expect(found[1]).toContain("Content-Type text/plain is not one of");
    expect(found[2]).toContain("no valid Authorization: Bearer token");
    expect(found[3]).toContain("is not an operation of the document");
  });

  it("says which document it holds requests to, and refuses a wrong method or a wrongly typed body", async () => {
    expect(segment.document).toEqual(
      existsSync(openApiDocumentPath)
        ? { source: "published", version: "32.0.5", from: openApiDocumentPath }
        : { source: "sdk", version: "47.0.0", from: expect.stringContaining("@segment/public-api-sdk-typescript") },
    );
    const headers = { authorization: `Bearer ${segment.token}`, "content-type": "application/vnd.segment.v1+json" };
    const valid = { sourceId: "srcWeb0001", metadataId: webhookMetadataId, settings: {} };
    await fetch(`${segment.url}/destinations`, { method: "PUT", body: JSON.stringify(valid), headers });
    const typed = { ...valid, settings: "sharedSecret=x" };
    const answer = await fetch(`${segment.url}/destinations`, { method: "POST", body: JSON.stringify(typed), headers });
    expect(answer.status).toBe(400);
    const found = segment.violations.splice(0);
    expect(found).toHaveLength(2);
    expect(found[0]).toContain("PUT /destinations is not an operation of the document");
    expect(found[1]).toContain("/settings must be object");
  });
});
