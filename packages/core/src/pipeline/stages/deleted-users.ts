import { type BatchContext, type CallUnit, CONCURRENCY, eachLimited, groupByWorkspace } from "../batch-context";
import { anonymousIdsOf, coreUserIdsOf, userIdsOf } from "../identity";
import { forget } from "./forget";

/** What the deleted-user check leaves: the calls that go on, and those refused whole. */
export interface Refusals {
  kept: CallUnit[];
  /** Refused: an earlier delivery of one may have written before the deletion's sweep (see deletion-undo.ts). */
  refused: CallUnit[];
}

/**
 * Calls about a deleted user (or one deleted in this very batch), or carrying only an anonymous id
 * of one, become `user.deleted` rejects (spec 3.5a). A refused call that links an anonymous id to
 * the deleted user makes that id deleted too, whenever it arrives: the deletion may have come
 * first and never known the id. A live user's call keeps everything but a link from a deleted id.
 *
 * @example
 * const { kept, refused } = await refuseDeletedUsers(ctx, translated);
 */
export async function refuseDeletedUsers(ctx: BatchContext, units: CallUnit[]): Promise<Refusals> {
  const kept: CallUnit[] = [];
  const refusedOut: CallUnit[] = [];
  for (const [ws, group] of groupByWorkspace(units)) {
    const deleting = new Set(group.flatMap((u) => (u.call.deletion ? [u.call.deletion.userId] : [])));
    const ids = [...new Set(group.flatMap((u) => userIdsOf(u.call)))];
    const anonymousIds = [...new Set(group.flatMap((u) => anonymousIdsOf(u.call)))];
    const tombstones =
      ids.length === 0 && anonymousIds.length === 0
        ? [new Set<string>(), new Set<string>()]
        : await ctx.read(group, "tombstone", () =>
            Promise.all([
              ids.length === 0 ? new Set<string>() : ctx.store.deletedUsers(ws, ids),
              anonymousIds.length === 0 ? new Set<string>() : ctx.store.deletedAnonymousIds(ws, anonymousIds),
            ]),
          );
    if (!tombstones) continue;
    const [deleted, deletedAnonymous] = tombstones as [Set<string>, Set<string>];
    const isDeleted = (id: string) => deleted.has(id) || deleting.has(id);
    const refuse = (unit: CallUnit, field: string, value: Record<string, unknown>) => {
      ctx.stats.refusedForDeletedUsers++;
      ctx.reject(unit, {
        workspaceId: ws,
        source: unit.call.source,
        messageId: unit.call.messageId,
        code: "user.deleted",
        field,
        message: "the user was deleted; calls about them are not stored",
        // Only the id: the call's data belongs to a user who asked to be forgotten.
        value: { ...value, type: unit.call.type },
      });
    };
    const orphaned: { unit: CallUnit; anonymousId: string }[] = [];
    for (let unit of group) {
      if (unit.call.deletion) {
        kept.push(unit);
        continue;
      }
      const refused = coreUserIdsOf(unit.call).find(isDeleted);
      if (refused !== undefined) {
        for (const link of unit.call.aliases) {
          if (isDeleted(link.to) && !deletedAnonymous.has(link.from)) orphaned.push({ unit, anonymousId: link.from });
        }
        refuse(unit, "userId", { user_id: refused });
        refusedOut.push(unit);
        continue;
      }
      // A group call naming a deleted user: the account's traits are kept, the membership is not, as
      // when the group call came before the deletion (which removed the membership).
      const gone = unit.call.memberships.filter((m) => isDeleted(m.userId));
      if (gone.length > 0) {
        refuse(unit, "userId", { user_id: gone[0]?.userId });
        unit = {
          ...unit,
          call: { ...unit.call, memberships: unit.call.memberships.filter((m) => !isDeleted(m.userId)) },
        };
      }
      const event = unit.call.event;
      if (event && event.user_id === null && event.anonymous_id !== null && deletedAnonymous.has(event.anonymous_id)) {
        refuse(unit, "anonymousId", { anonymous_id: event.anonymous_id });
        refusedOut.push(unit);
        continue;
      }
      const blocked = unit.call.aliases.filter((a) => deletedAnonymous.has(a.from));
      if (blocked.length === 0) {
        kept.push(unit);
        continue;
      }
      refuse(unit, "anonymousId", { anonymous_id: blocked[0]?.from });
      kept.push({
        ...unit,
        call: { ...unit.call, aliases: unit.call.aliases.filter((a) => !deletedAnonymous.has(a.from)) },
      });
    }
    await eachLimited(orphaned, CONCURRENCY, ({ unit, anonymousId }) =>
      ctx.run([unit], "anonymous_deletion", () => forget(ctx.store, ws, { anonymousId }, ctx.now())),
    );
  }
  return { kept, refused: refusedOut };
}

/**
 * Applies the batch's deletions (spec 3.5a) and returns the calls that remain.
 *
 * @example
 * const units = await applyDeletions(ctx, kept);
 */
export async function applyDeletions(ctx: BatchContext, units: CallUnit[]): Promise<CallUnit[]> {
  for (const unit of units) {
    const deletion = unit.call.deletion;
    if (!deletion) continue;
    await ctx.run([unit], "deletion", async () => {
      await forget(ctx.store, unit.call.workspaceId, { userId: deletion.userId }, ctx.now());
      ctx.stats.deletedUsers++;
    });
  }
  return units.filter((u) => !u.call.deletion);
}
