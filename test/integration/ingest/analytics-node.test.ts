import { Analytics } from "@segment/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callsOf, drainQueue, type IngestStack, startIngestStack } from "./ingest-stack";

let stack: IngestStack;
let writeKey: string;

beforeAll(async () => {
  stack = await startIngestStack();
  ({ writeKey } = await stack.store.createWorkspace({ id: "acme" }));
});
afterAll(async () => {
  await stack?.close();
});

describe("@segment/analytics-node pointed at the tracking API", () => {
  it("delivers its batches (Basic auth, /v1/batch) and every call is queued", async () => {
    const analytics = new Analytics({
      writeKey,
      host: stack.server.url,
      path: "/v1/batch",
      flushAt: 20,
      flushInterval: 200,
      maxRetries: 0,
    });
    const statuses: number[] = [];
    const errors: unknown[] = [];
    analytics.on("http_response", (response) => statuses.push(response.status));
    analytics.on("error", (error) => errors.push(error));

    analytics.identify({ userId: "user-1", traits: { email: "jane@example.com", first_name: "Jane" } });
    analytics.group({ userId: "user-1", groupId: "acct-1", traits: { name: "Acme", plan: "pro" } });
    for (let i = 0; i < 45; i++) {
      analytics.track({ userId: "user-1", event: "Report Exported", properties: { rows: i } });
    }
    analytics.page({ userId: "user-1", name: "Pricing" });
    await analytics.closeAndFlush({ timeout: 20_000 });

    expect(errors).toEqual([]);
    expect(statuses.length).toBeGreaterThanOrEqual(3); // 48 calls in batches of at most 20
    expect(new Set(statuses)).toEqual(new Set([200]));

    const received = await drainQueue(stack.sqs, stack.config.rawQueueUrl);
    const calls = callsOf(received);
    expect(calls).toHaveLength(48);
    expect(new Set(calls.map((c) => c.messageId)).size).toBe(48);
    expect(calls.filter((c) => c.type === "track")).toHaveLength(45);
    expect(calls.find((c) => c.type === "identify")).toMatchObject({
      userId: "user-1",
      traits: { email: "jane@example.com", first_name: "Jane" },
      context: { library: { name: "@segment/analytics-node" } },
    });
    expect(calls.find((c) => c.type === "group")).toMatchObject({ groupId: "acct-1", traits: { name: "Acme" } });
    expect(calls.every((c) => typeof c.sentAt === "string" && !("writeKey" in c))).toBe(true);
    for (const r of received) expect(r.message).toMatchObject({ workspaceId: "acme", source: "product" });
  });
});
