import type { TestProject } from "vitest/node";
import { startLocalServices } from "../../packages/local/src/services";

declare module "vitest" {
  export interface ProvidedContext {
    localEndpoints: { dynamoEndpoint: string; sqsEndpoint: string };
  }
}

/**
 * Starts the real DynamoDB Local and SQS servers once for the integration suite and stops them
 * afterwards. Each test file provisions its own tables and queues (see `local-resources.ts`), so
 * files can run in parallel without seeing each other's data.
 */
export default async function setup(project: TestProject) {
  const services = await startLocalServices();
  project.provide("localEndpoints", { dynamoEndpoint: services.dynamoEndpoint, sqsEndpoint: services.sqsEndpoint });
  return async () => {
    await services.stop();
  };
}
