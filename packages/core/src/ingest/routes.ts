import type { SegmentCallType } from "../segment/envelope";
import { primarySourceName } from "../workspace/workspace";

/** The tracking API's routes: `/v1/<type>` and Segment's one-letter short forms. */
const trackingPaths: Readonly<Record<string, TrackingCall>> = {
  identify: "identify",
  track: "track",
  group: "group",
  page: "page",
  screen: "screen",
  alias: "alias",
  batch: "batch",
  i: "identify",
  t: "track",
  g: "group",
  p: "page",
  s: "screen",
  a: "alias",
  b: "batch",
};

/** What a tracking API path takes: one call of a type, or a batch. */
export type TrackingCall = Exclude<SegmentCallType, "delete"> | "batch";

/** Where an ingest request goes. */
export type IngestRoute =
  | { kind: "webhook"; workspaceId: string; source: string }
  | { kind: "tracking"; call: TrackingCall };

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The ingest route of a request path, or undefined when the path is not an ingest endpoint.
 * A trailing slash is ignored.
 *
 * @example
 * ingestRoute("/v1/webhooks/segment/acme");      // { kind: "webhook", workspaceId: "acme", source: "product" }
 * ingestRoute("/v1/t");                          // { kind: "tracking", call: "track" }
 */
export function ingestRoute(path: string): IngestRoute | undefined {
  const parts = path.replace(/\/$/, "").split("/").slice(1);
  if (parts[0] !== "v1") return undefined;
  if (parts.length === 2) {
    const name = parts[1] as string;
    return Object.hasOwn(trackingPaths, name)
      ? { kind: "tracking", call: trackingPaths[name] as TrackingCall }
      : undefined;
  }
  if (parts[1] === "webhooks" && parts[2] === "segment" && (parts.length === 4 || parts.length === 5)) {
    const workspaceId = decodeSegment(parts[3] as string);
    const source = parts.length === 5 ? decodeSegment(parts[4] as string) : primarySourceName;
    if (!workspaceId || !source) return undefined;
    return { kind: "webhook", workspaceId, source };
  }
  return undefined;
}
