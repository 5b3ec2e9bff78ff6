/**
 * Every public HTTP route and the function that serves it. `infra/` creates the API Gateway routes
 * from this list, and tests check that the handlers serve exactly these routes. Plain data only.
 */
export type FunctionName = "ingest" | "api";

export interface RouteDefinition {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** API Gateway syntax: `{name}` is a path parameter. */
  readonly path: string;
  readonly function: FunctionName;
}

const trackingPaths = [
  "identify",
  "track",
  "group",
  "page",
  "screen",
  "alias",
  "batch",
  "i",
  "t",
  "g",
  "p",
  "s",
  "a",
  "b",
];

export const routes: readonly RouteDefinition[] = [
  { method: "POST", path: "/v1/webhooks/segment/{workspaceId}", function: "ingest" },
  { method: "POST", path: "/v1/webhooks/segment/{workspaceId}/{sourceName}", function: "ingest" },
  ...trackingPaths.map((p) => ({ method: "POST" as const, path: `/v1/${p}`, function: "ingest" as const })),
  { method: "GET", path: "/health", function: "api" },
  { method: "GET", path: "/openapi.json", function: "api" },
  { method: "GET", path: "/v1/accounts", function: "api" },
  { method: "GET", path: "/v1/accounts/{accountId}", function: "api" },
  { method: "GET", path: "/v1/accounts/{accountId}/users", function: "api" },
  { method: "GET", path: "/v1/accounts/{accountId}/events", function: "api" },
  { method: "GET", path: "/v1/users/{userId}", function: "api" },
  { method: "DELETE", path: "/v1/users/{userId}", function: "api" },
  { method: "GET", path: "/v1/users/{userId}/accounts", function: "api" },
  { method: "GET", path: "/v1/users/{userId}/events", function: "api" },
  { method: "GET", path: "/v1/entity-maps", function: "api" },
  { method: "PUT", path: "/v1/entity-maps", function: "api" },
  { method: "DELETE", path: "/v1/entity-maps/{source}/{kind}/{externalId}", function: "api" },
  { method: "GET", path: "/v1/rejects", function: "api" },
  { method: "GET", path: "/v1/pending", function: "api" },
  { method: "GET", path: "/v1/sources", function: "api" },
  { method: "GET", path: "/v1/sources/{name}", function: "api" },
];
