import {
  functionSettings,
  lambdaRuntime,
  normalizeSubscription,
  RawQueue,
} from "../packages/resources/src/definitions";
import { ConfigEnv } from "../packages/resources/src/environment";
import { deadLetterQueue, rawQueue } from "./queue";
import { entities, events } from "./storage";

/**
 * The functions and what each may touch. Permissions are listed action by action instead of
 * linking whole resources (a link grants every action on it): ingest only reads credentials and
 * sends to the raw queue; normalize and the API read and write the tables they use.
 */
const runtime = {
  runtime: lambdaRuntime,
  architecture: "arm64" as const,
  // The Node.js runtime ships AWS SDK v3; bundling only our code keeps cold starts short
  // (bundle sizes: docs/performance.md). No SDK v2 anywhere.
  nodejs: { minify: true, format: "esm" as const, esbuild: { external: ["@aws-sdk/*", "@smithy/*"] } },
};

const tableArns = (table: sst.aws.Dynamo) => [table.arn, $interpolate`${table.arn}/index/*`];
const read = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];
const write = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];
/**
 * PartiQL statements in BatchExecuteStatement (25 conditional writes a request): INSERTs of events,
 * UPDATEs of profiles' event months, INSERTs and UPDATEs of profiles, account listings and
 * memberships. IAM authorises each statement by its verb, not by PutItem or UpdateItem.
 */
const partiqlInsert = ["dynamodb:PartiQLInsert"];
const partiqlUpdate = ["dynamodb:PartiQLUpdate"];

/**
 * The one way configuration reaches the functions (docs/deploy.md): these variables, read by
 * packages/aws/src/config.ts. Nothing is linked; the local stack sets the same variables.
 */
const environment = {
  [ConfigEnv.entitiesTable]: entities.name,
  [ConfigEnv.eventsTable]: events.name,
  [ConfigEnv.rawQueueUrl]: rawQueue.url,
  [ConfigEnv.deadLetterQueueUrl]: deadLetterQueue.url,
  [ConfigEnv.version]: $app.stage,
};

export const ingest = new sst.aws.Function("Ingest", {
  ...runtime,
  handler: "functions/ingest.handler",
  timeout: `${functionSettings.ingest.timeoutSeconds} seconds`,
  memory: `${functionSettings.ingest.memoryMb} MB`,
  environment,
  permissions: [
    // UpdateItem: the per-source delivery counters (packages/aws/src/dynamo/delivery-status.ts).
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: tableArns(entities) },
    { actions: ["sqs:SendMessage"], resources: [rawQueue.arn] },
  ],
});

/**
 * Stripe's webhooks, in their own function so that only it carries the `stripe` SDK: it reads the
 * Stripe source (signing secrets, API key) and counts deliveries on the Entities table itself, no
 * index, and sends to the raw queue; its re-fetch calls Stripe's API, not AWS.
 */
export const stripeIngest = new sst.aws.Function("StripeIngest", {
  ...runtime,
  handler: "functions/stripe-ingest.handler",
  timeout: `${functionSettings.ingest.timeoutSeconds} seconds`,
  memory: `${functionSettings.ingest.memoryMb} MB`,
  environment,
  permissions: [
    { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [entities.arn] },
    { actions: ["sqs:SendMessage"], resources: [rawQueue.arn] },
  ],
});

export const api = new sst.aws.Function("Api", {
  ...runtime,
  handler: "functions/api.handler",
  timeout: `${functionSettings.api.timeoutSeconds} seconds`,
  memory: `${functionSettings.api.memoryMb} MB`,
  environment,
  permissions: [
    { actions: [...read, ...write], resources: tableArns(entities) },
    { actions: read, resources: tableArns(events) },
    { actions: ["sqs:SendMessage"], resources: [rawQueue.arn] },
  ],
});

export const normalize = rawQueue.subscribe(
  {
    ...runtime,
    handler: "functions/normalize.handler",
    timeout: `${functionSettings.normalize.timeoutSeconds} seconds`,
    memory: `${functionSettings.normalize.memoryMb} MB`,
    environment,
    permissions: [
      { actions: [...read, ...write], resources: [...tableArns(entities), ...tableArns(events)] },
      { actions: partiqlInsert, resources: [events.arn, entities.arn] },
      { actions: partiqlUpdate, resources: [entities.arn] },
    ],
  },
  {
    batch: {
      size: normalizeSubscription.batchSize,
      window: `${normalizeSubscription.maximumBatchingWindowSeconds} seconds`,
      partialResponses: normalizeSubscription.partialResponses,
    },
  },
);

/** Pending calls whose entity maps never arrived expire as rejects (spec 3.5). */
export const sweep = new sst.aws.Cron("PendingSweep", {
  schedule: "rate(1 hour)",
  function: {
    ...runtime,
    handler: "functions/sweep.handler",
    timeout: `${functionSettings.sweep.timeoutSeconds} seconds`,
    memory: `${functionSettings.sweep.memoryMb} MB`,
    environment,
    permissions: [{ actions: [...read, ...write], resources: tableArns(entities) }],
  },
});

/** Visibility timeout must outlast the consumer: checked here as well as in the settings test. */
if (RawQueue.visibilityTimeoutSeconds < 6 * functionSettings.normalize.timeoutSeconds) {
  throw new Error("RawQueue visibility timeout must be at least six times the normalize timeout");
}
