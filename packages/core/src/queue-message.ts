import * as z from "zod/mini";
import { isSourceKind, type SourceKind } from "./sources/kinds";

/**
 * The body of one message on the raw queue: a slice of one ingest request. Calls are kept as
 * received (minus any `writeKey`), so the normalizer, not the ingest path, decides what they mean,
 * and a redriven message is processed by the current rules.
 *
 * @example
 * const msg: RawQueueMessage = { v: 1, workspaceId: "w1", source: "product",
 *   receivedAt: "2024-05-01T12:00:00.000Z", requestId: "r1", calls: [{ type: "track" }] };
 */
export const RawQueueMessage = z.object({
  v: z.literal(1),
  workspaceId: z.string().check(z.minLength(1)),
  source: z.string().check(z.minLength(1)),
  receivedAt: z.string(),
  requestId: z.string(),
  /**
   * The kind of the source the request came in by (`sources/registry.ts`: `webhook`, `tracking`),
   * which decodes the message in normalize. On the tracking API ingest set each call's
   * `receivedAt` and corrected its `timestamp` for clock skew itself, per request, so those times
   * depend on the delivery (a client's retry brings new ones); a webhook's come from Segment.
   * Absent on messages written before it existed: read as a webhook.
   */
  route: z.optional(z.custom<SourceKind>(isSourceKind, { error: "names no known source" })),
  calls: z.array(z.record(z.string(), z.unknown())).check(z.minLength(1)),
});
export type RawQueueMessage = z.infer<typeof RawQueueMessage>;

/** SQS message attribute names carried by every raw message (for routing, logs and redrive). */
export const RawMessageAttribute = {
  workspaceId: "workspaceId",
  source: "source",
  receivedAt: "receivedAt",
  requestId: "requestId",
} as const;
