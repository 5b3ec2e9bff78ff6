import { IngestError } from "../../errors";
import { type NormalizedEvent, resolveEventAccount } from "../../normalize/event";
import { type BatchContext, type CallUnit, CONCURRENCY, eachLimited } from "../batch-context";
import { profileKey, type StoredEvent, scopedKey, type UserMonths } from "../model-store";
import type { BatchEvent } from "./event-conflicts";
import { noteSeen, recomputeLastSeen, type SeenMap, touchSeenProfiles } from "./last-seen";
import type { MembershipChanges } from "./memberships";

/** A user's memberships, each with the time it began. */
export type UserMemberships = { accountId: string; since: string }[];

/** Accounts a user belonged to at a time: memberships whose `since` is not after it. */
export function accountsAt(memberships: UserMemberships, time: string): string[] {
  return memberships.filter((m) => m.since <= time).map((m) => m.accountId);
}

/** An event resolved again against the user's memberships, and whether its account changed. */
export function reresolve(event: NormalizedEvent, memberships: UserMemberships) {
  const next = resolveEventAccount(event, accountsAt(memberships, event.timestamp));
  const moved = next.account_id !== event.account_id || next.account_resolution !== event.account_resolution;
  return { next, moved };
}

/**
 * The months whose events a membership from `from` on may move to another account: the user's
 * marked months (`MonthMarks`), or every month of a profile recorded before the marks; none for a
 * user with no profile (an event records its months on it before it is stored).
 *
 * @example
 * monthsToSearch({ eventMonths: ["2024-05"], marks: { months: [], complete: true } }, "2024-04-01T00:00:00.000Z"); // []
 */
function monthsToSearch(user: UserMonths | undefined, from: string): string[] {
  const months = user?.marks?.complete ? user.marks.months : (user?.eventMonths ?? []);
  return months.filter((m) => m >= from.slice(0, 7)).sort();
}

/** Events re-resolved in one workspace: what to rewrite, and the profiles that lost events. */
export interface Reattribution {
  updates: StoredEvent[];
  /** Accounts that lost events (their last seen may have been in one). */
  leftAccounts: Set<string>;
  /** Users that lost events. */
  leftUsers?: string[];
  /**
   * Profiles the moved events are recorded on (months, last seen) before they are rewritten, as
   * for any event write (see events.ts), with the error to throw when that fails.
   */
  recordFirst?: { seen: SeenMap; code: string; message: string };
}

/**
 * Re-resolve's tail, shared by every pass that moves stored events: months first (when asked),
 * the rewrite, `afterRewrite`, then the profiles the events left (removed if only events made them).
 *
 * @example
 * await rewriteReattributed(ctx, ws, { updates, leftAccounts });
 */
export async function rewriteReattributed(
  ctx: BatchContext,
  ws: string,
  r: Reattribution,
  afterRewrite?: () => Promise<void>,
): Promise<void> {
  if (r.recordFirst && (await touchSeenProfiles(ctx, r.recordFirst.seen)).size > 0) {
    throw new IngestError(r.recordFirst.code, r.recordFirst.message, { retryable: true });
  }
  await ctx.store.rewriteEvents(r.updates);
  await afterRewrite?.();
  await recomputeLastSeen(ctx.store, ws, "account", r.leftAccounts);
  await recomputeLastSeen(ctx.store, ws, "user", r.leftUsers ?? []);
  ctx.stats.eventsReattributed += r.updates.length;
}

/**
 * Another normalizer may have stored a membership of the user between this batch's membership
 * read and its event write, and looked for the user's events before they existed. Reading the
 * memberships again after the write closes that gap: whichever of the two runs second sees the
 * other's write. Events whose account changes are recorded (months, last seen: every user's at
 * once) and then rewritten.
 *
 * @example
 * await recheckUserAccounts(ctx, "w1", written, membershipsReadBefore);
 */
export async function recheckUserAccounts(
  ctx: BatchContext,
  ws: string,
  written: BatchEvent[],
  before: Map<string, UserMemberships>,
): Promise<void> {
  const byUser = new Map<string, BatchEvent[]>();
  for (const e of written) {
    if (!e.event.account_from_user || e.event.user_id === null) continue;
    byUser.set(e.event.user_id, [...(byUser.get(e.event.user_id) ?? []), e]);
  }
  const same = (a: UserMemberships, b: UserMemberships) =>
    a.length === b.length && a.every((m) => b.some((n) => n.accountId === m.accountId && n.since === m.since));
  const seen: SeenMap = new Map();
  const moves: { units: CallUnit[]; profiles: Set<string>; r: Reattribution }[] = [];
  await eachLimited([...byUser.entries()], CONCURRENCY, ([userId, events]) => {
    const units = events.flatMap((e) => e.units);
    return ctx.run(units, "membership_recheck", async () => {
      const now = await ctx.store.userMemberships(ws, userId);
      if (same(now, before.get(scopedKey(ws, userId)) ?? [])) return;
      const profiles = new Set<string>();
      const leftAccounts = new Set<string>();
      const updates: StoredEvent[] = [];
      for (const { event, units: eventUnits } of events) {
        const { next, moved } = reresolve(event, now);
        if (!moved) continue;
        if (next.account_id !== null) {
          const ref = { workspaceId: ws, kind: "account" as const, id: next.account_id };
          noteSeen(seen, ref, next.timestamp, eventUnits);
          profiles.add(profileKey(ref));
        }
        if (event.account_id !== null && event.account_id !== next.account_id) leftAccounts.add(event.account_id);
        updates.push({ ...next, workspace_id: ws });
      }
      if (updates.length > 0) moves.push({ units, profiles, r: { updates, leftAccounts } });
    });
  });
  if (moves.length === 0) return;
  // Months first, every user's in one pass; a user whose accounts could not be recorded is not
  // rewritten (its records go back).
  const unrecorded = await touchSeenProfiles(ctx, seen);
  await eachLimited(moves, CONCURRENCY, ({ units, profiles, r }) =>
    ctx.run(units, "membership_recheck", async () => {
      if ([...profiles].some((key) => unrecorded.has(key))) {
        throw new IngestError("event.recheck_incomplete", "could not record the re-resolved events' accounts", {
          retryable: true,
        });
      }
      await rewriteReattributed(ctx, ws, r);
    }),
  );
}

/**
 * A new membership (or an earlier `since`) can change which account earlier-stored events of the
 * user belong to: recompute those events so the stored state does not depend on arrival order.
 * The accounts they now count for are noted in `seen` (touched with the batch's own).
 *
 * @example
 * await reattributeEvents(ctx, await writeMemberships(ctx, units), units, seen);
 */
export async function reattributeEvents(
  ctx: BatchContext,
  { changed, repeated }: MembershipChanges,
  units: CallUnit[],
  seen: SeenMap,
): Promise<void> {
  const byUser = new Map<string, { ws: string; userId: string; from: string; redo: boolean }>();
  const add = (edge: MembershipChanges["changed"][number], redo: boolean) => {
    const key = scopedKey(edge.workspaceId, edge.userId);
    const entry = byUser.get(key);
    if (!entry || edge.since < entry.from) {
      byUser.set(key, { ws: edge.workspaceId, userId: edge.userId, from: edge.since, redo: redo || !!entry?.redo });
    } else if (redo) entry.redo = true;
  };
  for (const edge of changed) add(edge, false);
  for (const edge of repeated) add(edge, true);
  const involved = (ws: string, userId: string) =>
    units.filter((u) => u.call.workspaceId === ws && u.call.memberships.some((m) => m.userId === userId));
  const entries = [...byUser.values()].map((entry) => ({ ...entry, units: involved(entry.ws, entry.userId) }));
  if (entries.length === 0) return;
  // One consistent read for every user, after the memberships were written. An event normalizer
  // marks the event's month (months first), stores the event, then reads the user's memberships
  // again (recheckUserAccounts): if this read misses its mark, the membership was written before
  // the mark, so before that re-read, which sees it and moves the event; if this read sees the
  // mark, the month is searched below (and an event not in yet is the re-read's, as before).
  const known = await ctx.read(
    entries.flatMap((e) => e.units),
    "reattribute",
    () => ctx.store.userMonths(entries.map((e) => ({ workspaceId: e.ws, userId: e.userId }))),
  );
  if (!known) return;
  const searched = entries
    .map((entry) => ({ ...entry, months: monthsToSearch(known.get(scopedKey(entry.ws, entry.userId)), entry.from) }))
    // No month to search: no event the memberships may move (nor one a first run moved, for a redo).
    .filter((entry) => entry.months.length > 0);
  await eachLimited(searched, CONCURRENCY, (entry) =>
    ctx.run(entry.units, "reattribute", async () => {
      const memberships = await ctx.store.userMemberships(entry.ws, entry.userId);
      const events = await ctx.store.userEventsResolvedFromMemberships(
        entry.ws,
        entry.userId,
        entry.from,
        entry.months,
      );
      const updates: StoredEvent[] = [];
      const leftAccounts = new Set<string>();
      for (const event of events) {
        const { next, moved } = reresolve(event, memberships);
        // Noted even when unchanged: a redo must still bump what an interrupted first run did not.
        if (next.account_id !== null && (entry.redo || next.account_id !== event.account_id)) {
          const ref = { workspaceId: entry.ws, kind: "account" as const, id: next.account_id };
          noteSeen(seen, ref, next.timestamp, entry.units);
        }
        if (!moved) continue;
        updates.push({ ...next, workspace_id: entry.ws });
        if (event.account_id !== null && event.account_id !== next.account_id) leftAccounts.add(event.account_id);
      }
      // An interrupted first run may have moved events without recomputing the accounts they left,
      // which can only be accounts of the user's memberships.
      if (entry.redo) for (const m of memberships) leftAccounts.add(m.accountId);
      await rewriteReattributed(ctx, entry.ws, { updates, leftAccounts });
    }),
  );
}
