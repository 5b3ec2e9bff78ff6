import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { startPoller } from "../../../packages/local/src/poller";
import { eventually } from "../../support/eventually";
import { provisionTestResources } from "../../support/local-resources";

/** The local poller when ReceiveMessage fails (the SQS server restarting), against the real fauxqs. */

let config: Config;
let sqs: SQSClient;

beforeEach(async () => {
  ({ config } = await provisionTestResources());
  sqs = createSqsClient(config);
});
afterEach(() => sqs?.destroy());

/** Fails the next `count` ReceiveMessage calls with a 5xx, outside the SDK's own retries. */
function failReceives(client: SQSClient, count: number): { failed: () => number } {
  let failed = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "ReceiveMessageCommand" || failed >= count) return next(args);
      failed++;
      throw Object.assign(new Error("service unavailable (injected)"), {
        name: "ServiceUnavailable",
        $fault: "server",
        $metadata: { httpStatusCode: 503 },
      });
    },
    { step: "initialize", name: "failReceives", priority: "high" },
  );
  return { failed: () => failed };
}

describe("local poller, failing receives", () => {
  it("keeps receiving after failures, backing off, and then delivers what is queued", async () => {
    const faults = failReceives(sqs, 2);
    const lines: string[] = [];
    const bodies: string[] = [];
    const started = Date.now();
    const poller = await startPoller({
      sqs,
      queueUrl: config.rawQueueUrl,
      waitTimeSeconds: 1,
      log: (line) => lines.push(line),
      handler: async (event) => {
        bodies.push(...event.Records.map((r) => r.body));
      },
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: config.rawQueueUrl, MessageBody: "after the outage" }));
    await eventually(
      async () => bodies,
      (received) => expect(received).toEqual(["after the outage"]),
      { timeoutMs: 20_000, what: "the message after the outage" },
    );
    // Two pauses (0.25-0.5 s, then 0.5-1 s) came before the delivery.
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    expect(faults.failed()).toBe(2);
    expect(lines.filter((l) => l.includes("receive failed"))).toHaveLength(2);
    await poller.stop();
  });

  it("stops while the receives still fail", async () => {
    failReceives(sqs, Number.POSITIVE_INFINITY);
    const poller = await startPoller({
      sqs,
      queueUrl: config.rawQueueUrl,
      waitTimeSeconds: 1,
      handler: async () => {},
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopping = Date.now();
    await poller.stop();
    expect(Date.now() - stopping).toBeLessThan(6_000);
  });
});
