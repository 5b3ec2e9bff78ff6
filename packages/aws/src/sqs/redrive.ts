import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { DependencyError } from "../../../core/src/errors";
import { RawQueueMessage } from "../../../core/src/queue-message";

/** What the dead-letter queue holds, by workspace and by why a message cannot be normalized. */
export interface DeadLetterReport {
  messages: number;
  calls: number;
  byWorkspace: Record<string, number>;
  /** `ok` for messages that parse as raw ingest messages (they failed transiently); otherwise the parse problem. */
  byReason: Record<string, number>;
  /** Receive counts seen (how often normalize tried). */
  maxReceiveCount: number;
}

export interface RedriveResult extends DeadLetterReport {
  moved: number;
}

function describe(message: Message, report: DeadLetterReport): void {
  report.messages++;
  report.maxReceiveCount = Math.max(report.maxReceiveCount, Number(message.Attributes?.ApproximateReceiveCount ?? 0));
  let parsed: ReturnType<typeof RawQueueMessage.safeParse>;
  try {
    parsed = RawQueueMessage.safeParse(JSON.parse(message.Body ?? ""));
  } catch {
    report.byReason["not JSON"] = (report.byReason["not JSON"] ?? 0) + 1;
    return;
  }
  if (!parsed.success) {
    const reason = `not a raw ingest message (${parsed.error.issues[0]?.path.join(".") ?? "?"})`;
    report.byReason[reason] = (report.byReason[reason] ?? 0) + 1;
    return;
  }
  report.byReason.ok = (report.byReason.ok ?? 0) + 1;
  report.calls += parsed.data.calls.length;
  report.byWorkspace[parsed.data.workspaceId] = (report.byWorkspace[parsed.data.workspaceId] ?? 0) + 1;
}

const emptyReport = (): DeadLetterReport => ({
  messages: 0,
  calls: 0,
  byWorkspace: {},
  byReason: {},
  maxReceiveCount: 0,
});

/**
 * Moves dead-lettered messages back to the raw queue (or, with `dryRun`, only reports them). Each
 * message is deleted from the DLQ only after the raw queue accepted it, so a failure midway loses
 * nothing: at worst a message is in both queues, and normalize stores a messageId once.
 * A dry run receives messages with a short visibility timeout and leaves them where they are.
 *
 * @example
 * const result = await redrive(sqs, { from: dlqUrl, to: rawQueueUrl, dryRun: true });
 */
export async function redrive(
  sqs: SQSClient,
  options: { from: string; to: string; dryRun: boolean; max?: number; onProgress?: (moved: number) => void },
): Promise<RedriveResult> {
  const report = emptyReport();
  const seen = new Set<string>();
  let moved = 0;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  let emptyPolls = 0;
  while (report.messages < max && emptyPolls < 2) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.from,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        // A dry run hides messages only long enough to count each once.
        VisibilityTimeout: options.dryRun ? 30 : 60,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        MessageAttributeNames: ["All"],
      }),
    );
    const messages = (received.Messages ?? []).filter((m) => !seen.has(m.MessageId ?? ""));
    if (messages.length === 0) {
      emptyPolls++;
      continue;
    }
    emptyPolls = 0;
    for (const m of messages) {
      seen.add(m.MessageId ?? "");
      describe(m, report);
    }
    if (options.dryRun) continue;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: options.to,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? "",
          MessageAttributes: m.MessageAttributes,
        })),
      }),
    );
    const accepted = new Set((sent.Successful ?? []).map((s) => Number(s.Id)));
    const toDelete = messages.filter((_, i) => accepted.has(i));
    if (toDelete.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.from,
          Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    moved += toDelete.length;
    options.onProgress?.(moved);
    if (toDelete.length < messages.length) {
      throw new DependencyError(
        "queue.unavailable",
        `the raw queue refused ${messages.length - toDelete.length} message(s); they stay in the DLQ`,
      );
    }
  }
  return { ...report, moved };
}
