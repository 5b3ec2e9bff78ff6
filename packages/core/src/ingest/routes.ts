import { pathSegments } from "../http/route-template";
import { type FunctionSources, type IngestRoute, ingestFunctionSources, sources } from "../sources/registry";
import type { MatchedSourceRoute } from "../sources/source";

export type { IngestRoute } from "../sources/registry";
export type { TrackingCall } from "../sources/tracking-api/payload";

/**
 * The source route a request path matched among a function's sources (by default the ingest
 * function's: `sources/registry.ts`), with the source's receive bound to it, or undefined when
 * none of them serves the path. A trailing slash is ignored.
 *
 * @example
 * matchIngestRoute("/v1/t")?.route; // { kind: "tracking", call: "track" }
 * matchIngestRoute("/v1/webhooks/stripe/acme", stripeFunctionSources)?.route.kind; // "stripe"
 */
export function matchIngestRoute(
  path: string,
  served: FunctionSources = ingestFunctionSources,
): MatchedSourceRoute<IngestRoute> | undefined {
  const segments = pathSegments(path, "one");
  for (const source of served) {
    const matched = source.match(segments);
    if (matched) return matched;
  }
  return undefined;
}

/**
 * The ingest route of a request path, whichever function serves it, or undefined when the path is
 * not an ingest endpoint. A trailing slash is ignored.
 *
 * @example
 * ingestRoute("/v1/webhooks/segment/acme");      // { kind: "webhook", workspaceId: "acme", source: "product" }
 * ingestRoute("/v1/t");                          // { kind: "tracking", call: "track" }
 */
export function ingestRoute(path: string): IngestRoute | undefined {
  const segments = pathSegments(path, "one");
  for (const source of sources) {
    const route = source.route(segments);
    if (route) return route;
  }
  return undefined;
}
