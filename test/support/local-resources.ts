import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { inject } from "vitest";
import { createSqsClient } from "../../packages/aws/src/clients";
import { type Config, parseConfig, resetConfig } from "../../packages/aws/src/config";
import { localEnvironment } from "../../packages/local/src/environment";
import { provisionResources } from "../../packages/local/src/provision";

/**
 * Provisions fresh tables and queues (from the shared definitions) on the suite's local servers,
 * points this test file's environment at them, and returns the parsed configuration.
 */
export async function provisionTestResources(): Promise<{ config: Config; env: Record<string, string> }> {
  const endpoints = inject("localEndpoints");
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const db = new DynamoDBClient({
    region: "us-east-1",
    endpoint: endpoints.dynamoEndpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const sqs = createSqsClient({ region: "us-east-1", sqsEndpoint: endpoints.sqsEndpoint });
  try {
    const resources = await provisionResources(db, sqs, prefix);
    const env = localEnvironment(endpoints, resources);
    Object.assign(process.env, env);
    resetConfig();
    return { config: parseConfig(env), env };
  } finally {
    db.destroy();
    sqs.destroy();
  }
}
