import { primarySourceName, type Source } from "../workspace/workspace";

/** The Stripe source name a Stripe webhook URL without one means. */
export const defaultStripeSourceName = "stripe";

/**
 * The Segment webhook path of a source, relative to the ingest API's base URL; the primary
 * source's path has no source segment.
 *
 * @example
 * webhookPath("acme", "product");    // "/v1/webhooks/segment/acme"
 * webhookPath("acme", "salesforce"); // "/v1/webhooks/segment/acme/salesforce"
 */
export function webhookPath(workspaceId: string, source: string): string {
  const path = `/v1/webhooks/segment/${encodeURIComponent(workspaceId)}`;
  return source === primarySourceName ? path : `${path}/${encodeURIComponent(source)}`;
}

/**
 * The webhook path a source is delivered to, by its kind: a Stripe source's is on the Stripe route
 * (no source segment for the source `stripe`), any other's is Segment's (`webhookPath`).
 *
 * @example
 * sourceWebhookPath({ workspaceId: "acme", name: "stripe", kind: "stripe" }); // "/v1/webhooks/stripe/acme"
 */
export function sourceWebhookPath(source: Pick<Source, "workspaceId" | "name" | "kind">): string {
  if (source.kind !== "stripe") return webhookPath(source.workspaceId, source.name);
  const path = `/v1/webhooks/stripe/${encodeURIComponent(source.workspaceId)}`;
  return source.name === defaultStripeSourceName ? path : `${path}/${encodeURIComponent(source.name)}`;
}
