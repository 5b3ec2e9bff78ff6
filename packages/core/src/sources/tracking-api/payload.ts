import { ValidationError } from "../../errors";
import { isJsonObject } from "../../ingest/body";
import type { SegmentCallType } from "../../segment/envelope";

/** What a tracking API path takes: one call of a type, or a batch. */
export type TrackingCall = Exclude<SegmentCallType, "delete"> | "batch";

/** The calls of a tracking API request and the write key its body carried, if any. */
export interface TrackingPayload {
  calls: unknown[];
  writeKey?: string;
}

/** Batch-level fields Segment applies to each call of a `/v1/batch` request that lacks its own. */
const batchDefaults = ["context", "integrations", "sentAt"] as const;

function writeKeyOf(body: Record<string, unknown>): string | undefined {
  return typeof body.writeKey === "string" && body.writeKey !== "" ? body.writeKey : undefined;
}

/**
 * The calls a tracking API body carries. A single-call route (`/v1/track`, `/v1/t`, …) takes one
 * call and sets its `type` from the path when the body has none (a different `type` is refused);
 * `/v1/batch` takes `{ batch: [...], context?, integrations?, sentAt?, writeKey? }` and gives each
 * call the batch's `context`, `integrations` and `sentAt` when it has none of its own.
 *
 * @example
 * trackingPayload("track", { userId: "u1", event: "Signed Up", writeKey: "wk" });
 * // { calls: [{ type: "track", userId: "u1", event: "Signed Up", writeKey: "wk" }], writeKey: "wk" }
 */
export function trackingPayload(route: TrackingCall, body: unknown): TrackingPayload {
  if (!isJsonObject(body)) {
    throw new ValidationError("envelope.invalid", "Request body must be a JSON object");
  }
  const writeKey = writeKeyOf(body);
  if (route === "batch") {
    if (!Array.isArray(body.batch)) {
      throw new ValidationError("envelope.invalid", "A batch request needs a `batch` array of calls");
    }
    const calls = body.batch.map((call: unknown) => {
      if (!isJsonObject(call)) return call;
      const merged = { ...call };
      for (const field of batchDefaults) {
        if (merged[field] === undefined && body[field] !== undefined) merged[field] = body[field];
      }
      return merged;
    });
    return {
      calls,
      writeKey: writeKey ?? calls.map((c) => (isJsonObject(c) ? writeKeyOf(c) : undefined)).find(Boolean),
    };
  }
  if (body.type !== undefined && body.type !== route) {
    throw new ValidationError(
      "envelope.type_mismatch",
      `This endpoint takes ${route} calls; the body says type ${JSON.stringify(body.type)}`,
    );
  }
  return { calls: [{ ...body, type: route }], writeKey };
}
