import { type FunctionName, routes } from "../../core/src/http/routes";
import type { HandlerRoute, HttpApiLambda } from "./http-adapter";

/**
 * The local server's routes, derived from the one route table (`packages/core/src/http/routes.ts`):
 * each route's first two path segments (`/v1/webhooks`, `/v1/track`, `/v1/accounts`, or the one of
 * `/health`) are a prefix served by that route's function; the function then matches the whole path
 * itself, as it does behind API Gateway. Where a function earlier in the table already serves those
 * two segments (`/v1/webhooks`: the Segment webhook's ingest), a route of another function is served
 * under its path up to its first parameter instead (`/v1/webhooks/stripe`: stripe-ingest), which, being
 * longer, wins (the adapter picks the longest prefix). The tracking API's prefixes are whole paths
 * (`/v1/a` is alias), so they can never swallow an API path such as `/v1/accounts`: the adapter
 * matches a prefix only as whole path segments. Every route is checked to reach its own function.
 */
function localPrefixes(): ReadonlyMap<string, FunctionName> {
  const owners = new Map<string, FunctionName>();
  for (const route of routes) {
    const segments = route.path.split("/").slice(1);
    let prefix = `/${segments.slice(0, 2).join("/")}`;
    const owner = owners.get(prefix);
    if (owner !== undefined && owner !== route.function) {
      const firstParameter = segments.findIndex((s) => s.startsWith("{"));
      prefix = `/${segments.slice(0, firstParameter < 0 ? segments.length : firstParameter).join("/")}`;
      const literalOwner = owners.get(prefix);
      if (literalOwner !== undefined && literalOwner !== route.function) {
        throw new Error(`${prefix} is served by both ${route.function} and ${literalOwner}`);
      }
    }
    owners.set(prefix, route.function);
  }
  // Every route's path, its parameters filled in, must reach its own function by the longest prefix.
  for (const route of routes) {
    const path = route.path.replace(/\{[^}]+\}/g, "x");
    const served = [...owners.keys()]
      .filter((p) => path === p || path.startsWith(`${p}/`))
      .sort((a, b) => b.length - a.length)[0];
    const owner = served === undefined ? undefined : owners.get(served);
    if (owner !== route.function) {
      throw new Error(`${route.path} would reach ${owner ?? "no function"} locally, not ${route.function}`);
    }
  }
  return owners;
}

const prefixes = localPrefixes();
const prefixesOf = (name: FunctionName) => [...prefixes].filter(([, fn]) => fn === name).map(([prefix]) => prefix);

/** Paths of the ingest function (the webhook prefix, then the tracking API's exact paths). */
export const ingestPaths: readonly string[] = prefixesOf("ingest");

/** Path prefixes of the Stripe webhook function (`/v1/webhooks/stripe`). */
export const stripeIngestPaths: readonly string[] = prefixesOf("stripe-ingest");

/** Path prefixes of the read/admin API function. */
export const apiPaths: readonly string[] = prefixesOf("api");

/**
 * The routes of the local server for the HTTP handlers, one for each function the route table names.
 *
 * @example
 * await startHandlerServer(localRoutes({ ingest, "stripe-ingest": stripeIngest, api }), { port: 3000 });
 */
export function localRoutes(handlers: Readonly<Record<FunctionName, HttpApiLambda>>): HandlerRoute[] {
  return [...prefixes].map(([prefix, fn]) => ({ prefix, handler: handlers[fn] }));
}
