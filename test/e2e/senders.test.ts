import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import RudderAnalytics from "@rudderstack/rudder-sdk-node";
import webhookDestination from "@segment/action-destinations/dist/destinations/webhook/index.js";
import { createTestEvent, createTestIntegration } from "@segment/actions-core";
import { Analytics as SegmentNodeAnalytics } from "@segment/analytics-node";
import ClassicAnalytics from "analytics-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../packages/local/src/services";
import { type ReadApi, readApi } from "../support/read-api";
import {
  killStack,
  type StackProcess,
  spawnStack,
  stopStack,
  untilSettled,
  waitUntilReady,
} from "../support/stack-process";

/**
 * The real client code of Segment and its ecosystem, with its default settings, against the local
 * stack as `npm start` runs it, each checked through the read API: Segment's own Webhooks
 * (Actions) destination run by the actions-core test harness (real HTTP requests, signed with the
 * shared secret), the classic and the current analytics-node, and RudderStack's Node SDK (gzip on).
 * analytics.js in a browser is in `browser-sender.test.ts`.
 */

const credentials = {
  DEV_SHARED_SECRET: "e2e-senders-secret",
  DEV_WRITE_KEY: "e2e-senders-write-key",
  DEV_API_KEY: "e2e-senders-api-key-0001",
};

interface StoredEvent {
  event_id: string;
  event_name: string;
  type: string;
  user_id: string | null;
  account_id: string | null;
  timestamp: string;
  properties: Record<string, unknown>;
}

let root: string;
let port: number;
let stack: StackProcess | undefined;
let read: ReadApi;
const url = () => `http://127.0.0.1:${port}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "senders-e2e-"));
  port = await freePort();
  // Info-level logs on: the ingest line of each request says how long the handler took to answer.
  stack = spawnStack({ PORT: String(port), DATA_DIR: join(root, "data"), ...credentials });
  await waitUntilReady(stack);
  read = readApi(url(), credentials.DEV_API_KEY);
});

afterEach((context) => {
  if (context.task.result?.state === "fail" && stack) {
    process.stderr.write(`--- local stack output (last 4000 characters) ---\n${stack.output().slice(-4000)}\n`);
  }
});

afterAll(async () => {
  if (stack) await stopStack(stack).catch(() => undefined);
  killStack(stack);
  await rm(root, { recursive: true, force: true });
});

const userEvents = (userId: string) => read.all<StoredEvent>(`/v1/users/${encodeURIComponent(userId)}/events`);
const accountEvents = (accountId: string) =>
  read.all<StoredEvent>(`/v1/accounts/${encodeURIComponent(accountId)}/events`);

/**
 * The events of a list once normalize has finished every message ingest queued (each sender below
 * has had its 200s before this is called), so the list is final, whatever its length.
 */
async function eventsOf(list: () => Promise<StoredEvent[]>, timeoutMs?: number) {
  await untilSettled(stack, timeoutMs);
  return list();
}

/** A record of the read API once normalize has finished every queued message; it must exist. */
async function stored<T>(path: string): Promise<T> {
  await untilSettled(stack);
  const answer = await read.get<T>(path);
  expect(answer.status, `${path} answered ${JSON.stringify(answer.body)}`).toBe(200);
  return answer.body;
}

describe("Segment's Webhooks (Actions) destination, `send` action", () => {
  const destination = createTestIntegration(webhookDestination);
  const webhookUrl = () => `${url()}/v1/webhooks/segment/dev`;
  const settings = { sharedSecret: credentials.DEV_SHARED_SECRET };

  /** A Segment track event as the destination receives it (Segment's test event, ~0.9 KB). */
  const track = (userId: string, accountId: string, n: number) =>
    createTestEvent({
      type: "track",
      event: "Report Exported",
      userId,
      anonymousId: `anon-${userId}`,
      properties: { format: "csv", rows: n },
      context: { ...createTestEvent().context, groupId: accountId },
    });

  it("perform: single identify, group and track calls are modelled", async () => {
    const calls = [
      createTestEvent({
        type: "identify",
        userId: "aw-user-1",
        traits: {
          email: "ada@example.com",
          first_name: "Ada",
          last_name: "Lovelace",
          created_at: "2024-01-02T03:04:05Z",
        },
      }),
      createTestEvent({
        type: "group",
        userId: "aw-user-1",
        groupId: "aw-acct-1",
        traits: { name: "Analytical Engines", plan: "Growth", mrr: 1200 },
      }),
      track("aw-user-1", "aw-acct-1", 1),
    ];
    for (const event of calls) {
      const responses = await destination.testAction("send", {
        event,
        mapping: { url: webhookUrl() },
        settings,
        useDefaultMappings: true,
      });
      expect(responses.map((r) => r.status)).toEqual([200]);
    }
    const account = await stored<Record<string, unknown>>("/v1/accounts/aw-acct-1");
    expect(account).toMatchObject({ name: "Analytical Engines", plan_name: "Growth", mrr: 1200 });
    const user = await stored<Record<string, unknown>>("/v1/users/aw-user-1");
    expect(user).toMatchObject({ email: "ada@example.com", first_name: "Ada", last_name: "Lovelace" });
    const events = await eventsOf(() => userEvents("aw-user-1"));
    expect(events).toEqual([
      expect.objectContaining({
        event_id: calls[2]?.messageId,
        event_name: "Report Exported",
        account_id: "aw-acct-1",
        properties: { format: "csv", rows: 1 },
      }),
    ]);
  });

  it("performBatch: a batch of 3 is accepted and each call stored", async () => {
    const events = [1, 2, 3].map((n) => track("aw-user-3", "aw-acct-3", n));
    const responses = await destination.testBatchAction("send", {
      events,
      mapping: { url: webhookUrl() },
      settings,
      useDefaultMappings: true,
    });
    expect(responses.map((r) => r.status)).toEqual([200]);
    const stored = await eventsOf(() => accountEvents("aw-acct-3"));
    expect(stored.map((e) => e.event_id).sort()).toEqual(events.map((e) => e.messageId).sort());
  });

  it("performBatch: Segment's default of 1,000 and its maximum of 4,000 events per request, each stored once, answered in under 5 s", async () => {
    const thousand = Array.from({ length: 1000 }, (_, n) => track(`aw-user-1k-${n % 20}`, "aw-acct-1k", n));
    const first = await destination.testBatchAction("send", {
      events: thousand,
      mapping: { url: webhookUrl() },
      settings,
      useDefaultMappings: true,
    });
    expect(first.map((r) => r.status)).toEqual([200]);

    const fourThousand = Array.from({ length: 4000 }, (_, n) => track(`aw-user-4k-${n % 40}`, "aw-acct-4k", n));
    const bytes = Buffer.byteLength(JSON.stringify(fourThousand));
    expect(bytes).toBeGreaterThan(3_000_000); // ~0.9 KB an event, as Segment sends them
    const started = performance.now();
    const responses = await destination.testBatchAction("send", {
      events: fourThousand,
      mapping: { url: webhookUrl() },
      settings,
      useDefaultMappings: true,
    });
    const elapsedMs = performance.now() - started;
    expect(responses.map((r) => r.status)).toEqual([200]);
    // The stack's answer time, from its own log line (the harness's mapping of 4,000 events on
    // this side is not Segment's wait); the whole round trip is printed too.
    const line = (stack?.output() ?? "")
      .split("\n")
      .filter((l) => l.includes('"message":"ingest"') && l.includes('"events":4000'))
      .map((l) => JSON.parse(l) as { durationMs: number; messages: number; outcome: string })
      .at(-1);
    expect(line?.outcome).toBe("queued");
    expect(line?.durationMs).toBeLessThan(5000);
    process.stdout.write(
      `4,000-event Actions batch: ${bytes} bytes in ${line?.messages} queue messages, answered by ingest in ${line?.durationMs} ms (round trip with the harness ${Math.round(elapsedMs)} ms)\n`,
    );

    const storedThousand = await eventsOf(() => accountEvents("aw-acct-1k"), 90_000);
    expect(new Set(storedThousand.map((e) => e.event_id))).toEqual(new Set(thousand.map((e) => e.messageId)));
    const storedFour = await eventsOf(() => accountEvents("aw-acct-4k"), 150_000);
    expect(storedFour).toHaveLength(4000);
    expect(new Set(storedFour.map((e) => e.event_id))).toEqual(new Set(fourThousand.map((e) => e.messageId)));
  }, 240_000);

  it("a wrong shared secret is refused with 401 and nothing is stored", async () => {
    const event = track("aw-user-wrong", "aw-acct-wrong", 1);
    const attempt = destination.testAction("send", {
      event,
      mapping: { url: webhookUrl() },
      settings: { sharedSecret: "not-the-secret" },
      useDefaultMappings: true,
    });
    await expect(attempt).rejects.toMatchObject({ response: { status: 401 } });
    const user = await read.get("/v1/users/aw-user-wrong");
    expect(user.status).toBe(404);
  });
});

describe("tracking API clients with their default settings", () => {
  it("analytics-node 6.x (classic): identify, group, track are modelled", async () => {
    const analytics = new ClassicAnalytics(credentials.DEV_WRITE_KEY, { host: url(), flushAt: 5, flushInterval: 100 });
    analytics.identify({ userId: "classic-user", traits: { email: "grace@example.com", firstName: "Grace" } });
    analytics.group({ userId: "classic-user", groupId: "classic-acct", traits: { name: "Hopper Labs" } });
    analytics.track({ userId: "classic-user", event: "Seat Added", properties: { seats: 3 } });
    await new Promise<void>((resolve, reject) => analytics.flush((error) => (error ? reject(error) : resolve())));

    expect(await stored<Record<string, unknown>>("/v1/accounts/classic-acct")).toMatchObject({ name: "Hopper Labs" });
    expect(await stored<Record<string, unknown>>("/v1/users/classic-user")).toMatchObject({
      email: "grace@example.com",
      first_name: "Grace",
    });
    const events = await eventsOf(() => userEvents("classic-user"));
    expect(events).toEqual([
      expect.objectContaining({ event_name: "Seat Added", account_id: "classic-acct", properties: { seats: 3 } }),
    ]);
  });

  it("@segment/analytics-node 3.x: identify, group, track, page are modelled", async () => {
    const analytics = new SegmentNodeAnalytics({ writeKey: credentials.DEV_WRITE_KEY, host: url() });
    const errors: unknown[] = [];
    analytics.on("error", (error) => errors.push(error));
    analytics.identify({ userId: "next-user", traits: { email: "linus@example.com", last_name: "Torvalds" } });
    analytics.group({ userId: "next-user", groupId: "next-acct", traits: { name: "Kernel Co", is_trial: true } });
    analytics.track({ userId: "next-user", event: "Invite Sent", properties: { invites: 2 } });
    analytics.page({ userId: "next-user", name: "Pricing" });
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(errors).toEqual([]);

    expect(await stored<Record<string, unknown>>("/v1/accounts/next-acct")).toMatchObject({
      name: "Kernel Co",
      bucket: "trial",
    });
    expect(await stored<Record<string, unknown>>("/v1/users/next-user")).toMatchObject({ last_name: "Torvalds" });
    const events = await eventsOf(() => userEvents("next-user"));
    expect(events.map((e) => [e.type, e.event_name]).sort()).toEqual([
      ["page", "Pricing"],
      ["track", "Invite Sent"],
    ]);
  });

  it("@rudderstack/rudder-sdk-node (gzip on, labelled form-urlencoded): identify, group, track are modelled", async () => {
    const errors: unknown[] = [];
    const analytics = new RudderAnalytics(credentials.DEV_WRITE_KEY, {
      dataPlaneUrl: url(),
      flushAt: 5,
      flushInterval: 100,
      errorHandler: (error: unknown) => errors.push(error),
    });
    analytics.identify({ userId: "rudder-user", traits: { email: "mae@example.com", firstName: "Mae" } });
    analytics.group({ userId: "rudder-user", groupId: "rudder-acct", traits: { name: "Orbit Works" } });
    analytics.track({ userId: "rudder-user", event: "Report Exported", properties: { format: "pdf" } });
    await analytics.flush();
    expect(errors.map((e) => (e as { response?: { status?: number } }).response?.status ?? String(e))).toEqual([]);

    expect(await stored<Record<string, unknown>>("/v1/accounts/rudder-acct")).toMatchObject({ name: "Orbit Works" });
    expect(await stored<Record<string, unknown>>("/v1/users/rudder-user")).toMatchObject({ email: "mae@example.com" });
    const events = await eventsOf(() => userEvents("rudder-user"));
    expect(events).toEqual([
      expect.objectContaining({
        event_name: "Report Exported",
        account_id: "rudder-acct",
        properties: { format: "pdf" },
      }),
    ]);
  });
});
