import { type BatchContext, type CallUnit, CONCURRENCY, eachLimited } from "../batch-context";
import { type ModelStore, type MonthMarks, type ProfileRef, profileKey, type StoredProfile } from "../model-store";

/**
 * Profiles seen by a batch's events: the latest time, the months, the months to mark (a user's
 * events whose account came from its memberships: see `MonthMarks`), and the calls that saw them.
 */
export type SeenMap = Map<string, SeenEntry>;
export type SeenEntry = { ref: ProfileRef; time: string; months: Set<string>; marks: Set<string>; units: CallUnit[] };

/**
 * Notes that a profile was seen at `time`, by the calls in `units` (whose records fail if the write
 * does). `fromUser`: the event's account came from the user's memberships (`account_from_user`),
 * so the user's month is marked for membership re-attribution to search.
 *
 * @example
 * noteSeen(seen, { workspaceId: "w1", kind: "user", id: "u1" }, event.timestamp, [unit], event.account_from_user);
 */
export function noteSeen(seen: SeenMap, ref: ProfileRef, time: string, units: CallUnit[], fromUser = false): void {
  const key = profileKey(ref);
  const entry = seen.get(key) ?? { ref, time, months: new Set<string>(), marks: new Set<string>(), units: [] };
  if (time > entry.time) entry.time = time;
  entry.months.add(time.slice(0, 7));
  if (fromUser && ref.kind === "user") entry.marks.add(time.slice(0, 7));
  entry.units.push(...units);
  seen.set(key, entry);
}

/**
 * Notes an event's profiles as seen: its user (marked when the event's account came from the
 * user's memberships) and its account, if it has one.
 *
 * @example
 * noteEvent(seen, "w1", event, [unit]);
 */
export function noteEvent(
  seen: SeenMap,
  workspaceId: string,
  event: { timestamp: string; user_id: string | null; account_id: string | null; account_from_user: boolean },
  units: CallUnit[],
): void {
  if (event.user_id !== null)
    noteSeen(seen, { workspaceId, kind: "user", id: event.user_id }, event.timestamp, units, event.account_from_user);
  if (event.account_id !== null)
    noteSeen(seen, { workspaceId, kind: "account", id: event.account_id }, event.timestamp, units);
}

/**
 * What a seen profile still lacks in store: the months it has no record of yet and the marks to
 * write with them, or undefined when everything is recorded.
 */
export function unrecorded(
  entry: SeenEntry,
  current?: StoredProfile,
): { months: string[]; marks?: MonthMarks } | undefined {
  const months = [...entry.months].filter((m) => !current?.eventMonths.includes(m));
  const unmarked = [...entry.marks].some((m) => !current?.marks?.months.includes(m));
  if (current && months.length === 0 && !unmarked) return undefined;
  return { months, marks: marksToWrite(entry, current) };
}

/**
 * The marks a user's month write carries: its marked months, and `complete` when this write records
 * the user's first month (no event of it was stored before, so none can lack a mark).
 */
export function marksToWrite(
  entry: { ref: ProfileRef; marks: Set<string> },
  current?: StoredProfile,
): MonthMarks | undefined {
  if (entry.ref.kind !== "user") return undefined;
  const complete = !current || current.eventMonths.length === 0;
  return entry.marks.size === 0 && !complete ? undefined : { months: [...entry.marks], complete };
}

/**
 * Records the months of every profile seen (creating profiles only events name), one read for all
 * of them and a write only for a profile with a month it does not have yet: rare in steady state.
 * `last_seen_at` itself is never written: readers derive it from the stored events, so a late
 * event, a deleted one or a re-attributed one needs nothing here. Returns the profile keys whose
 * write failed (their records are sent back, or their calls set aside).
 *
 * @example
 * const unrecorded = await touchSeenProfiles(ctx, seen);
 */
export async function touchSeenProfiles(ctx: BatchContext, seen: SeenMap): Promise<Set<string>> {
  const entries = [...seen.values()];
  const failed = new Set<string>();
  if (entries.length === 0) return failed;
  const stored = await ctx.read(
    entries.flatMap((e) => e.units),
    "last_seen_read",
    () => ctx.store.loadProfiles(entries.map((e) => e.ref)),
  );
  if (!stored) return new Set(seen.keys());
  const stale = entries.filter((entry) => unrecorded(entry, stored.get(profileKey(entry.ref))) !== undefined);
  const touch = async (entry: (typeof entries)[number]) => {
    const current = stored.get(profileKey(entry.ref));
    const touched = await ctx.run(entry.units, "last_seen_at", () =>
      ctx.store.touchLastSeen(entry.ref, entry.time, [...entry.months], !!current, marksToWrite(entry, current)),
    );
    if (!touched) failed.add(profileKey(entry.ref));
  };
  // Every write of a known profile at once: the DynamoDB store gathers them, 25 a request (a pool
  // lets them drift apart, one request each); profiles to create, a few at a time.
  await Promise.all([
    Promise.all(stale.filter((e) => stored.has(profileKey(e.ref))).map(touch)),
    eachLimited(
      stale.filter((e) => !stored.has(profileKey(e.ref))),
      CONCURRENCY,
      touch,
    ),
  ]);
  return failed;
}

/**
 * After profiles lost events: removes those only events made that have none left (their
 * `last_seen_at` follows the events by itself).
 *
 * @example
 * await recomputeLastSeen(store, "w1", "account", losers);
 */
export async function recomputeLastSeen(
  store: Pick<ModelStore, "recomputeLastSeen">,
  workspaceId: string,
  kind: "user" | "account",
  ids: Iterable<string>,
): Promise<void> {
  for (const id of ids) await store.recomputeLastSeen({ workspaceId, kind, id });
}
