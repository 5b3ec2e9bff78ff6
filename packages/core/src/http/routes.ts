/**
 * The one route table: every public HTTP route and the function that serves it. The ingest routes
 * are the sources' own (`sources/registry.ts`), the others the read and admin API's route table
 * (`api/routes.ts`). `infra/api.ts` gives API Gateway exactly these, the local stack serves them
 * (`packages/local/src/routes.ts`), the OpenAPI document describes them, and ingest and the API
 * match requests against the same templates.
 */
import { apiRoutes } from "../api/routes";
import { sources } from "../sources/registry";
import type { RouteTemplate } from "./route-template";

export type FunctionName = "ingest" | "api";

export interface RouteDefinition extends RouteTemplate {
  readonly function: FunctionName;
}

/** Every public route: the sources' (served by ingest), then the API's. */
export const routes: readonly RouteDefinition[] = [
  ...sources.flatMap((source) =>
    source.routes.map((r): RouteDefinition => ({ method: r.method, path: r.path, function: "ingest" })),
  ),
  ...apiRoutes.map((r): RouteDefinition => ({ method: r.method, path: r.path, function: "api" })),
];
