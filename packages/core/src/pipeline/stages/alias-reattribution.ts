import { resolveEventAccount } from "../../normalize/event";
import { type BatchContext, CONCURRENCY, eachLimited } from "../batch-context";
import { type StoredEvent, scopedKey } from "../model-store";
import type { ChangedAlias } from "./aliases";
import { noteEvent, type SeenMap } from "./last-seen";
import { accountsAt, recheckUserAccounts, rewriteReattributed } from "./reattribution";

/** Events an alias moved to its user in this batch (the deletion undo names them). */
export interface AliasMove {
  alias: ChangedAlias;
  eventIds: string[];
}

/**
 * A new alias link (or one that now points elsewhere) moves the anonymous id's events to the user,
 * so the stored state does not depend on whether the alias or the events arrived first. The
 * profiles the moved events count for are noted in `seen`; the moves are returned.
 *
 * @example
 * const moves = await reattributeAliasedEvents(ctx, changedAliases, seen);
 */
export async function reattributeAliasedEvents(
  ctx: BatchContext,
  changed: ChangedAlias[],
  seen: SeenMap,
): Promise<AliasMove[]> {
  const moves: AliasMove[] = [];
  const { store } = ctx;
  await eachLimited(changed, CONCURRENCY, (alias) =>
    ctx.run([alias.unit], "alias_reattribute", async () => {
      const ws = alias.workspaceId;
      const events = [
        ...(await store.eventsAttributedByAlias(ws, alias.from, null)),
        // Re-pointed: the events the link gave the previous user move too.
        ...(alias.previous === undefined ? [] : await store.eventsAttributedByAlias(ws, alias.from, alias.previous)),
      ];
      if (events.length === 0) return;
      const memberships = await store.userMemberships(ws, alias.to);
      const leftAccounts = new Set<string>();
      const own: SeenMap = new Map();
      const updates: StoredEvent[] = events.map((event) => {
        const moved = { ...event, user_id: alias.to };
        const next = moved.account_from_user
          ? resolveEventAccount(moved, accountsAt(memberships, moved.timestamp))
          : moved;
        if (event.account_id !== null && event.account_id !== next.account_id) leftAccounts.add(event.account_id);
        // The user marked when the account comes from its memberships: a later one re-attributes it.
        for (const map of [seen, own]) noteEvent(map, ws, next, [alias.unit]);
        return { ...next, workspace_id: ws, user_from_alias: true };
      });
      moves.push({ alias, eventIds: updates.map((e) => e.event_id) });
      // The user's months first: a membership arriving meanwhile finds the moved events through
      // them (see events.ts), and the memberships are read again after the rewrite.
      const recordFirst = {
        seen: own,
        code: "event.move_incomplete",
        message: "could not record the moved events' months",
      };
      // The user the link pointed to before lost these events, and maybe the one it was last seen in.
      const leftUsers = alias.previous !== undefined && alias.previous !== alias.to ? [alias.previous] : [];
      await rewriteReattributed(ctx, ws, { updates, leftAccounts, leftUsers, recordFirst }, () =>
        recheckUserAccounts(
          ctx,
          ws,
          updates.map((event) => ({ event, units: [alias.unit] })),
          new Map([[scopedKey(ws, alias.to), memberships]]),
        ),
      );
    }),
  );
  return moves;
}
