import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { createSqsClient } from "../../packages/aws/src/clients";
import type { Config } from "../../packages/aws/src/config";
import { redrive } from "../../packages/aws/src/sqs/redrive";
import { provisionTestResources } from "../support/local-resources";
import { rawMessage } from "../support/normalize-harness";

let config: Config;
beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

async function drain(url: string): Promise<string[]> {
  const sqs = createSqsClient(config);
  const bodies: string[] = [];
  for (let empty = 0; empty < 2; ) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (!got.Messages?.length) empty++;
    for (const m of got.Messages ?? []) bodies.push(m.Body ?? "");
  }
  return bodies;
}

describe("redrive", () => {
  it("reports the dead-letter queue on a dry run without moving anything", async () => {
    const sqs = createSqsClient(config);
    const dlq = config.deadLetterQueueUrl as string;
    const bodies = [
      ...Array.from({ length: 13 }, (_, i) =>
        JSON.stringify(rawMessage("acme", [{ type: "track", event: "E", userId: `u${i}` }])),
      ),
      JSON.stringify(
        rawMessage("globex", [
          { type: "identify", userId: "x" },
          { type: "identify", userId: "y" },
        ]),
      ),
      "garbage",
    ];
    for (const MessageBody of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody }));

    const dry = await redrive(sqs, { from: dlq, to: config.rawQueueUrl, dryRun: true });
    expect(dry).toMatchObject({
      messages: 15,
      calls: 15,
      moved: 0,
      byWorkspace: { acme: 13, globex: 1 },
      byReason: { ok: 14, "not JSON": 1 },
    });
    expect(await drain(config.rawQueueUrl)).toEqual([]);

    // The dry run only hid the messages for a while; make them visible again for the real run.
    const visible = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    expect(visible.Messages?.length ?? 0).toBe(0);
  });

  it("moves messages back, deleting each from the DLQ only once the raw queue has it", async () => {
    const sqs = createSqsClient(config);
    const { config: fresh } = await provisionTestResources();
    const dlq = fresh.deadLetterQueueUrl as string;
    const bodies = Array.from({ length: 23 }, (_, i) =>
      JSON.stringify(rawMessage("acme", [{ type: "track", event: "E", userId: `u${i}` }])),
    );
    for (const MessageBody of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody }));
    const result = await redrive(sqs, { from: dlq, to: fresh.rawQueueUrl, dryRun: false });
    expect(result.moved).toBe(23);
    expect((await drain(fresh.rawQueueUrl)).sort()).toEqual([...bodies].sort());
    expect(await drain(dlq)).toEqual([]);
  });
});
