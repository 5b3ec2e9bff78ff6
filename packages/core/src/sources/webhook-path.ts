import { primarySourceName } from "../workspace/workspace";

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
