/**
 * Names of the environment variables the functions' configuration reads (packages/aws/src/config.ts).
 * infra/ sets them on each function from the deployed resources; the local stack from its own.
 */
export const ConfigEnv = {
  region: "AWS_REGION",
  entitiesTable: "ENTITIES_TABLE",
  eventsTable: "EVENTS_TABLE",
  rawQueueUrl: "RAW_QUEUE_URL",
  deadLetterQueueUrl: "DLQ_URL",
  dynamoEndpoint: "DYNAMODB_ENDPOINT",
  sqsEndpoint: "SQS_ENDPOINT",
  credentialCacheSeconds: "CREDENTIAL_CACHE_SECONDS",
  pendingRetentionDays: "PENDING_RETENTION_DAYS",
  version: "SERVICE_VERSION",
} as const;
