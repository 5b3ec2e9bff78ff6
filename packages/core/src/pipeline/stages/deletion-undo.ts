import { type BatchContext, type CallUnit, CONCURRENCY, eachLimited } from "../batch-context";
import { anonymousIdsOf, userIdsOf } from "../identity";
import type { AliasMove } from "./alias-reattribution";
import { forget } from "./forget";

/** The calls that wrote about one id, and the events they wrote with it. */
type Written = { units: CallUnit[]; eventIds: Set<string> };
/** Per workspace, per user (or anonymous) id. */
type WrittenAbout = Map<string, Map<string, Written>>;

function note(into: WrittenAbout, ws: string, id: string, unit: CallUnit, eventId?: string): void {
  const ofWs = into.get(ws) ?? new Map<string, Written>();
  const entry = ofWs.get(id) ?? { units: [], eventIds: new Set<string>() };
  if (!entry.units.includes(unit)) entry.units.push(unit);
  if (eventId !== undefined) entry.eventIds.add(eventId);
  ofWs.set(id, entry);
  into.set(ws, ofWs);
}

/**
 * Deletion under concurrent normalizers (spec 3.5a). The tombstones were read once, at the start
 * of the batch; a deletion processed by another normalizer since then may have swept the user's
 * records before this batch wrote its own (profile, last seen, memberships, aliases, events). So,
 * after writing, the tombstones of every user and anonymous id written about are read again, and
 * for each one now deleted the deletion is run again, naming the events this batch wrote. Either
 * the deletion's sweep ran after these writes (and removed them), or this re-check runs after the
 * tombstone was written (and removes them): no order leaves anything behind.
 *
 * Any failure here sends the records back, permanent or not: setting the calls aside would not do,
 * since a call run alone after its user's deletion is refused and never undoes what this batch
 * wrote; the retry does it again, or ends in the dead-letter queue, where an alarm says so.
 *
 * @example
 * await undoWritesAboutDeletedUsers(ctx, [...units, ...refused], aliasMoves);
 */
export async function undoWritesAboutDeletedUsers(
  ctx: BatchContext,
  units: CallUnit[],
  moves: AliasMove[],
): Promise<void> {
  const users: WrittenAbout = new Map();
  const anonymous: WrittenAbout = new Map();
  for (const unit of units) {
    const ws = unit.call.workspaceId;
    const event = unit.call.event;
    for (const id of userIdsOf(unit.call))
      note(users, ws, id, unit, event?.user_id === id ? event.event_id : undefined);
    for (const id of anonymousIdsOf(unit.call)) note(anonymous, ws, id, unit);
    if (event?.anonymous_id) note(anonymous, ws, event.anonymous_id, unit, event.event_id);
  }
  for (const { alias, eventIds } of moves) {
    for (const id of eventIds) {
      note(users, alias.workspaceId, alias.to, alias.unit, id);
      note(anonymous, alias.workspaceId, alias.from, alias.unit, id);
    }
  }
  const { store } = ctx;
  for (const ws of new Set([...users.keys(), ...anonymous.keys()])) {
    const ofUsers = users.get(ws) ?? new Map<string, Written>();
    const ofAnonymous = anonymous.get(ws) ?? new Map<string, Written>();
    const allUnits = [...ofUsers.values(), ...ofAnonymous.values()].flatMap((w) => w.units);
    const tombstones = await ctx.orSendBack(allUnits, () =>
      Promise.all([
        ofUsers.size === 0 ? new Set<string>() : store.deletedUsers(ws, [...ofUsers.keys()]),
        ofAnonymous.size === 0 ? new Set<string>() : store.deletedAnonymousIds(ws, [...ofAnonymous.keys()]),
      ]),
    );
    const [deleted, deletedAnonymous] = tombstones ?? [new Set<string>(), new Set<string>()];
    const work = [
      ...[...deleted].map((id) => ({ id, written: ofUsers.get(id) as Written, user: true })),
      ...[...deletedAnonymous].map((id) => ({ id, written: ofAnonymous.get(id) as Written, user: false })),
    ];
    await eachLimited(work, CONCURRENCY, ({ id, written, user }) =>
      ctx.orSendBack(written.units, () =>
        forget(store, ws, user ? { userId: id } : { anonymousId: id }, ctx.now(), [...written.eventIds]),
      ),
    );
  }
}
