import { type BatchContext, type CallUnit, eachLimited } from "../batch-context";
import { type ModelStore, type ProfileRef, profileKey } from "../model-store";

/** Month writes in flight at once (a PartiQL batch holds 25). */
const MONTH_WRITES_AT_ONCE = 25;

/** Profiles seen by a batch's events: the latest time, the months, and the calls that saw them. */
export type SeenMap = Map<string, { ref: ProfileRef; time: string; months: Set<string>; units: CallUnit[] }>;

/**
 * Notes that a profile was seen at `time`, by the calls in `units` (whose records fail if the write does).
 *
 * @example
 * noteSeen(seen, { workspaceId: "w1", kind: "user", id: "u1" }, event.timestamp, [unit]);
 */
export function noteSeen(seen: SeenMap, ref: ProfileRef, time: string, units: CallUnit[]): void {
  const key = profileKey(ref);
  const entry = seen.get(key) ?? { ref, time, months: new Set<string>(), units: [] };
  if (time > entry.time) entry.time = time;
  entry.months.add(time.slice(0, 7));
  entry.units.push(...units);
  seen.set(key, entry);
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
  const stale = entries.filter((entry) => {
    const current = stored.get(profileKey(entry.ref));
    return !current || [...entry.months].some((m) => !current.eventMonths.includes(m));
  });
  // Up to 25 at once: the DynamoDB store gathers the writes of existing profiles into one request.
  await eachLimited(stale, MONTH_WRITES_AT_ONCE, async (entry) => {
    const exists = stored.has(profileKey(entry.ref));
    const touched = await ctx.run(entry.units, "last_seen_at", () =>
      ctx.store.touchLastSeen(entry.ref, entry.time, [...entry.months], exists),
    );
    if (!touched) failed.add(profileKey(entry.ref));
  });
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
