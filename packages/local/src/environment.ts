import { ConfigEnv } from "../../aws/src/config";
import { DeadLetterQueue, EntitiesTable, EventsTable, RawQueue } from "../../resources/src/definitions";
import type { ProvisionedResources } from "./provision";

/**
 * The environment variables that point the handlers' configuration at local servers and the
 * tables and queues of one provisioned prefix.
 */
export function localEnvironment(
  endpoints: { dynamoEndpoint: string; sqsEndpoint: string },
  resources: ProvisionedResources,
): Record<string, string> {
  return {
    [ConfigEnv.region]: "us-east-1",
    [ConfigEnv.dynamoEndpoint]: endpoints.dynamoEndpoint,
    [ConfigEnv.sqsEndpoint]: endpoints.sqsEndpoint,
    [ConfigEnv.entitiesTable]: resources.tables[EntitiesTable.name] as string,
    [ConfigEnv.eventsTable]: resources.tables[EventsTable.name] as string,
    [ConfigEnv.rawQueueUrl]: resources.queueUrls[RawQueue.name] as string,
    [ConfigEnv.deadLetterQueueUrl]: resources.queueUrls[DeadLetterQueue.name] as string,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_EC2_METADATA_DISABLED: "true",
  };
}
