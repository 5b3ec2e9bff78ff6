import { type BatchContext, type CallUnit, groupByWorkspace } from "../batch-context";
import { entityRefKey, idsToTranslate, translateCall } from "../identity";
import type { PendingCall } from "../model-store";

/**
 * Ids of non-primary sources through entity maps (spec 3.5); a call with an unmapped id is held as
 * pending and leaves the batch. Calls whose maps cannot be read are left out (their records go back).
 *
 * @example
 * const translated = await translateIds(ctx, units);
 */
export async function translateIds(ctx: BatchContext, units: CallUnit[]): Promise<CallUnit[]> {
  const translated: CallUnit[] = [];
  for (const [ws, group] of groupByWorkspace(units)) {
    const refs = group.flatMap((u) => idsToTranslate(u.call));
    const maps =
      refs.length === 0
        ? new Map<string, string>()
        : await ctx.read(group, "entity_map", () => ctx.store.lookupEntityMaps(ws, refs));
    if (!maps) continue;
    for (const unit of group) {
      const result = translateCall(unit.call, (ref) => maps.get(entityRefKey(ref)));
      if (result.call) {
        translated.push({ ...unit, call: result.call });
        continue;
      }
      const heldAt = ctx.now();
      // The TTL is a safety net a week past retention; the expiry sweep records the reject first.
      const expiresAt = Math.floor(Date.parse(heldAt) / 1000) + (ctx.settings.pendingRetentionDays + 7) * 86400;
      const pending: PendingCall = {
        workspaceId: ws,
        source: unit.call.source,
        messageId: unit.call.messageId,
        time: unit.call.time,
        heldAt,
        receivedAt: unit.call.receivedAt,
        ...(unit.origin.route === undefined ? {} : { route: unit.origin.route }),
        call: unit.raw,
        missing: result.missing,
      };
      await ctx.run([unit], "pending", () => ctx.store.holdPending(pending, expiresAt));
      ctx.stats.pending++;
    }
  }
  return translated;
}
