import { loadConfig } from "../packages/aws/src/config";
import { createIngestDependencies, createIngestHandler } from "../packages/aws/src/ingest/handler";

/** Every source's routes (packages/core/src/sources/): the Segment webhook and the tracking API (/v1/track, /v1/batch, …). */
export const handler = createIngestHandler(async () => createIngestDependencies(await loadConfig()));
