import { execFileSync } from "node:child_process";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, createSqsClient } from "../../packages/aws/src/clients";
import type { Config } from "../../packages/aws/src/config";
import { startLocalServices } from "../../packages/local/src/services";
import { RawQueue } from "../../packages/resources/src/definitions";
import { provisionTestResources } from "../support/local-resources";

let config: Config;
beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

describe("DynamoDB Local", () => {
  it("writes, reads, and refuses a conditional write that does not hold", async () => {
    const db = createDocumentClient(config);
    const item = { pk: "w1#ACCOUNT#a1", sk: "PROFILE", name: "Acme", version: 1 };
    await db.send(
      new PutCommand({ TableName: config.entitiesTable, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
    );
    const read = await db.send(new GetCommand({ TableName: config.entitiesTable, Key: { pk: item.pk, sk: item.sk } }));
    expect(read.Item).toEqual(item);

    const refused = db.send(
      new PutCommand({
        TableName: config.entitiesTable,
        Item: { ...item, name: "Overwritten" },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    await expect(refused).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const after = await db.send(new GetCommand({ TableName: config.entitiesTable, Key: { pk: item.pk, sk: item.sk } }));
    expect(after.Item?.name).toBe("Acme");
  });
});

describe("SQS (fauxqs)", () => {
  it("sends, receives and deletes a message", async () => {
    const sqs = createSqsClient(config);
    await sqs.send(new SendMessageCommand({ QueueUrl: config.rawQueueUrl, MessageBody: '{"hello":"world"}' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: config.rawQueueUrl, WaitTimeSeconds: 1 }));
    expect(received.Messages).toHaveLength(1);
    const message = received.Messages?.[0];
    expect(message?.Body).toBe('{"hello":"world"}');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: config.rawQueueUrl, ReceiptHandle: message?.ReceiptHandle }));
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: config.rawQueueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
    );
    expect(again.Messages ?? []).toHaveLength(0);
  });

  it("moves a message to the dead-letter queue after the redrive policy's receive count", async () => {
    const sqs = createSqsClient(config);
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: config.rawQueueUrl, AttributeNames: ["All"] }),
    );
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? "{}").maxReceiveCount).toBe(String(RawQueue.maxReceiveCount));
    expect(attrs.Attributes?.VisibilityTimeout).toBe(String(RawQueue.visibilityTimeoutSeconds));

    await sqs.send(new SendMessageCommand({ QueueUrl: config.rawQueueUrl, MessageBody: "poison" }));
    // Receive without deleting, as a failing consumer would; visibility 0 makes it visible again at once.
    let receives = 0;
    for (let i = 0; i < RawQueue.maxReceiveCount + 2; i++) {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: config.rawQueueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
      );
      receives += got.Messages?.length ?? 0;
    }
    expect(receives).toBe(RawQueue.maxReceiveCount);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: config.deadLetterQueueUrl, WaitTimeSeconds: 1 }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(["poison"]);
  });
});

describe("local services lifecycle", () => {
  it("stops DynamoDB Local's Java process when stopped", async () => {
    const services = await startLocalServices();
    const port = new URL(services.dynamoEndpoint).port;
    const javaRunning = () => {
      try {
        return (
          execFileSync("pgrep", ["-f", `DynamoDBLocal.jar -port ${port}`])
            .toString()
            .trim().length > 0
        );
      } catch {
        return false;
      }
    };
    expect(javaRunning()).toBe(true);
    await services.stop();
    expect(javaRunning()).toBe(false);
  });
});
