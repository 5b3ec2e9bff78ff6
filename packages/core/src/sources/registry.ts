/**
 * Every source, one line each. Adding a source is a folder under `sources/`, one line here and its
 * decoder in `decoders.ts` (docs/architecture.md, "Adding a source"): its routes then reach API
 * Gateway, the local stack and the OpenAPI document through the one route table
 * (`http/routes.ts`), ingest dispatches its requests to it, and normalize its queued messages.
 */
import { segmentWebhook } from "./segment-webhook";
import { registerSource } from "./source";
import { stripeWebhook } from "./stripe";
import { trackingApi } from "./tracking-api";

export const sources = [
  registerSource(segmentWebhook),
  registerSource(trackingApi),
  registerSource(stripeWebhook),
] as const;

/** A registered source. */
export type RegisteredSourceOf = (typeof sources)[number];

/** The kind of a source: what a queued message carries as `route`. */
export type SourceKind = RegisteredSourceOf["kind"];

/** What a request path means: the route of the source that serves it. */
export type IngestRoute = NonNullable<ReturnType<RegisteredSourceOf["match"]>>["route"];

/** The kind a queued message without `route` has: messages from before it existed are webhook deliveries. */
export const defaultSourceKind: SourceKind = segmentWebhook.kind;

/** The source of a kind, or undefined for a kind no source has. */
export function sourceOfKind(kind: string): RegisteredSourceOf | undefined {
  return sources.find((s) => s.kind === kind);
}

/** True for the kind of a registered source. */
export function isSourceKind(kind: unknown): kind is SourceKind {
  return typeof kind === "string" && sourceOfKind(kind) !== undefined;
}
