import { GetQueueUrlCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../../../aws/src/clients";
import { loadConfig } from "../../../aws/src/config";
import { redrive } from "../../../aws/src/sqs/redrive";
import { DeadLetterQueue, deployedQueueName, RawQueue } from "../../../resources/src/definitions";
import { type CliCommand, optionalString, UsageError } from "../command";
import { formatFields } from "../output";

const appName = "segment-ingest";

/** The queues of a deployed stage (named by infra/queue.ts), or of the configured (local) stack. */
async function queues(stage: string | undefined): Promise<{ sqs: SQSClient; from: string; to: string }> {
  if (stage) {
    const sqs = createSqsClient({ region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1" });
    const url = async (name: string) =>
      (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string;
    return {
      sqs,
      from: await url(deployedQueueName(appName, stage, DeadLetterQueue)),
      to: await url(deployedQueueName(appName, stage, RawQueue)),
    };
  }
  const config = await loadConfig();
  if (!config.deadLetterQueueUrl)
    throw new UsageError("DLQ_URL is not set: pass --stage NAME, or run it where the local stack's environment is set");
  return { sqs: createSqsClient(config), from: config.deadLetterQueueUrl, to: config.rawQueueUrl };
}

export const redriveCommand: CliCommand = {
  path: ["redrive"],
  summary: "Move dead-lettered messages back to the raw queue (--dry-run: only count them and say why they failed)",
  usage: "[--stage NAME] [--dry-run] [--max N]",
  options: { stage: { type: "string" }, "dry-run": { type: "boolean" }, max: { type: "string" } },
  async run(values) {
    const max = optionalString(values, "max");
    if (max !== undefined && !/^[1-9]\d*$/.test(max)) throw new UsageError("--max takes a positive whole number");
    const dryRun = values["dry-run"] === true;
    const { sqs, from, to } = await queues(optionalString(values, "stage"));
    try {
      const result = await redrive(sqs, {
        from,
        to,
        dryRun,
        ...(max ? { max: Number(max) } : {}),
        onProgress: (moved) => process.stderr.write(`\rmoved ${moved}`),
      });
      if (!dryRun && result.moved > 0) process.stderr.write("\n");
      const text = formatFields([
        ["mode", dryRun ? "dry run (nothing moved)" : "redrive"],
        ["messages", String(result.messages)],
        ["calls", String(result.calls)],
        ["moved", String(result.moved)],
        ["highest receive count", String(result.maxReceiveCount)],
        [
          "by workspace",
          Object.entries(result.byWorkspace)
            .map(([w, n]) => `${w}: ${n}`)
            .join(", ") || "-",
        ],
        [
          "by reason",
          Object.entries(result.byReason)
            .map(([r, n]) => `${r}: ${n}`)
            .join(", ") || "-",
        ],
      ]);
      return { data: result, text };
    } finally {
      sqs.destroy();
    }
  },
};
