/**
 * The one route table: every public HTTP route and the function that serves it. The ingest routes
 * are the sources' own, served by the function the registry names for each source
 * (`sources/registry.ts`: `ingest`, or `stripe-ingest` for Stripe's webhooks), the others the read and admin API's route table
 * (`api/routes.ts`). `infra/api.ts` gives API Gateway exactly these, the local stack serves them
 * (`packages/local/src/routes.ts`), the OpenAPI document describes them, and ingest and the API
 * match requests against the same templates.
 */
import { apiRoutes } from "../api/routes";
import { type IngestFunctionName, sources } from "../sources/registry";
import type { RouteTemplate } from "./route-template";

export type FunctionName = IngestFunctionName | "api";

export interface RouteDefinition extends RouteTemplate {
  readonly function: FunctionName;
}

/** Every public route: the sources' (served by their ingest functions), then the API's. */
export const routes: readonly RouteDefinition[] = [
  ...sources.flatMap((source) =>
    source.routes.map((r): RouteDefinition => ({ method: r.method, path: r.path, function: source.function })),
  ),
  ...apiRoutes.map((r): RouteDefinition => ({ method: r.method, path: r.path, function: "api" })),
];
