import webhookDestination from "@segment/action-destinations/dist/destinations/webhook/index.js";
import { createTestEvent, createTestIntegration } from "@segment/actions-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import { type DeliveryStack, startDeliveryStack } from "../../support/delivery-stack";
import { eventually } from "../../support/eventually";

/**
 * `segment connect --manual` against the real ingest and API handlers on the local servers: it
 * prints the settings, and while it waits a refused delivery and then Segment's own Webhooks
 * (Actions) code, configured with exactly what it printed, arrive; each shows within a second.
 */

let stack: DeliveryStack;

beforeAll(async () => {
  stack = await startDeliveryStack();
});
afterAll(async () => {
  await stack?.close();
});

const manual = (...more: string[]) => [
  ...["segment", "connect", "--manual", "--workspace", "acme"],
  ...["--base-url", stack.server.url, "--api-key", stack.apiKey, ...more],
];

describe("segment connect --manual", () => {
  it("prints the settings, shows each delivery as it arrives, and ends at the first signed one", async () => {
    const printed: { at: number; text: string }[] = [];
    const errors: string[] = [];
    const run = runCli(manual(), {
      stdout: (text) => printed.push({ at: Date.now(), text }),
      stderr: (text) => errors.push(text),
    });
    const output = () => printed.map((p) => p.text).join("\n");
    const printedSoFar = async () => output();
    await eventually(printedSoFar, (o) => expect(o).toContain("Waiting for the first signed delivery"), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    const secret = /Settings > Shared Secret: +(\S+)/.exec(output())?.[1] as string;
    const url = /Webhook URL: +(\S+)/.exec(output())?.[1] as string;
    expect(url).toBe(`${stack.server.url}/v1/webhooks/segment/acme`);
    for (const type of ["identify", "group", "track", "page", "screen"]) {
      expect(output()).toContain(`Event Type is ${type} (type = "${type}")`);
    }
    expect(output()).toContain("Enable Batching on  Batch Size 1000");

    const integration = createTestIntegration(webhookDestination);
    const events = [1, 2].map((n) => createTestEvent({ type: "identify", userId: `m${n}`, messageId: `manual-${n}` }));
    // A wrong secret first: refused, counted, shown.
    const wrong = Date.now();
    const mapping = { url, method: "POST", data: { "@path": "$." }, batch_size: 1000 };
    await expect(
      integration.testBatchAction("send", { events, mapping, settings: { sharedSecret: "not-it" } }),
    ).rejects.toThrow("Unauthorized");
    await eventually(printedSoFar, (o) => expect(o).toMatch(/refused: 1 request\(s\) segment\.signature_invalid/), {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    const refusedShownMs = (printed.find((p) => p.text.includes("refused:"))?.at as number) - wrong;

    const signed = Date.now();
    // A fresh harness: one keeps every response it has seen.
    const responses = await createTestIntegration(webhookDestination).testBatchAction("send", {
      events,
      mapping,
      settings: { sharedSecret: secret },
    });
    expect(responses.map((r) => r.status)).toEqual([200]);
    expect(await run).toBe(0);
    expect(errors).toEqual([]);
    const delivered = printed.find((p) => p.text.includes("delivery: 2 call(s) accepted (signed webhook)"));
    expect(delivered).toBeDefined();
    expect(output()).toMatch(/Connected: the first signed delivery arrived at \d{4}-/);
    const deliveryShownMs = (delivered?.at as number) - signed;
    console.log(
      `manual mode: refused request shown after ${refusedShownMs} ms, signed delivery after ${deliveryShownMs} ms`,
    );
    expect(refusedShownMs).toBeLessThan(1000);
    expect(deliveryShownMs).toBeLessThan(1000);
  });

  it("gives up with a clear error when nothing signed arrives in time", async () => {
    const err: string[] = [];
    const code = await runCli(manual("--timeout", "1"), { stdout: () => {}, stderr: (t) => err.push(t) });
    expect(code).toBe(1);
    expect(err.join("\n")).toContain("(segment.no_delivery)");
  });
});
