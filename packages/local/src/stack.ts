import { createServer } from "node:net";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ChangeMessageVisibilityBatchCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient, createSqsClient } from "../../aws/src/clients";
import { type Config, loadConfig, resetConfig } from "../../aws/src/config";
import { ApiKeyStore } from "../../aws/src/dynamo/api-keys";
import { DynamoIdentityStore } from "../../aws/src/dynamo/identity-store";
import { DynamoModelStore } from "../../aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../aws/src/handlers/normalize";
import { IngestError } from "../../core/src/errors";
import { consoleSiteRoute } from "./console-site";
import { type DevWorkspace, ensureDevWorkspace } from "./dev-workspace";
import { localEnvironment } from "./environment";
import { localHttpHandlers } from "./handlers";
import { type HandlerServer, startHandlerServer } from "./http-adapter";
import { type PendingSweep, startPendingSweep } from "./pending-sweep";
import { type Poller, startPoller } from "./poller";
import { provisionResources, queueUrlAt } from "./provision";
import { localRoutes } from "./routes";
import { type LocalServices, receiptHandlesInFlight, startLocalServices } from "./services";

/**
 * The whole pipeline on this machine, as `npm start` runs it: DynamoDB Local (data on disk) and
 * fauxqs, the tables and queues of the shared definitions, the `dev` workspace, the real ingest and
 * API handlers behind one HTTP server, the real normalize handler fed by the SQS poller, and the
 * pending-call expiry that runs on a schedule on AWS.
 */

export interface LocalStackOptions {
  /** Holds `dynamodb/` (DynamoDB Local's files) and `dev-credentials.json`. */
  dataDir: string;
  /** HTTP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Where DEV_SHARED_SECRET, DEV_WRITE_KEY and DEV_API_KEY are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** Name prefix of tables and queues. Default `local`. */
  prefix?: string;
  /** Visibility of messages the normalize handler failed (seconds). Default 5. */
  failedVisibilitySeconds?: number;
  /** How long stop() keeps handling what is already queued. Default 10 s. */
  drainMs?: number;
  /** Normalize batches handled side by side, as Lambda runs several. Default 4. */
  concurrency?: number;
  /** Pending-call expiry interval. Default 60 s. */
  sweepIntervalMs?: number;
  /** Progress and problems of the stack itself, one line each. */
  log?: (line: string) => void;
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>` */
  url: string;
  dataDir: string;
  config: Config;
  dev: DevWorkspace;
  /** Stops the HTTP server, lets the poller finish and drain, then stops the servers. Idempotent. */
  stop(): Promise<void>;
}

/** Default for `failedVisibilitySeconds`: a local retry after seconds, not the deployed 3 minutes. */
export const defaultFailedVisibilitySeconds = 5;

/**
 * Default for `concurrency`: a small Lambda's worth of normalize batches at once, so that races
 * between concurrent normalizers show locally as they would on AWS.
 */
export const defaultNormalizeConcurrency = 4;

/** Messages on a queue: visible, in flight (received, not deleted) and delayed. */
async function messagesOn(sqs: SQSClient, queueUrl: string): Promise<number> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  const a = answer.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/**
 * Makes the raw queue's messages that a previous run had received, and had not finished, visible
 * again within a second. The stack is the queue's only consumer, so at start such a message
 * belongs to a run that is gone (killed mid-batch): on AWS it would come back after the visibility
 * timeout (3 minutes); locally it is handled right away. Its receive count stays as SQS counted it.
 */
async function releaseMessagesOfAPreviousRun(sqs: SQSClient, sqsEndpoint: string, queueUrl: string): Promise<number> {
  const handles = await receiptHandlesInFlight(sqsEndpoint, queueUrl);
  for (let i = 0; i < handles.length; i += 10) {
    const answer = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        // One second, not 0: fauxqs 2.4.1 fails to persist a change to 0 (it writes a NULL receive count).
        Entries: handles
          .slice(i, i + 10)
          .map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 1 })),
      }),
    );
    if ((answer.Failed ?? []).length > 0) {
      throw new IngestError(
        "local.sqs_release_failed",
        `could not release ${answer.Failed?.length} message(s) a previous run left in flight: ${answer.Failed?.[0]?.Message}`,
      );
    }
  }
  return handles.length;
}

/**
 * What the stack says on stop about the messages it leaves behind (they are on disk, in
 * `sqs/` under the data directory).
 *
 * @example
 * leftOnQueuesMessage({ raw: 1200, deadLetter: 0 });
 * // "Left on the queues: 1,200 messages on the raw queue, processed on the next start; 0 on the dead-letter queue."
 */
export function leftOnQueuesMessage(left: { raw: number; deadLetter: number }): string {
  const count = (n: number) => n.toLocaleString("en-US");
  const raw =
    left.raw === 0
      ? "0 messages on the raw queue"
      : `${count(left.raw)} message${left.raw === 1 ? "" : "s"} on the raw queue, processed on the next start`;
  const dead =
    left.deadLetter === 0
      ? "0 on the dead-letter queue"
      : `${count(left.deadLetter)} on the dead-letter queue, kept there until redriven (npm run redrive)`;
  return `Left on the queues: ${raw}; ${dead}.`;
}

/** Fails fast with `local.port_taken` before the (slower) servers start. */
async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? portTaken(port, error) : error),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

function portTaken(port: number, cause: unknown): IngestError {
  return new IngestError(
    "local.port_taken",
    `Port ${port} on 127.0.0.1 is already in use: stop what uses it, or start with PORT=<another port>`,
    { cause },
  );
}

/**
 * Starts the local stack. If a step fails, whatever was started is stopped before the error is
 * thrown (`local.java_missing`, `local.port_taken`, …).
 *
 * @example
 * const stack = await startLocalStack({ dataDir: ".data", port: 3000, env: process.env });
 * // … POST to `${stack.url}/v1/webhooks/segment/dev`
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  // Before the first SDK client: no instance-metadata probing.
  process.env.AWS_EC2_METADATA_DISABLED ??= "true";
  await assertPortFree(options.port);

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log(`stop: ${error instanceof Error ? error.message : String(error)}`));
    }
  };

  try {
    const services: LocalServices = await startLocalServices({
      dataDir: join(options.dataDir, "dynamodb"),
      sqsDataDir: join(options.dataDir, "sqs"),
    });
    cleanups.push(() => services.stop());

    const admin = new DynamoDBClient({
      region: "us-east-1",
      endpoint: services.dynamoEndpoint,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const adminSqs = createSqsClient({ region: "us-east-1", sqsEndpoint: services.sqsEndpoint });
    const resources = await provisionResources(admin, adminSqs, options.prefix ?? "local").finally(() => {
      admin.destroy();
      adminSqs.destroy();
    });
    for (const [name, url] of Object.entries(resources.queueUrls)) {
      resources.queueUrls[name] = queueUrlAt(url, services.sqsEndpoint);
    }
    // The handlers read their configuration from the environment, as they do on AWS (infra/functions.ts).
    Object.assign(process.env, localEnvironment(services, resources));
    resetConfig();
    const config = await loadConfig();

    const db = createDocumentClient(config);
    const sqs = createSqsClient(config);
    cleanups.push(async () => {
      db.destroy();
      sqs.destroy();
    });
    const workspaces = new WorkspaceStore(db, config.entitiesTable);
    const dev = await ensureDevWorkspace({
      workspaces,
      apiKeys: new ApiKeyStore(db, config.entitiesTable),
      dataDir: options.dataDir,
      env: options.env,
    });

    const released = await releaseMessagesOfAPreviousRun(sqs, services.sqsEndpoint, config.rawQueueUrl);
    const waiting = await messagesOn(sqs, config.rawQueueUrl);
    if (waiting > 0) {
      log(
        `Found ${waiting.toLocaleString("en-US")} message(s) left on the raw queue by a previous run${released > 0 ? ` (${released} of them were being handled when it stopped)` : ""}: processing them now.`,
      );
    }

    const poller: Poller = await startPoller({
      sqs,
      queueUrl: config.rawQueueUrl,
      handler: createNormalizeHandler(),
      // Short long polls: a stop waits for the one in flight (see Poller.stop).
      waitTimeSeconds: 2,
      failedVisibilitySeconds: options.failedVisibilitySeconds ?? defaultFailedVisibilitySeconds,
      concurrency: options.concurrency ?? defaultNormalizeConcurrency,
      region: config.region,
      log,
    });
    const drainMs = options.drainMs ?? 10_000;
    cleanups.push(async () => {
      await poller.stop({ drainMs });
      if (poller.stats.failed > 0) {
        log(`poller: ${poller.stats.failed} message(s) failed and are retried from the queue (or its DLQ)`);
      }
      const [raw, deadLetter] = await Promise.all([
        messagesOn(sqs, config.rawQueueUrl),
        config.deadLetterQueueUrl ? messagesOn(sqs, config.deadLetterQueueUrl) : 0,
      ]);
      log(leftOnQueuesMessage({ raw, deadLetter }));
    });

    const model = new DynamoModelStore(db, config);
    const sweep: PendingSweep = startPendingSweep({
      workspaces,
      identity: new DynamoIdentityStore(db, config, model),
      retentionDays: config.pendingRetentionDays,
      intervalMs: options.sweepIntervalMs ?? 60_000,
      log,
    });
    cleanups.push(() => sweep.stop());

    let server: HandlerServer;
    try {
      server = await startHandlerServer(
        [
          ...localRoutes(localHttpHandlers(config)),
          consoleSiteRoute({ log }), // the Console at `/`; API and ingest routes are longer prefixes and win
        ],
        { port: options.port, host: "127.0.0.1" },
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw portTaken(options.port, error);
      throw error;
    }
    cleanups.push(() => server.close());

    let stopping: Promise<void> | undefined;
    return {
      url: server.url,
      dataDir: options.dataDir,
      config,
      dev,
      stop: () => {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
