import { loadConfig } from "../packages/aws/src/config";
import { createIngestDependencies, createIngestHandler } from "../packages/aws/src/ingest/handler";

/** The Segment webhook and the tracking API (/v1/track, /v1/batch, …); Stripe's webhooks are functions/stripe-ingest.ts. */
export const handler = createIngestHandler(async () => createIngestDependencies(await loadConfig()));
