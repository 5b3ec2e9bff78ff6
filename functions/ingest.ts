import { loadConfig } from "../packages/aws/src/config";
import { createIngestDependencies, createIngestHandler } from "../packages/aws/src/ingest/handler";

/** POST /v1/webhooks/segment/{workspaceId}/{sourceName?} and the tracking API (/v1/track, /v1/batch, …). */
export const handler = createIngestHandler(async () => createIngestDependencies(await loadConfig()));
