import { createServer } from "node:net";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createApiDependencies, createApiHandler } from "../../aws/src/api/handler";
import { createDocumentClient, createSqsClient } from "../../aws/src/clients";
import { type Config, loadConfig, resetConfig } from "../../aws/src/config";
import { ApiKeyStore } from "../../aws/src/dynamo/api-keys";
import { DynamoIdentityStore } from "../../aws/src/dynamo/identity-store";
import { DynamoModelStore } from "../../aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../aws/src/handlers/normalize";
import { createIngestDependencies, createIngestHandler } from "../../aws/src/ingest/handler";
import { IngestError } from "../../core/src/errors";
import { consoleSiteRoute } from "./console-site";
import { type DevWorkspace, ensureDevWorkspace } from "./dev-workspace";
import { localEnvironment } from "./environment";
import { type HandlerServer, startHandlerServer } from "./http-adapter";
import { type PendingSweep, startPendingSweep } from "./pending-sweep";
import { type Poller, startPoller } from "./poller";
import { provisionResources } from "./provision";
import { localRoutes } from "./routes";
import { type LocalServices, startLocalServices } from "./services";

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
  // Before the first SDK client: no instance-metadata probing, no Node version notice on stderr.
  process.env.AWS_EC2_METADATA_DISABLED ??= "true";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  await assertPortFree(options.port);

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log(`stop: ${error instanceof Error ? error.message : String(error)}`));
    }
  };

  try {
    const services: LocalServices = await startLocalServices({ dataDir: join(options.dataDir, "dynamodb") });
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

    const poller: Poller = await startPoller({
      sqs,
      queueUrl: config.rawQueueUrl,
      handler: createNormalizeHandler(),
      // Short long polls: a stop waits for the one in flight (see Poller.stop).
      waitTimeSeconds: 2,
      failedVisibilitySeconds: options.failedVisibilitySeconds ?? defaultFailedVisibilitySeconds,
      // One batch at a time, so local results do not depend on timing (Lambda runs several).
      concurrency: 1,
      region: config.region,
      log,
    });
    const drainMs = options.drainMs ?? 10_000;
    cleanups.push(async () => {
      await poller.stop({ drainMs });
      if (poller.stats.failed > 0) {
        log(`poller: ${poller.stats.failed} message(s) failed and are retried from the queue (or its DLQ)`);
      }
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
          ...localRoutes(
            createIngestHandler(createIngestDependencies(config)),
            createApiHandler(createApiDependencies(config)),
          ),
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
