import type { HandlerRoute, HttpApiLambda } from "./http-adapter";

/**
 * The local server's routes: every path API Gateway routes to the ingest and API functions.
 * The tracking API's paths are listed one by one (`/v1/a` is alias), so they can never swallow
 * an API path such as `/v1/accounts`: the adapter matches a prefix only as whole path segments.
 */

/** Paths of the ingest function (the webhook prefix, then the tracking API's exact paths). */
export const ingestPaths = [
  "/v1/webhooks",
  ...["identify", "track", "group", "page", "screen", "alias", "batch"].map((t) => `/v1/${t}`),
  ...["i", "t", "g", "p", "s", "a", "b"].map((t) => `/v1/${t}`),
] as const;

/** Path prefixes of the read/admin API function. */
export const apiPaths = [
  "/health",
  "/openapi.json",
  "/v1/accounts",
  "/v1/users",
  "/v1/entity-maps",
  "/v1/rejects",
  "/v1/pending",
  "/v1/sources",
] as const;

/**
 * The routes of the local server for the two HTTP handlers.
 *
 * @example
 * await startHandlerServer(localRoutes(ingestHandler, apiHandler), { port: 3000 });
 */
export function localRoutes(ingest: HttpApiLambda, api: HttpApiLambda): HandlerRoute[] {
  return [
    ...ingestPaths.map((prefix) => ({ prefix, handler: ingest })),
    ...apiPaths.map((prefix) => ({ prefix, handler: api })),
  ];
}
