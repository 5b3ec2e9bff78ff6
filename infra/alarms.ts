import { alarmThresholds } from "../packages/resources/src/definitions";
import { httpApi } from "./api";
import { normalize } from "./functions";
import { deadLetterQueue, rawQueue } from "./queue";

/** Where alarms go: subscribe an email with `ALARM_EMAIL` at deploy time, or anything else later. */
export const alarmTopic = new sst.aws.SnsTopic("Alarms");
if (process.env.ALARM_EMAIL) alarmTopic.subscribe("AlarmEmail", process.env.ALARM_EMAIL);

const common = {
  alarmActions: [alarmTopic.arn],
  okActions: [alarmTopic.arn],
  treatMissingData: "notBreaching",
};

/** Messages failed five receives: data is waiting for a person (docs/operations.md). */
export const deadLetters = new aws.cloudwatch.MetricAlarm("DeadLettersAlarm", {
  ...common,
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: deadLetterQueue.nodes.queue.name },
  statistic: "Maximum",
  period: 60,
  evaluationPeriods: 1,
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
});

export const normalizeErrors = new aws.cloudwatch.MetricAlarm("NormalizeErrorsAlarm", {
  ...common,
  namespace: "AWS/Lambda",
  metricName: "Errors",
  dimensions: { FunctionName: normalize.nodes.function.name },
  statistic: "Sum",
  period: 300,
  evaluationPeriods: 1,
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
});

export const ingestServerErrors = new aws.cloudwatch.MetricAlarm("Ingest5xxAlarm", {
  ...common,
  namespace: "AWS/ApiGateway",
  metricName: "5xx",
  dimensions: { ApiId: httpApi.nodes.api.id },
  statistic: "Sum",
  period: 300,
  evaluationPeriods: 1,
  threshold: alarmThresholds.ingest5xxPerFiveMinutes,
  comparisonOperator: "GreaterThanThreshold",
});

export const queueAge = new aws.cloudwatch.MetricAlarm("QueueAgeAlarm", {
  ...common,
  namespace: "AWS/SQS",
  metricName: "ApproximateAgeOfOldestMessage",
  dimensions: { QueueName: rawQueue.nodes.queue.name },
  statistic: "Maximum",
  period: 60,
  evaluationPeriods: 5,
  threshold: alarmThresholds.queueAgeSeconds,
  comparisonOperator: "GreaterThanThreshold",
});
