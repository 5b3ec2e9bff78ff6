/**
 * The fast path of the envelope check: a hand-written test that a value is a valid `SegmentCall`
 * (`segment/envelope.ts`), with no allocation. It answers `true` only when the zod schema would
 * accept the value; anything it is not sure of is `false`, and the caller runs the schema, which
 * decides and explains (so codes and messages come from one place). The differential test
 * (test/unit/sources/envelope-check.test.ts) holds the two to the same answers.
 */
import { idText } from "../../ids";

const callTypes = new Set(["identify", "track", "group", "page", "screen", "alias", "delete"]);

/** `z.nullish(z.union([z.string(), z.number()]))`: zod's number refuses non-finite values. */
function isIdShape(v: unknown): boolean {
  return v === undefined || v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
}

/** `z.nullish(z.string())`. */
function isTextShape(v: unknown): boolean {
  return v === undefined || v === null || typeof v === "string";
}

/**
 * `z.nullish(z.record(z.string(), z.unknown()))` for a parsed JSON value: a plain object. An object
 * with its own `constructor` key is left to zod (its plain-object test reads that key).
 */
function isRecordShape(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(v, "constructor");
}

/** An id present and not blank once trimmed (the rule the schema's refinement applies). */
function hasId(v: unknown): boolean {
  return v !== undefined && v !== null && idText(v as string | number) !== undefined;
}

/**
 * True when `call` is certainly a valid Segment call; false when the schema must look at it.
 *
 * @example
 * if (!isCertainlySegmentCall(call)) explain(SegmentCall.safeParse(call));
 */
export function isCertainlySegmentCall(call: Record<string, unknown>): boolean {
  const type = call.type;
  if (typeof type !== "string" || !callTypes.has(type)) return false;
  const { userId, anonymousId, groupId, previousId } = call;
  if (
    !isIdShape(call.messageId) ||
    !isIdShape(userId) ||
    !isIdShape(anonymousId) ||
    !isIdShape(groupId) ||
    !isIdShape(previousId) ||
    !isTextShape(call.event) ||
    !isTextShape(call.name) ||
    !isTextShape(call.timestamp) ||
    !isTextShape(call.originalTimestamp) ||
    !isTextShape(call.receivedAt) ||
    !isTextShape(call.sentAt) ||
    !isRecordShape(call.traits) ||
    !isRecordShape(call.properties) ||
    !isRecordShape(call.context)
  ) {
    return false;
  }
  switch (type) {
    case "identify":
    case "page":
    case "screen":
      return hasId(userId) || hasId(anonymousId);
    case "track":
      return (hasId(userId) || hasId(anonymousId)) && typeof call.event === "string" && call.event !== "";
    case "group":
      return hasId(groupId);
    case "alias":
      return hasId(previousId) && hasId(userId);
    default:
      return hasId(userId);
  }
}
