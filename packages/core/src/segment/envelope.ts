// zod/mini: the same validation as classic zod, tree-shakable, so the ingest bundle stays small.
import * as z from "zod/mini";
import { idText } from "../ids";

/** The Segment call types this product accepts. `delete` is Segment's user deletion request. */
export const SegmentCallType = z.enum(["identify", "track", "group", "page", "screen", "alias", "delete"]);
export type SegmentCallType = z.infer<typeof SegmentCallType>;

/** Segment allows ids as strings or numbers; both become strings. Blank strings count as absent (see `ids.ts`). */
const SegmentId = z.nullish(z.union([z.string(), z.number()]));

const Time = z.nullish(z.string());
const JsonObject = z.record(z.string(), z.unknown());

/**
 * One Segment call as it arrives (webhook or tracking API). Unknown top-level keys are kept:
 * Segment adds fields over time and the normalizer decides what it uses.
 *
 * @example
 * const call = SegmentCall.parse({ type: "track", userId: "u1", event: "Signed Up" });
 */
export const SegmentCall = z
  .looseObject({
    type: SegmentCallType,
    messageId: SegmentId,
    userId: SegmentId,
    anonymousId: SegmentId,
    groupId: SegmentId,
    previousId: SegmentId,
    event: z.nullish(z.string()),
    name: z.nullish(z.string()),
    timestamp: Time,
    originalTimestamp: Time,
    receivedAt: Time,
    sentAt: Time,
    traits: z.nullish(JsonObject),
    properties: z.nullish(JsonObject),
    context: z.nullish(JsonObject),
  })
  .check(
    z.superRefine((call, ctx) => {
      const has = (v: unknown) => v !== undefined && v !== null && v !== "";
      // An id that is blank once trimmed is absent (the id rules, `ids.ts`).
      const hasId = (v: string | number | null | undefined) => v !== undefined && v !== null && idText(v) !== undefined;
      const need = (ok: boolean, path: string, message: string) => {
        if (!ok) ctx.addIssue({ code: "custom", path: [path], message, input: call });
      };
      switch (call.type) {
        case "identify":
        case "page":
        case "screen":
          need(hasId(call.userId) || hasId(call.anonymousId), "userId", `${call.type} needs userId or anonymousId`);
          break;
        case "track":
          need(hasId(call.userId) || hasId(call.anonymousId), "userId", "track needs userId or anonymousId");
          need(has(call.event), "event", "track needs an event name");
          break;
        case "group":
          need(hasId(call.groupId), "groupId", "group needs groupId");
          break;
        case "alias":
          need(hasId(call.previousId), "previousId", "alias needs previousId");
          need(hasId(call.userId), "userId", "alias needs userId");
          break;
        case "delete":
          need(hasId(call.userId), "userId", "delete needs userId");
          break;
      }
    }),
  );
export type SegmentCall = z.infer<typeof SegmentCall>;

/** Turns a Segment id (string or number) into the string the model stores, trimmed; absent or blank → undefined. */
export function segmentId(value: string | number | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return idText(value);
}

/** Formats zod issues as one readable line: `event: track needs an event name; …`. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}
