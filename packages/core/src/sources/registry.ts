/**
 * Every source, one line each, and the function that serves its routes. Adding a source is a
 * folder under `sources/`, one line here, its kind in `kinds.ts` and its decoder in `decoders.ts`
 * (docs/architecture.md, "Adding a source"): its routes then reach API Gateway, the local stack and
 * the OpenAPI document through the one route table (`http/routes.ts`), its function dispatches its
 * requests to it, and normalize its queued messages.
 *
 * This list holds the sources' routes and documentation only (no receive, no SDK), so the route
 * table and the API never load a source's dependencies. What each function receives is its own
 * registry: `ingestFunctionSources` below (the Segment webhook and the tracking API, `functions/ingest.ts`)
 * and `stripeFunctionSources` (`stripe-registry.ts`, `functions/stripe-ingest.ts`), which alone
 * carries the `stripe` SDK.
 */

import type { SourceKind } from "./kinds";
import { segmentWebhook } from "./segment-webhook";
import { type DeclaredSource, declareSource, type RegisteredSource, registerSource } from "./source";
import { stripeWebhookRoutes } from "./stripe/routes";
import { trackingApi } from "./tracking-api";

/** The Lambda functions that receive sources' requests (`functions/<name>.ts`). */
export type IngestFunctionName = "ingest" | "stripe-ingest";

const servedBy = <Route extends { kind: string }, Fn extends IngestFunctionName>(
  fn: Fn,
  source: DeclaredSource<Route>,
): DeclaredSource<Route> & { readonly function: Fn } => ({ ...source, function: fn });

export const sources = [
  servedBy("ingest", declareSource(segmentWebhook)),
  servedBy("ingest", declareSource(trackingApi)),
  servedBy("stripe-ingest", declareSource(stripeWebhookRoutes)),
] as const;

/** A source of the route table. */
export type RegisteredSourceOf = (typeof sources)[number];

export { defaultSourceKind, isSourceKind, type SourceKind } from "./kinds";

/** Compile-time check: `kinds.ts` lists exactly the registered sources' kinds. */
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const kindsMatch: SameKinds<RegisteredSourceOf["kind"], SourceKind> = true;
void kindsMatch;

/** What a request path means: the route of the source that serves it. */
export type IngestRoute = NonNullable<ReturnType<RegisteredSourceOf["route"]>>;

/** The sources one function receives requests for, matched in this order. */
export type FunctionSources = readonly RegisteredSource<IngestRoute>[];

/** The ingest function's sources (`functions/ingest.ts`): the Segment webhook and the tracking API. */
export const ingestFunctionSources: FunctionSources = [registerSource(segmentWebhook), registerSource(trackingApi)];

/** The source of a kind, or undefined for a kind no source has. */
export function sourceOfKind(kind: string): RegisteredSourceOf | undefined {
  return sources.find((s) => s.kind === kind);
}
