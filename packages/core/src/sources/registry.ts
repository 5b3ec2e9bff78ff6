/**
 * Every source, one line each. Adding a source is a folder under `sources/`, one line here, its
 * kind in `kinds.ts` and its decoder in `decoders.ts` (docs/architecture.md, "Adding a source"): its routes then reach API
 * Gateway, the local stack and the OpenAPI document through the one route table
 * (`http/routes.ts`), ingest dispatches its requests to it, and normalize its queued messages.
 */

import type { SourceKind } from "./kinds";
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

export { defaultSourceKind, isSourceKind, type SourceKind } from "./kinds";

/** Compile-time check: `kinds.ts` lists exactly the registered sources' kinds. */
type SameKinds<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const kindsMatch: SameKinds<RegisteredSourceOf["kind"], SourceKind> = true;
void kindsMatch;

/** What a request path means: the route of the source that serves it. */
export type IngestRoute = NonNullable<ReturnType<RegisteredSourceOf["match"]>>["route"];

/** The source of a kind, or undefined for a kind no source has. */
export function sourceOfKind(kind: string): RegisteredSourceOf | undefined {
  return sources.find((s) => s.kind === kind);
}
