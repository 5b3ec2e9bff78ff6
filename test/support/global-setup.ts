import type { TestProject } from "vitest/node";
import { IngestError } from "../../packages/core/src/errors";
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
  const services = await startLocalServices().catch((error: unknown) => {
    // Java is the one prerequisite npm ci cannot install: say so in one line, without a stack.
    if (error instanceof IngestError && error.code === "local.java_missing") {
      process.stderr.write(`\nnpm test: ${error.message}\n\n`);
      const plain = new Error(error.message);
      plain.stack = plain.message;
      throw plain;
    }
    throw error;
  });
  project.provide("localEndpoints", { dynamoEndpoint: services.dynamoEndpoint, sqsEndpoint: services.sqsEndpoint });
  return async () => {
    await services.stop();
  };
}
