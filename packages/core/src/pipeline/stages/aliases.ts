import { type BatchContext, type CallUnit, CONCURRENCY, eachLimited, groupByWorkspace } from "../batch-context";

/** An alias link this batch created or re-pointed: its events move (see alias-reattribution.ts). */
export interface ChangedAlias {
  workspaceId: string;
  from: string;
  to: string;
  /** The user the link pointed to before, when it was re-pointed. */
  previous?: string;
  unit: CallUnit;
}

/**
 * Saves the batch's alias links (spec 3.5), before events, so this batch's anonymous events are
 * attributed too. Returns the links that changed.
 *
 * @example
 * const changed = await saveAliases(ctx, units);
 */
export async function saveAliases(ctx: BatchContext, units: CallUnit[]): Promise<ChangedAlias[]> {
  const changed: ChangedAlias[] = [];
  await eachLimited(
    units.filter((u) => u.call.aliases.length > 0),
    CONCURRENCY,
    (unit) =>
      ctx.run([unit], "alias", async () => {
        for (const link of unit.call.aliases) {
          const saved = await ctx.store.saveAlias(unit.call.workspaceId, link.from, link.to, unit.call.time);
          if (!saved.changed) continue;
          changed.push({
            workspaceId: unit.call.workspaceId,
            from: link.from,
            to: link.to,
            previous: saved.previous,
            unit,
          });
        }
      }),
  );
  return changed;
}

/**
 * Events with only an anonymous id get the user an alias links that id to. Those whose links
 * cannot be read are left out (their records go back).
 *
 * @example
 * const attributed = await attributeAnonymousEvents(ctx, units);
 */
export async function attributeAnonymousEvents(ctx: BatchContext, units: CallUnit[]): Promise<CallUnit[]> {
  const isAnonymous = (u: CallUnit) =>
    u.call.event !== null && u.call.event.user_id === null && u.call.event.anonymous_id !== null;
  const result: CallUnit[] = [];
  for (const [ws, group] of groupByWorkspace(units)) {
    const anonymous = group.filter(isAnonymous);
    const ids = [...new Set(anonymous.map((u) => u.call.event?.anonymous_id as string))];
    const targets =
      ids.length === 0
        ? new Map<string, string>()
        : await ctx.read(anonymous, "alias_lookup", () => ctx.store.aliasTargets(ws, ids));
    for (const unit of group) {
      const event = unit.call.event;
      if (!event || !isAnonymous(unit)) {
        result.push(unit);
        continue;
      }
      if (!targets) continue;
      const userId = targets.get(event.anonymous_id as string);
      const attributedEvent = { ...event, user_id: userId ?? null, user_from_alias: userId !== undefined };
      result.push(userId === undefined ? unit : { ...unit, call: { ...unit.call, event: attributedEvent } });
    }
  }
  return result;
}
