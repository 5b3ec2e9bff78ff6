import {
  DeadLetterQueue,
  deployedQueueName,
  type QueueDefinition,
  RawQueue,
} from "../packages/resources/src/definitions";

/** Settings SST's Queue has no argument for, set on the underlying aws.sqs.Queue. */
function queueTransform(definition: QueueDefinition) {
  return {
    queue: {
      // A predictable name, so `npm run redrive -- --stage NAME` can find the queues of a stage.
      name: deployedQueueName($app.name, $app.stage, definition),
      maxMessageSize: definition.maximumMessageSizeBytes,
      messageRetentionSeconds: definition.messageRetentionSeconds,
    },
  };
}

export const deadLetterQueue = new sst.aws.Queue(DeadLetterQueue.name, {
  visibilityTimeout: `${DeadLetterQueue.visibilityTimeoutSeconds} seconds`,
  transform: queueTransform(DeadLetterQueue),
});

export const rawQueue = new sst.aws.Queue(RawQueue.name, {
  visibilityTimeout: `${RawQueue.visibilityTimeoutSeconds} seconds`,
  dlq: { queue: deadLetterQueue.arn, retry: RawQueue.maxReceiveCount },
  transform: queueTransform(RawQueue),
});
