import { createApiDependencies, createApiHandler } from "../../aws/src/api/handler";
import type { Config } from "../../aws/src/config";
import { createIngestDependencies, createIngestHandler } from "../../aws/src/ingest/handler";
import type { FunctionName } from "../../core/src/http/routes";
import { stripeFunctionSources } from "../../core/src/sources/stripe-registry";
import type { HttpApiLambda } from "./http-adapter";

/**
 * The HTTP functions over one configuration, as functions/*.ts make them on AWS: ingest (the
 * Segment webhook and the tracking API), stripe-ingest (Stripe's webhooks) and the read/admin API.
 *
 * @example
 * await startHandlerServer(localRoutes(localHttpHandlers(config)));
 */
export function localHttpHandlers(config: Config): Record<FunctionName, HttpApiLambda> {
  return {
    ingest: createIngestHandler(createIngestDependencies(config)),
    "stripe-ingest": createIngestHandler(
      createIngestDependencies(config, { sources: stripeFunctionSources, caller: "stripe-ingest" }),
    ),
    api: createApiHandler(createApiDependencies(config)),
  };
}
