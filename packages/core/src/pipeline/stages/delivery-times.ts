import { normalizeCall } from "../../normalize/call";
import { callContentHash } from "../../normalize/message-id";
import type { SegmentCall } from "../../segment/envelope";
import { type BatchContext, type CallUnit, groupByWorkspace } from "../batch-context";
import type { CallReceipt } from "../model-store";

/**
 * A call whose ordering time comes from its delivery (no usable timestamp, one too far in the
 * future, or `sentAt`) orders by its first receipt, recorded per call content: a redelivery, which
 * ingest stamps with a new receive time, then orders exactly as the first delivery did and so can
 * never overwrite newer data (spec 3.1). A call stamped after this delivery's receive time looks its
 * first receipt up too: its first delivery may have come early enough for the stamp to be too far
 * in the future. Calls whose first receipt cannot be read are left out (their records go back).
 *
 * @example
 * const units = await fixDeliveryTimes(ctx, parseRecords(records, ctx));
 */
export async function fixDeliveryTimes(ctx: BatchContext, units: CallUnit[]): Promise<CallUnit[]> {
  const fixed = new Map<CallUnit, CallUnit | null>();
  const concerned = (u: CallUnit) => u.call.fromDelivery || u.call.time > u.call.receivedAt;
  for (const [ws, group] of groupByWorkspace(units.filter(concerned))) {
    const hashes = new Map(group.map((u) => [u, callContentHash(u.raw, { tracking: u.origin.route === "tracking" })]));
    const receipts = new Map<string, CallReceipt>();
    for (const u of group) {
      const hash = hashes.get(u) as string;
      const known = receipts.get(hash);
      const receipt = {
        hash,
        messageId: u.call.messageId,
        receivedAt: u.call.receivedAt,
        time: u.call.time,
        record: u.call.fromDelivery,
      };
      // Two deliveries of one call in one batch: the earlier receipt is the first.
      if (!known || u.call.receivedAt < known.receivedAt) receipts.set(hash, receipt);
    }
    const first = await ctx.read(group, "first_receipt", () => ctx.store.firstReceipts(ws, [...receipts.values()]));
    for (const unit of group) {
      // Not read: the record is already sent back. No receipt: the call never depended on its
      // delivery, and orders by its own time.
      if (!first) {
        fixed.set(unit, null);
        continue;
      }
      const receipt = first.get(hashes.get(unit) as string);
      if (!receipt) continue;
      const meta = {
        workspaceId: ws,
        source: unit.call.source,
        receivedAt: receipt.receivedAt,
        fixedTime: receipt.time,
        route: unit.origin.route,
      };
      fixed.set(unit, { ...unit, call: normalizeCall(unit.raw as SegmentCall, meta) });
    }
  }
  return units.flatMap((u) => {
    const f = fixed.get(u);
    return f === undefined ? [u] : f === null ? [] : [f];
  });
}
