import { normalizeCall } from "../../normalize/call";
import { RawQueueMessage } from "../../queue-message";
import { describeIssues, SegmentCall } from "../../segment/envelope";
import type { BatchContext, CallUnit, QueueRecord } from "../batch-context";
import { callIdReject } from "../call-isolation";

/**
 * Parses every record's body and calls into units; what cannot be parsed becomes a reject of its
 * own in the context (`message.invalid` for a record, `envelope.invalid` or an id rule for a call).
 *
 * @example
 * const units = parseRecords(records, ctx);
 */
export function parseRecords(records: QueueRecord[], ctx: Pick<BatchContext, "reject">): CallUnit[] {
  const units: CallUnit[] = [];
  for (const record of records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = undefined;
    }
    const message = RawQueueMessage.safeParse(body);
    if (!message.success) {
      ctx.reject(
        { recordId: record.id },
        {
          workspaceId:
            typeof (body as { workspaceId?: unknown })?.workspaceId === "string"
              ? (body as { workspaceId: string }).workspaceId
              : "unknown",
          source: "unknown",
          messageId: `sqs-${record.id}`,
          code: "message.invalid",
          field: "body",
          message: `queue message is not a raw ingest message: ${message.error ? describeIssues(message.error) : "not JSON"}`,
          value: record.body.slice(0, 2048),
        },
      );
      continue;
    }
    const meta = {
      workspaceId: message.data.workspaceId,
      source: message.data.source,
      receivedAt: message.data.receivedAt,
      route: message.data.route,
    };
    const { calls, ...origin } = message.data;
    calls.forEach((raw, index) => {
      const where = { recordId: record.id, index };
      const call = SegmentCall.safeParse(raw);
      if (!call.success) {
        const messageId =
          typeof raw.messageId === "string" || typeof raw.messageId === "number"
            ? String(raw.messageId)
            : `${message.data.requestId}#${index}`;
        ctx.reject(where, {
          ...meta,
          messageId,
          code: "envelope.invalid",
          field: "call",
          message: describeIssues(call.error),
          value: raw,
        });
        return;
      }
      // Ids over the id rules never reach a key (ingest refuses them; this covers older or redriven messages).
      const idReject = callIdReject(raw, { ...meta, fallbackMessageId: `${message.data.requestId}#${index}` });
      if (idReject) {
        ctx.reject(where, idReject);
        return;
      }
      // The raw call, not zod's copy: the parse drops `__proto__` keys, which the rules must see to report.
      units.push({ recordId: record.id, index, origin, call: normalizeCall(raw as SegmentCall, meta), raw });
    });
  }
  return units;
}
