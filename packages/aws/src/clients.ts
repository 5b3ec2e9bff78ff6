import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "./config";
import { type AuditedFunction, auditSdkCalls } from "./sdk-call-audit";

/** Local servers accept any credentials; giving fixed ones keeps the SDK off the credential chain. */
const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

/**
 * The SDK's own retries (standard mode: throttling, 5xx, timeouts, network errors), on top of which
 * our code retries only what the SDK cannot see (unprocessed batch items, failed queue entries, lost
 * races) and SQS redelivery retries whole messages: docs/operations.md, "Retries".
 */
const maxAttempts = 3;

/**
 * A DynamoDB document client for the configured endpoint. Empty strings and class instances are
 * not expected in items; undefined values are dropped so optional fields need no cleanup. `caller`
 * names the function the client works for, in the SDK call audit (sdk-call-audit.ts).
 *
 * @example
 * const db = createDocumentClient(await loadConfig(), "ingest");
 */
export function createDocumentClient(
  config: Pick<Config, "region" | "dynamoEndpoint">,
  caller?: AuditedFunction,
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.region,
    maxAttempts,
    ...(config.dynamoEndpoint ? { endpoint: config.dynamoEndpoint, credentials: localCredentials } : {}),
  });
  if (caller) auditSdkCalls(client, caller, "dynamodb");
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

/**
 * An SQS client. Locally the endpoint must be explicit: fauxqs queue URLs name a host that does
 * not resolve. `caller` as for `createDocumentClient`.
 */
export function createSqsClient(config: Pick<Config, "region" | "sqsEndpoint">, caller?: AuditedFunction): SQSClient {
  const client = new SQSClient({
    region: config.region,
    maxAttempts,
    ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint, credentials: localCredentials } : {}),
  });
  if (caller) auditSdkCalls(client, caller, "sqs");
  return client;
}
