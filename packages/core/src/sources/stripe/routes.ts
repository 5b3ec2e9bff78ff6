/**
 * The Stripe source's routes and their documentation, without the SDK: what the route table, the
 * OpenAPI document and the local stack's router read (`sources/registry.ts`). Its receive, which
 * verifies and re-fetches with the `stripe` SDK, is `index.ts`, loaded only by the function that
 * serves these routes (`functions/stripe-ingest.ts`).
 */
import type { RequestLimits } from "../../ingest/limits";
import { decodePathSegment, type SourceDeclaration, type SourceRouteDoc } from "../source";
import { defaultStripeSourceName } from "../webhook-path";

/** A Stripe webhook delivery's route: the workspace and the source its URL names. */
export interface StripeRoute {
  kind: "stripe";
  workspaceId: string;
  source: string;
}

/** One event per request; Stripe's events are far below this. */
export const stripeLimits: RequestLimits = { maxRequestBytes: 256 * 1024, maxEventsPerBatch: 1 };

/** `POST /v1/webhooks/stripe/{workspaceId}` (the source `stripe`) and `…/{workspaceId}/{sourceName}`. */
export const stripeWebhookRoutes: SourceDeclaration<StripeRoute> = {
  kind: "stripe",
  routes: [
    { method: "POST", path: "/v1/webhooks/stripe/{workspaceId}" },
    { method: "POST", path: "/v1/webhooks/stripe/{workspaceId}/{sourceName}" },
  ],
  limits: stripeLimits,
  route(_template, params) {
    const workspaceId = decodePathSegment(params.workspaceId);
    const source = params.sourceName === undefined ? defaultStripeSourceName : decodePathSegment(params.sourceName);
    if (!workspaceId || !source) return undefined;
    return { kind: "stripe", workspaceId, source };
  },
  docs: {
    securitySchemes: {
      stripeSignature: {
        type: "apiKey",
        in: "header",
        name: "Stripe-Signature",
        description: "Stripe's webhook signature (t=…,v1=…), keyed by the endpoint's signing secret",
      },
    },
    route(template): SourceRouteDoc {
      const ofSource = template.path.endsWith("{sourceName}");
      return {
        operationId: ofSource ? "stripeWebhookOfSource" : "stripeWebhook",
        summary: `Stripe webhook endpoint${ofSource ? " of a named Stripe source" : " (source `stripe`)"}`,
        security: [{ stripeSignature: [] }],
        headers: [
          {
            name: "Stripe-Signature",
            in: "header",
            required: true,
            description: "t=<unix seconds>,v1=<hex HMAC-SHA256 of `t.body`>[,v1=…]",
            schema: { type: "string" },
          },
        ],
        body: { schema: { type: "object", description: "A Stripe event object", required: ["id", "type"] } },
        mediaTypes: ["application/json"],
      };
    },
  },
};
