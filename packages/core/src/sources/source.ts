import type Stripe from "stripe";
/**
 * The source adapter seam. A source is one way data reaches the pipeline (the Segment webhook, the
 * tracking API, next Stripe's webhook): one folder under `sources/` that owns its public routes, how
 * a request to them is verified and becomes queued calls (ingest: its `SourceAdapter`, listed in
 * `registry.ts`), and how a queued message of its kind becomes normalized calls (normalize: its
 * `SourceDecoder`, listed by kind in `decoders.ts`). Ingest dispatches on the route a request
 * matched, normalize on the kind each queued message carries (`route`).
 */
import type { HttpRequest } from "../http/request";
import type { RouteTemplate } from "../http/route-template";
import { matchTemplate } from "../http/route-template";
import type { ItemProblem } from "../http/status";
import type { CallMeasures, QueuedCall } from "../ingest/calls";
import type { RequestLimits } from "../ingest/limits";
import type { CredentialLookup, IngestFacts } from "../ingest/receive";
import type { NormalizedCall } from "../normalize/call";
import type { CallOrigin } from "../pipeline/call-isolation";
import type { RejectRecord } from "../pipeline/model-store";
import type { RawQueueMessage } from "../queue-message";

/** A public route of a source: served by the ingest function the registry names for it (`registry.ts`). */
export interface SourceRoute extends RouteTemplate {
  readonly method: "POST";
}

/** What a source's `receive` is given besides the request. */
export interface ReceivePorts {
  credentials: CredentialLookup;
  /** The request's log line: set `workspaceId`/`source` as soon as they are known, and `events`. */
  facts: Pick<IngestFacts, "workspaceId" | "source" | "events" | "ignored">;
  /** The Stripe SDK client for a source's API key (tests point it at a local server). */
  stripeClient?: (apiKey: string) => Stripe;
}

/** A verified request, read into the calls to queue. */
export interface ReceivedCalls {
  workspaceId: string;
  source: string;
  /** The calls to queue, exactly as they will be queued. */
  calls: QueuedCall[];
  /** Calls refused on their own (the others are queued; a 200 lists these). */
  refused: (ItemProblem & { code: string })[];
  /** The calls' texts as sent, where they are queued as sent (`checkCalls`). */
  measures?: CallMeasures;
}

/** One queued call, decoded and normalized: what the batch pipeline works on. */
export interface DecodedCall {
  /** The call's index in its message. */
  index: number;
  /** The message it came in, less its calls (to run it again alone). */
  origin: CallOrigin;
  call: NormalizedCall;
  /** The call as queued, for holding it as pending and hashing its content. */
  raw: Record<string, unknown>;
  /**
   * The call normalized again with its ordering time fixed at its first receipt (see
   * `CallMeta.fixedTime`), from the call this decoding validated: never parsed again.
   */
  renormalize(firstReceipt: { receivedAt: string; fixedTime: string }): NormalizedCall;
  /**
   * The hash of the call's content, the same for every delivery of it (what its first receipt is
   * recorded under: see `callContentHash`). Computed when asked: most calls never need it.
   */
  contentHash(): string;
}

/** A reject of a decoding: of one call (its `index` in the message), or of the whole record. */
export interface DecodedReject {
  index?: number;
  reject: RejectRecord;
}

/** A queued message, decoded: its calls, and a reject for each call that cannot be used. */
export interface DecodedMessage {
  units: DecodedCall[];
  rejects: DecodedReject[];
}

/**
 * A source's normalize half: decodes a queued message of its kind (the envelope already checked).
 * Pure. Kept apart from the adapter (`sources/decoders.ts`), so the ingest function never loads the
 * normalize rules.
 */
export type SourceDecoder = (message: RawQueueMessage) => DecodedMessage;

/**
 * How the OpenAPI document describes one of a source's routes. Plain data (the ingest function
 * carries it): body schemas are named components of the document (`api/openapi.ts`), or inline
 * JSON Schema.
 */
export interface SourceRouteDoc {
  operationId: string;
  summary: string;
  /** OpenAPI security requirements, naming schemes of the source's `securitySchemes`. */
  security: Readonly<Record<string, readonly string[]>>[];
  /** Header parameters besides the path's (OpenAPI parameter objects). */
  headers: readonly Readonly<Record<string, unknown>>[];
  body: { component: string } | { schema: Readonly<Record<string, unknown>> };
  /** The media types the body may come as. */
  mediaTypes: readonly string[];
}

/** A source's part of the OpenAPI document. */
export interface SourceDocs<Template extends SourceRoute> {
  /** OpenAPI security schemes (components) its routes' `security` names. */
  securitySchemes: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  route(template: Template): SourceRouteDoc;
}

/**
 * One source. `Route` is what a matched request path means to it (its `kind` is the source's); the
 * routes are API Gateway templates, and the one route table (`http/routes.ts`) lists them all.
 */
export interface SourceAdapter<Route extends { kind: string }, Template extends SourceRoute = SourceRoute> {
  /** Carried by every queued message of this source as `route`, and dispatched on by normalize. */
  readonly kind: Route["kind"];
  readonly routes: readonly Template[];
  readonly limits: RequestLimits;
  /** The route of a path that matched `template`, from its raw path parameters; undefined: not a route after all. */
  route(template: Template, params: Readonly<Record<string, string>>): Route | undefined;
  /** Verifies the request (signature, key) and reads it into calls. Throws `IngestError`s. */
  receive(request: HttpRequest, route: Route, ports: ReceivePorts): Promise<ReceivedCalls>;
  readonly docs: SourceDocs<Template>;
}

/**
 * A source's routes and their documentation without its receive: what the route table, the OpenAPI
 * document and the local router need, so that reading them never loads a source's SDK.
 */
export type SourceDeclaration<Route extends { kind: string }, Template extends SourceRoute = SourceRoute> = Omit<
  SourceAdapter<Route, Template>,
  "receive"
>;

/** A request path matched to a source's route, with the receive bound to it. */
export interface MatchedSourceRoute<Route extends { kind: string }> {
  route: Route;
  limits: RequestLimits;
  receive(request: HttpRequest, ports: ReceivePorts): Promise<ReceivedCalls>;
}

/** A source as the route table knows it: its routes matched by template, and documented. */
export interface DeclaredSource<Route extends { kind: string }> {
  readonly kind: Route["kind"];
  readonly routes: readonly SourceRoute[];
  readonly limits: RequestLimits;
  /** The route of a request path (split into segments), or undefined when none of its templates names it. */
  route(segments: readonly string[]): Route | undefined;
  readonly securitySchemes: SourceDocs<SourceRoute>["securitySchemes"];
  /** The documentation of one of its routes (by template path), or undefined for a path it has not. */
  describe(path: string): SourceRouteDoc | undefined;
}

/** A source as a function's registry holds it: declared, and its requests received. */
export interface RegisteredSource<Route extends { kind: string }> extends DeclaredSource<Route> {
  match(segments: readonly string[]): MatchedSourceRoute<Route> | undefined;
}

/**
 * A source for the route table (`registry.ts`): its routes and documentation, matched by template.
 *
 * @example
 * declareSource(stripeWebhookRoutes).route(["v1", "webhooks", "stripe", "acme"]); // { kind: "stripe", … }
 */
export function declareSource<Route extends { kind: string }, Template extends SourceRoute>(
  declaration: SourceDeclaration<Route, Template>,
): DeclaredSource<Route> {
  return {
    kind: declaration.kind,
    routes: declaration.routes,
    limits: declaration.limits,
    securitySchemes: declaration.docs.securitySchemes,
    describe(path) {
      const template = declaration.routes.find((r) => r.path === path);
      return template && declaration.docs.route(template);
    },
    route(segments) {
      for (const template of declaration.routes) {
        const params = matchTemplate(template.path, segments);
        // The first template that matches decides: a path it refuses is not another template's.
        if (params) return declaration.route(template, params);
      }
      return undefined;
    },
  };
}

/**
 * A source ready for a function's registry (`registry.ts`, `stripe-registry.ts`).
 *
 * @example
 * export const ingestFunctionSources = [registerSource(segmentWebhook), registerSource(trackingApi)] as const;
 */
export function registerSource<Route extends { kind: string }, Template extends SourceRoute>(
  adapter: SourceAdapter<Route, Template>,
): RegisteredSource<Route> {
  const declared = declareSource(adapter);
  return {
    ...declared,
    match(segments) {
      const route = declared.route(segments);
      if (!route) return undefined;
      return { route, limits: adapter.limits, receive: (request, ports) => adapter.receive(request, route, ports) };
    },
  };
}

/** A percent-encoded path segment decoded, or undefined when it is not valid UTF-8 percent-encoding. */
export function decodePathSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
