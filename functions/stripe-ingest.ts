import { loadConfig } from "../packages/aws/src/config";
import { createIngestDependencies, createIngestHandler } from "../packages/aws/src/ingest/handler";
import { stripeFunctionSources } from "../packages/core/src/sources/stripe-registry";

/** Stripe's webhooks (/v1/webhooks/stripe/…): the only function that carries the `stripe` SDK. */
export const handler = createIngestHandler(async () =>
  createIngestDependencies(await loadConfig(), { sources: stripeFunctionSources, caller: "stripe-ingest" }),
);
