import { createHmac } from "node:crypto";
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import {
  createIngestDependencies,
  createIngestHandler,
  type IngestDependencies,
} from "../../../packages/aws/src/ingest/handler";
import { RawQueueMessage } from "../../../packages/core/src/queue-message";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { provisionTestResources } from "../../support/local-resources";

/**
 * The ingest path of one test file on real local servers: fresh tables and queues, the real
 * handler (real workspace store and SQS sender, credential cache off unless asked) behind the
 * HTTP adapter on a loopback port, and an admin store to create workspaces with.
 */
export interface IngestStack {
  config: Config;
  /** Admin access to workspaces (no cache). */
  store: WorkspaceStore;
  sqs: SQSClient;
  server: HandlerServer;
  close(): Promise<void>;
}

export async function startIngestStack(
  options: { dependencies?: (config: Config) => IngestDependencies } = {},
): Promise<IngestStack> {
  const { config } = await provisionTestResources();
  const db = createDocumentClient(config);
  const sqs = createSqsClient(config);
  const dependencies =
    options.dependencies?.(config) ?? createIngestDependencies({ ...config, credentialCacheSeconds: 0 });
  const server = await startHandlerServer([{ prefix: "/v1", handler: createIngestHandler(dependencies) }]);
  return {
    config,
    store: new WorkspaceStore(db, config.entitiesTable),
    sqs,
    server,
    async close() {
      await server.close();
      db.destroy();
      sqs.destroy();
    },
  };
}

/** Segment's signature, computed here with node:crypto. */
export function segmentSign(payload: string, secret: string): string {
  return createHmac("sha1", secret).update(payload).digest("hex");
}

/** POSTs a body and returns the status and the parsed JSON answer. */
export interface Answer {
  status: number;
  body: { success: boolean; code?: string; message?: string; problems?: unknown[] };
}

export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

export interface ReceivedMessage {
  message: RawQueueMessage;
  body: string;
  attributes: Record<string, string | undefined>;
}

/**
 * Receives (and deletes) every message on a queue until a receive waiting `waitSeconds` comes back
 * empty. An empty result means nothing was queued.
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string, waitSeconds = 1): Promise<ReceivedMessage[]> {
  const received: ReceivedMessage[] = [];
  for (;;) {
    const answer = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageAttributeNames: ["All"],
      }),
    );
    const messages: Message[] = answer.Messages ?? [];
    if (messages.length === 0) return received;
    for (const m of messages) {
      const attributes: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) attributes[name] = value.StringValue;
      received.push({ message: RawQueueMessage.parse(JSON.parse(m.Body ?? "")), body: m.Body ?? "", attributes });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** Every call of the received messages, in message order. */
export function callsOf(received: readonly ReceivedMessage[]): Record<string, unknown>[] {
  return received.flatMap((r) => r.message.calls);
}

/** A track call like Segment sends it. */
export function segmentTrack(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "track",
    event: "Report Exported",
    userId: `user-${i % 50}`,
    anonymousId: `anon-${i % 50}`,
    messageId: `ajs-next-${i}-${"0".repeat(8)}`,
    timestamp: "2024-05-01T12:00:00.000Z",
    originalTimestamp: "2024-05-01T11:59:59.512Z",
    sentAt: "2024-05-01T12:00:00.100Z",
    receivedAt: "2024-05-01T12:00:00.250Z",
    properties: { format: "csv", rows: i },
    context: { groupId: "acct-1", library: { name: "analytics.js", version: "2.11.1" }, ip: "203.0.113.7" },
    integrations: {},
    version: 2,
    ...extra,
  };
}
