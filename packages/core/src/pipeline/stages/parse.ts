import { decodeQueuedMessage } from "../../sources/queued-message";
import type { BatchContext, CallUnit, QueueRecord } from "../batch-context";

/**
 * Decodes every record through its source (`sources/`: the envelope, then the source its `route`
 * names); what cannot be used becomes a reject of its own in the context (`message.invalid` for a
 * record, `envelope.invalid` or an id rule for a call).
 *
 * @example
 * const units = parseRecords(records, ctx);
 */
export function parseRecords(records: QueueRecord[], ctx: Pick<BatchContext, "reject">): CallUnit[] {
  const units: CallUnit[] = [];
  for (const record of records) {
    const decoded = decodeQueuedMessage(record);
    for (const { index, reject } of decoded.rejects) ctx.reject({ recordId: record.id, index }, reject);
    for (const unit of decoded.units) units.push({ recordId: record.id, ...unit });
  }
  return units;
}
