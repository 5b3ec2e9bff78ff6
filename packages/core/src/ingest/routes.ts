import { pathSegments } from "../http/route-template";
import { type FunctionSources, type IngestRoute, ingestFunctionSources, sources } from "../sources/registry";
import type { MatchedSourceRoute } from "../sources/source";

export type { IngestRoute } from "../sources/registry";
export type { TrackingCall } from "../sources/tracking-api/payload";

/** Paths matched lately, per function's sources: a container sees the same few paths again and again. */
const matchedPaths = new WeakMap<FunctionSources, Map<string, Readonly<MatchedSourceRoute<IngestRoute>>>>();
/** Beyond this many paths the memo starts over (paths name workspaces: a stranger could send many). */
const maxMatchedPaths = 500;

/**
 * The source route a request path matched among a function's sources (by default the ingest
 * function's: `sources/registry.ts`), with the source's receive bound to it, or undefined when
 * none of them serves the path. A trailing slash is ignored. What a path matches depends on the
 * path alone, so matches are remembered (frozen: shared by every request to that path); a path
 * that matches nothing is not.
 *
 * @example
 * matchIngestRoute("/v1/t")?.route; // { kind: "tracking", call: "track" }
 * matchIngestRoute("/v1/webhooks/stripe/acme", stripeFunctionSources)?.route.kind; // "stripe"
 */
export function matchIngestRoute(
  path: string,
  served: FunctionSources = ingestFunctionSources,
): Readonly<MatchedSourceRoute<IngestRoute>> | undefined {
  let memo = matchedPaths.get(served);
  if (memo === undefined) {
    memo = new Map();
    matchedPaths.set(served, memo);
  }
  const known = memo.get(path);
  if (known !== undefined) return known;
  const matched = findIngestRoute(path, served);
  if (matched === undefined) return undefined;
  Object.freeze(matched.route);
  Object.freeze(matched);
  if (memo.size >= maxMatchedPaths) memo.clear();
  memo.set(path, matched);
  return matched;
}

/**
 * `matchIngestRoute` without the memo: the source routes tried in order, every time.
 *
 * @example
 * findIngestRoute("/v1/t")?.route; // { kind: "tracking", call: "track" }
 */
export function findIngestRoute(
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
