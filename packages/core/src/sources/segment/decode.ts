/**
 * What the two Segment sources share in normalize: a queued message of Segment calls decoded the
 * same way, whichever of them queued it (the `route` it carries tells the rules whose times the
 * calls have).
 */
import { normalizeCall } from "../../normalize/call";
import { callContentHash } from "../../normalize/message-id";
import { callIdReject } from "../../pipeline/call-isolation";
import type { RawQueueMessage } from "../../queue-message";
import { describeIssues, SegmentCall } from "../../segment/envelope";
import type { DecodedCall, DecodedMessage, DecodedReject } from "../source";

/** The message id a reject of an unusable call names: the call's own, else its place in its request. */
function rejectMessageId(raw: Record<string, unknown>, requestId: string, index: number): string {
  return typeof raw.messageId === "string" || typeof raw.messageId === "number"
    ? String(raw.messageId)
    : `${requestId}#${index}`;
}

/**
 * Decodes a queued message of Segment calls: each call is validated once as a `SegmentCall`, and
 * what that validation established travels with the call (its `renormalize` uses the same call),
 * so no later step parses or casts it again. A call that is not a valid Segment call, or whose ids
 * break the id rules (ingest refuses those; this covers older, redriven or hand-sent messages),
 * becomes a reject of its own; its neighbours are decoded as usual.
 *
 * @example
 * const { units, rejects } = decodeSegmentMessage(message);
 */
export function decodeSegmentMessage(message: RawQueueMessage): DecodedMessage {
  const meta = {
    workspaceId: message.workspaceId,
    source: message.source,
    receivedAt: message.receivedAt,
    route: message.route,
  };
  const { calls, ...origin } = message;
  const units: DecodedCall[] = [];
  const rejects: DecodedReject[] = [];
  calls.forEach((raw, index) => {
    const parsed = SegmentCall.safeParse(raw);
    if (!parsed.success) {
      rejects.push({
        index,
        reject: {
          ...meta,
          messageId: rejectMessageId(raw, message.requestId, index),
          code: "envelope.invalid",
          field: "call",
          message: describeIssues(parsed.error),
          value: raw,
        },
      });
      return;
    }
    const idReject = callIdReject(raw, { ...meta, fallbackMessageId: `${message.requestId}#${index}` });
    if (idReject) {
      rejects.push({ index, reject: idReject });
      return;
    }
    // The raw call, validated just above, not zod's copy: the parse drops `__proto__` keys, which
    // the rules must see to report.
    const call = raw as SegmentCall;
    units.push({
      index,
      origin,
      call: normalizeCall(call, meta),
      raw,
      renormalize: (first) => normalizeCall(call, { ...meta, ...first }),
      contentHash: () => callContentHash(raw, { tracking: message.route === "tracking" }),
    });
  });
  return { units, rejects };
}
