/**
 * The HTTP API's CORS configuration. API Gateway applies it to the whole API: it answers every
 * browser preflight itself and adds `Access-Control-Allow-Origin` to every answer (ignoring CORS
 * headers a function returns). `infra/api.ts` deploys it; the local HTTP adapter answers the same
 * way from the same values. Plain data only.
 *
 * - Origins: any. No cookie is ever accepted; every call carries its own credential (a write key,
 *   which Segment makes public in every page that loads analytics.js, or an API key its user gave
 *   the page), so allowing an origin grants it nothing it does not already hold.
 * - Methods: POST for the tracking API (analytics.js on customers' sites), GET/PUT/DELETE for the
 *   read API (the Console, another origin when deployed), OPTIONS for the preflights themselves.
 * - Headers: `authorization` (analytics-next always sends `Authorization: Basic`; the Console its
 *   Bearer key), `content-type` (analytics.js sends text/plain, the Console JSON and CSV),
 *   `x-retry-count` (analytics-next on every retry), `content-encoding` (a browser sender that
 *   compresses its batches; ingest accepts gzip and deflate).
 */
export const httpApiCors = {
  allowOrigins: ["*"],
  allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
  allowHeaders: ["authorization", "content-type", "content-encoding", "x-retry-count"],
  allowCredentials: false,
  /** How long a browser may reuse a preflight's answer; API Gateway's maximum. */
  maxAgeSeconds: 86_400,
} as const;

export type CorsSettings = {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
};
