/**
 * The Segment webhook source: Segment's Webhooks (classic) and Webhooks (Actions) destinations POST
 * one call, or an array of calls (Actions batching), to the workspace's URL, signed with
 * `X-Signature` (spec 2). Its calls are queued as Segment sent them: Segment already set their
 * times.
 */
import { AuthError, NotFoundError } from "../../errors";
import type { HttpRequest } from "../../http/request";
import { bearerToken } from "../../ingest/authorization";
import { parseScannedJsonBody } from "../../ingest/body";
import { webhookOrigin } from "../../ingest/call-admission";
import { requestLimits } from "../../ingest/limits";
import { isJsonArrayText, segmentSignatureCoverage } from "../../ingest/signature";
import { credentialMatches } from "../../workspace/credentials";
import { primarySourceName, type Source } from "../../workspace/workspace";
import { admitSegmentCalls } from "../segment/admit";
import { type CallTexts, scanCallTexts } from "../segment/call-texts";
import { decodePathSegment, type ReceivePorts, type SourceAdapter, type SourceRouteDoc } from "../source";

/** A webhook delivery's route: the workspace and source its URL names. */
export interface SegmentWebhookRoute {
  kind: "webhook";
  workspaceId: string;
  source: string;
}

/**
 * Checks the signature (and the source's bearer token) over the raw body, and reads the calls. An
 * array body may be signed on its first element only (Actions batching): it is parsed once, for
 * the signature and for the calls; a parse failure counts as a wrong signature first. The calls'
 * own texts come with them (`scanCallTexts`), to be queued as sent.
 */
function verifiedCalls(request: HttpRequest, source: Source) {
  const signature = request.headers["x-signature"];
  if (!signature) throw new AuthError("segment.signature_missing", "X-Signature header is missing");
  const secrets = source.secrets.map((s) => s.value);
  let parsed: { value: unknown; scanned: CallTexts } | undefined;
  let parseFailure: unknown;
  if (isJsonArrayText(request.body)) {
    try {
      parsed = parseScannedJsonBody(request.body, scanCallTexts);
    } catch (error) {
      parseFailure = error;
    }
  }
  const coverage = segmentSignatureCoverage(request.body, signature, secrets, parsed?.value);
  if (coverage === undefined) {
    throw new AuthError("segment.signature_invalid", "X-Signature does not match the body and the shared secret");
  }
  if (source.bearerTokenHash !== undefined) {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined || !credentialMatches(token, source.bearerTokenHash)) {
      throw new AuthError("auth.bearer_invalid", "This source requires its Authorization: Bearer token");
    }
  }
  if (parseFailure !== undefined) throw parseFailure;
  const { value: body, scanned: texts } = parsed ?? parseScannedJsonBody(request.body, scanCallTexts);
  const origin = webhookOrigin(coverage, source.bearerTokenHash !== undefined);
  return Array.isArray(body)
    ? { sent: body, texts, single: false, origin }
    : { sent: [body], texts, single: true, origin };
}

async function receive(request: HttpRequest, route: SegmentWebhookRoute, { credentials, facts }: ReceivePorts) {
  facts.workspaceId = route.workspaceId;
  facts.source = route.source;
  const source = await credentials.findSource(route.workspaceId, route.source);
  if (!source || source.kind !== undefined)
    throw new NotFoundError("workspace.not_found", "Unknown workspace or source");
  const { sent, texts, single, origin } = verifiedCalls(request, source);
  facts.events = sent.length;
  const admitted = admitSegmentCalls(sent, {
    maxEventsPerBatch: requestLimits.webhook.maxEventsPerBatch,
    texts,
    origin,
    single,
  });
  return { workspaceId: route.workspaceId, source: route.source, ...admitted };
}

/**
 * `POST /v1/webhooks/segment/{workspaceId}` (the primary source, `product`) and
 * `POST /v1/webhooks/segment/{workspaceId}/{sourceName}`.
 */
export const segmentWebhook: SourceAdapter<SegmentWebhookRoute> = {
  kind: "webhook",
  routes: [
    { method: "POST", path: "/v1/webhooks/segment/{workspaceId}" },
    { method: "POST", path: "/v1/webhooks/segment/{workspaceId}/{sourceName}" },
  ],
  limits: requestLimits.webhook,
  route(_template, params) {
    const workspaceId = decodePathSegment(params.workspaceId);
    const source = params.sourceName === undefined ? primarySourceName : decodePathSegment(params.sourceName);
    if (!workspaceId || !source) return undefined;
    return { kind: "webhook", workspaceId, source };
  },
  receive,
  docs: {
    securitySchemes: {
      segmentSignature: {
        type: "apiKey",
        in: "header",
        name: "X-Signature",
        description: "Segment's HMAC-SHA1 signature",
      },
      webhookBearer: {
        type: "http",
        scheme: "bearer",
        description: "The source's webhook bearer token, when it requires one",
      },
    },
    route(template): SourceRouteDoc {
      const ofSource = template.path.endsWith("{sourceName}");
      return {
        operationId: ofSource ? "segmentWebhookOfSource" : "segmentWebhook",
        summary: `Segment webhook destination${ofSource ? " of another source" : " (source `product`)"}`,
        security: [{ segmentSignature: [] }, { segmentSignature: [], webhookBearer: [] }],
        headers: [
          {
            name: "X-Signature",
            in: "header",
            required: true,
            description:
              "Lowercase hex HMAC-SHA1 of the body (Actions batches: of the first event), keyed by the shared secret",
            schema: { type: "string", pattern: "^[0-9a-f]{40}$" },
          },
        ],
        body: { component: "WebhookBody" },
        mediaTypes: ["application/json", "text/plain"],
      };
    },
  },
};
