import { type FunctionName, routes } from "../../core/src/http/routes";
import type { HandlerRoute, HttpApiLambda } from "./http-adapter";

/**
 * The local server's routes, derived from the one route table (`packages/core/src/http/routes.ts`):
 * each route's first two path segments (`/v1/webhooks`, `/v1/track`, `/v1/accounts`, or the one of
 * `/health`) are a prefix served by that route's function; the function then matches the whole path
 * itself, as it does behind API Gateway. The tracking API's prefixes are whole paths (`/v1/a` is
 * alias), so they can never swallow an API path such as `/v1/accounts`: the adapter matches a
 * prefix only as whole path segments.
 */
function prefixesOf(name: FunctionName): string[] {
  const prefixes = new Set<string>();
  for (const route of routes) {
    const prefix = `/${route.path.split("/").slice(1, 3).join("/")}`;
    const owner = routes.find(
      (r) => r.function !== route.function && (r.path === prefix || r.path.startsWith(`${prefix}/`)),
    );
    if (owner) throw new Error(`${prefix} is served by both ${route.function} and ${owner.function}`);
    if (route.function === name) prefixes.add(prefix);
  }
  return [...prefixes];
}

/** Paths of the ingest function (the webhook prefix, then the tracking API's exact paths). */
export const ingestPaths: readonly string[] = prefixesOf("ingest");

/** Path prefixes of the read/admin API function. */
export const apiPaths: readonly string[] = prefixesOf("api");

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
