import { resolveEventAccount } from "../../normalize/event";
import { type BatchContext, type CallUnit, CONCURRENCY, eachLimited } from "../batch-context";
import { type EventVersion, profileKey, scopedKey } from "../model-store";
import { type BatchEvent, eventRank, rejectLoser, sameCall, settleConflicts } from "./event-conflicts";
import { noteEvent, type SeenMap, touchSeenProfiles } from "./last-seen";
import { accountsAt, recheckUserAccounts, type UserMemberships } from "./reattribution";

/**
 * Resolves, dedupes and stores the batch's events (spec 3.2, 3.3). The profiles' `event_months`
 * are recorded (where a month is new) before the events are written: re-attribution finds a user's
 * events through those months, so an event stored by a delivery that then failed before recording
 * its month would stay invisible to a membership arriving before the redelivery, and keep its account.
 *
 * @example
 * await writeEvents(ctx, units);
 */
export async function writeEvents(ctx: BatchContext, units: CallUnit[]): Promise<void> {
  const eventUnits = units.filter((u) => u.call.event !== null);
  if (eventUnits.length === 0) return;
  const memberships = await membershipsOfUsers(ctx, eventUnits);
  for (const [ws, events] of eventsByWorkspace(ctx, eventUnits, memberships)) {
    await storeEvents(ctx, ws, events, memberships);
  }
}

/** The accounts of every user whose events name none, read once per batch, keyed by `scopedKey`. */
async function membershipsOfUsers(ctx: BatchContext, eventUnits: CallUnit[]): Promise<Map<string, UserMemberships>> {
  const users = new Map<string, { ws: string; userId: string; units: CallUnit[] }>();
  for (const unit of eventUnits) {
    const event = unit.call.event!;
    if (!event.account_from_user || event.user_id === null) continue;
    const key = scopedKey(unit.call.workspaceId, event.user_id);
    const entry = users.get(key) ?? { ws: unit.call.workspaceId, userId: event.user_id, units: [] };
    entry.units.push(unit);
    users.set(key, entry);
  }
  const memberships = new Map<string, UserMemberships>();
  await eachLimited([...users.entries()], CONCURRENCY, ([key, entry]) =>
    ctx.run(entry.units, "membership_lookup", async () => {
      memberships.set(key, await ctx.store.userMemberships(entry.ws, entry.userId));
    }),
  );
  return memberships;
}

/**
 * One event per workspace + messageId: copies of one call are duplicates; of different calls
 * sharing the id, the one that ranks highest wins, whatever the order (spec 3.2).
 */
function eventsByWorkspace(
  ctx: BatchContext,
  eventUnits: CallUnit[],
  memberships: Map<string, UserMemberships>,
): Map<string, Map<string, BatchEvent>> {
  const byWorkspace = new Map<string, Map<string, BatchEvent>>();
  for (const unit of eventUnits) {
    const raw = unit.call.event!;
    const ws = unit.call.workspaceId;
    const fromUser = raw.account_from_user && raw.user_id !== null;
    const userMemberships = fromUser ? memberships.get(scopedKey(ws, raw.user_id as string)) : undefined;
    // The user's memberships could not be read: resolving without them would store the event with
    // no account, and a redelivery finds it stored and keeps it. Its record is already sent back.
    if (fromUser && !userMemberships) continue;
    const resolved = userMemberships
      ? resolveEventAccount(raw, accountsAt(userMemberships, raw.timestamp))
      : raw.account_from_user
        ? resolveEventAccount(raw, [])
        : raw;
    const events = byWorkspace.get(ws) ?? new Map<string, BatchEvent>();
    const incoming = { event: { ...resolved, workspace_id: ws }, units: [unit] };
    const existing = events.get(resolved.event_id);
    if (!existing) events.set(resolved.event_id, incoming);
    else if (sameCall(existing.event, incoming.event)) {
      existing.units.push(unit);
      ctx.stats.duplicates++;
    } else {
      const [winner, loser] =
        eventRank(incoming.event, existing.event) > 0 ? [incoming, existing] : [existing, incoming];
      events.set(resolved.event_id, winner);
      rejectLoser(ctx, loser, loser.event);
    }
    byWorkspace.set(ws, events);
  }
  return byWorkspace;
}

/** Stores one workspace's events: the stored versions read, profiles' months first, then the inserts. */
async function storeEvents(
  ctx: BatchContext,
  ws: string,
  events: Map<string, BatchEvent>,
  memberships: Map<string, UserMemberships>,
): Promise<void> {
  const allUnits = [...events.values()].flatMap((e) => e.units);
  const existing: Map<string, EventVersion> | undefined = await ctx.read(allUnits, "event_lookup", () =>
    ctx.store.existingEvents(ws, [...events.keys()]),
  );
  if (!existing) return;
  // A stored event of another call with this id that ranks higher keeps its place: this one is
  // the conflict's loser, recorded before it can touch any profile's last seen.
  const all: BatchEvent[] = [];
  const conflicts: BatchEvent[] = [];
  for (const entry of events.values()) {
    const stored = existing.get(entry.event.event_id);
    if (stored && !sameCall(stored, entry.event) && eventRank(stored, entry.event) > 0) {
      rejectLoser(ctx, entry, entry.event);
      continue;
    }
    all.push(entry);
    if (stored && !sameCall(stored, entry.event)) conflicts.push(entry);
  }
  const seen: SeenMap = new Map();
  for (const { event, units } of all) noteEvent(seen, ws, event, units);
  ctx.stats.duplicates += all.filter((e) => existing.has(e.event.event_id) && !conflicts.includes(e)).length;
  const unrecorded = await touchSeenProfiles(ctx, seen);
  const recorded = (e: BatchEvent) =>
    (e.event.user_id === null || !unrecorded.has(profileKey({ workspaceId: ws, kind: "user", id: e.event.user_id }))) &&
    (e.event.account_id === null ||
      !unrecorded.has(profileKey({ workspaceId: ws, kind: "account", id: e.event.account_id })));
  const fresh = all.filter((e) => !existing.has(e.event.event_id) && recorded(e));
  // One write per event, all at once (the store gathers them into requests of 25), so an event
  // DynamoDB keeps throttling or refuses sends back or rejects only its own calls; a write never
  // replaces another call's event: that one is settled as a conflict below.
  const collided: BatchEvent[] = [];
  await Promise.all(
    fresh.map((e) =>
      ctx.run(e.units, "event", async () => {
        const taken = await ctx.store.insertEvents([e.event]);
        if (taken.has(e.event.event_id)) collided.push(e);
        else ctx.stats.eventsStored++;
      }),
    ),
  );
  await settleConflicts(ctx, ws, [...collided, ...conflicts.filter(recorded)]);
  // A replacement resolved from the memberships read before it is rechecked as a fresh write is.
  await recheckUserAccounts(ctx, ws, [...fresh, ...conflicts.filter(recorded)], memberships);
}
