import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type QueueDefinition, queues, type TableDefinition, tables } from "../../resources/src/definitions";

/** Table and queue names of one local stack, derived from the shared definitions and a prefix. */
export interface ProvisionedResources {
  tables: Record<string, string>;
  queueUrls: Record<string, string>;
}

/** DynamoDB's CreateTable input for a definition: the same keys and indexes that infra/ deploys. */
export function createTableInput(definition: TableDefinition, tableName: string) {
  const attributes = new Set<string>([definition.partitionKey, definition.sortKey]);
  for (const index of definition.globalIndexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST" as const,
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: "S" as const })),
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: "HASH" as const },
      { AttributeName: definition.sortKey, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: definition.globalIndexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: "HASH" as const },
        { AttributeName: index.sortKey, KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "ALL" as const },
    })),
  };
}

async function ensureTable(db: DynamoDBClient, definition: TableDefinition, tableName: string): Promise<void> {
  try {
    await db.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await db.send(new CreateTableCommand(createTableInput(definition, tableName)));
  await db.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
    }),
  );
}

/** SQS queue attributes for a definition; the redrive policy needs the dead-letter queue's ARN. */
export function queueAttributes(definition: QueueDefinition, deadLetterArn?: string): Record<string, string> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MaximumMessageSize: String(definition.maximumMessageSizeBytes),
    MessageRetentionPeriod: String(definition.messageRetentionSeconds),
  };
  if (definition.deadLetterQueue && deadLetterArn) {
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: deadLetterArn,
      maxReceiveCount: String(definition.maxReceiveCount),
    });
  }
  return attributes;
}

/**
 * Creates every table and queue of the shared definitions that does not exist yet, named
 * `<prefix>-<logical name>`, and returns their names and URLs. Safe to run on every start.
 *
 * @example
 * const { tables, queueUrls } = await provisionResources(db, sqs, "local");
 */
export async function provisionResources(
  db: DynamoDBClient,
  sqs: SQSClient,
  prefix: string,
): Promise<ProvisionedResources> {
  const result: ProvisionedResources = { tables: {}, queueUrls: {} };
  for (const table of tables) {
    const name = `${prefix}-${table.name}`;
    await ensureTable(db, table, name);
    result.tables[table.name] = name;
  }
  const arns: Record<string, string> = {};
  for (const queue of queues) {
    const deadLetterArn = "deadLetterQueue" in queue ? arns[queue.deadLetterQueue] : undefined;
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}-${queue.name}`,
        Attributes: queueAttributes(queue, deadLetterArn),
      }),
    );
    const url = created.QueueUrl as string;
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
    arns[queue.name] = attrs.Attributes?.QueueArn as string;
    result.queueUrls[queue.name] = url;
  }
  return result;
}

/**
 * A queue URL as reached through `sqsEndpoint`. A persisted fauxqs queue keeps the URL it was
 * created with, port included, and the SDK sends a queue's requests to its URL's host; the local
 * servers take a new port on every start, while fauxqs finds a queue by the URL's path alone.
 *
 * @example
 * queueUrlAt("http://127.0.0.1:4566/000000000000/local-raw", "http://127.0.0.1:39001");
 * // "http://127.0.0.1:39001/000000000000/local-raw"
 */
export function queueUrlAt(queueUrl: string, sqsEndpoint: string): string {
  return new URL(new URL(queueUrl).pathname, sqsEndpoint).href;
}
