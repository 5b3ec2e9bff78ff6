/**
 * The tracking API source: Segment's HTTP API, so any Segment library sends here by changing its
 * host (spec 2). `POST /v1/<type>` takes one call, `/v1/batch` a batch; the one-letter short forms
 * are Segment's too. The write key (HTTP Basic user, or `writeKey` in the body) names the source.
 * Segment's servers correct a sender's clock here, so ingest does (`correctClockSkew`), and the
 * queued calls' times are ingest's.
 */
import { AuthError } from "../../errors";
import type { HttpRequest } from "../../http/request";
import { parseBasicAuth } from "../../ingest/authorization";
import { parseJsonBody } from "../../ingest/body";
import { trackingOrigin } from "../../ingest/call-admission";
import { requestLimits } from "../../ingest/limits";
import { hashCredential } from "../../workspace/credentials";
import { admitSegmentCalls } from "../segment/admit";
import type { ReceivePorts, SourceAdapter, SourceRoute, SourceRouteDoc } from "../source";
import { correctClockSkew } from "./clock-skew";
import { type TrackingCall, trackingPayload } from "./payload";

/** A tracking API request's route: the call type (or batch) its path takes. */
export interface TrackingApiRoute {
  kind: "tracking";
  call: TrackingCall;
}

/** What the tracking API takes, each at `/v1/<call>`: one call of a type, or a batch. */
export const trackingCalls: readonly TrackingCall[] = [
  "identify",
  "track",
  "group",
  "page",
  "screen",
  "alias",
  "batch",
];

/** Each path and what it takes: `/v1/<call>`, then Segment's one-letter short forms. */
const paths: readonly (readonly [string, TrackingCall])[] = [
  ...trackingCalls.map((t) => [t, t] as const),
  ["i", "identify"],
  ["t", "track"],
  ["g", "group"],
  ["p", "page"],
  ["s", "screen"],
  ["a", "alias"],
  ["b", "batch"],
];

type TrackingRouteTemplate = SourceRoute & { call: TrackingCall };

async function receive(request: HttpRequest, route: TrackingApiRoute, { credentials, facts }: ReceivePorts) {
  const payload = trackingPayload(route.call, parseJsonBody(request.body));
  const writeKey = parseBasicAuth(request.headers.authorization)?.username || payload.writeKey;
  if (!writeKey) {
    throw new AuthError(
      "auth.write_key_missing",
      "Send the write key as HTTP Basic auth (`writeKey:`) or as `writeKey` in the body",
    );
  }
  const ref = await credentials.findSourceByWriteKeyHash(hashCredential(writeKey));
  if (!ref) throw new AuthError("auth.write_key_invalid", "Unknown write key");
  facts.workspaceId = ref.workspaceId;
  facts.source = ref.source;
  facts.events = payload.calls.length;
  const admitted = admitSegmentCalls(payload.calls, {
    maxEventsPerBatch: requestLimits.tracking.maxEventsPerBatch,
    origin: trackingOrigin,
    single: route.call !== "batch",
    prepare: (call) => correctClockSkew(call, request.receivedAt),
  });
  return { workspaceId: ref.workspaceId, source: ref.source, ...admitted };
}

/** `POST /v1/identify|track|group|page|screen|alias|batch` and `/v1/i|t|g|p|s|a|b`. */
export const trackingApi: SourceAdapter<TrackingApiRoute, TrackingRouteTemplate> = {
  kind: "tracking",
  routes: paths.map(([path, call]) => ({ method: "POST", path: `/v1/${path}`, call })),
  limits: requestLimits.tracking,
  route: (template) => ({ kind: "tracking", call: template.call }),
  receive,
  docs: {
    securitySchemes: {
      writeKey: {
        type: "http",
        scheme: "basic",
        description: "The write key as user name, empty password (or `writeKey` in the body)",
      },
    },
    route({ path, call }): SourceRouteDoc {
      const name = path.split("/").pop() as string;
      return {
        operationId: `tracking_${name}`,
        summary:
          name !== call
            ? `Short form of /v1/${call}`
            : `Tracking API: ${call === "batch" ? "a batch of calls" : `one \`${call}\` call`}`,
        security: [{ writeKey: [] }, {}],
        headers: [],
        body: { component: call === "batch" ? "TrackingBatch" : "TrackingCall" },
        mediaTypes: ["application/json", "text/plain"],
      };
    },
  },
};
