import type { BatchContext, CallUnit } from "../batch-context";
import { type MembershipEdge, membershipKey } from "../model-store";

/** The memberships of a batch that may move stored events to another account. */
export interface MembershipChanges {
  /** Written by this batch: new, or with an earlier `since`. */
  changed: MembershipEdge[];
  /**
   * Already stored with exactly this batch's `since`: possibly by an earlier delivery of these same
   * calls that failed (or whose worker died) after writing the membership and before re-attributing
   * the user's events. That step is redone, since nothing else would ever redo it.
   */
  repeated: MembershipEdge[];
}

/**
 * Writes each membership once per batch with the earliest time seen (spec 3.3). Most memberships
 * repeat (every identify names the user's account): all are read once, only news are written.
 *
 * @example
 * const { changed, repeated } = await writeMemberships(ctx, units);
 */
export async function writeMemberships(ctx: BatchContext, units: CallUnit[]): Promise<MembershipChanges> {
  const edges = new Map<string, { edge: MembershipEdge; units: CallUnit[] }>();
  for (const unit of units) {
    for (const m of unit.call.memberships) {
      const edge = {
        workspaceId: unit.call.workspaceId,
        accountId: m.accountId,
        userId: m.userId,
        since: unit.call.time,
      };
      const key = membershipKey(edge);
      const entry = edges.get(key) ?? { edge, units: [] };
      if (unit.call.time < entry.edge.since) entry.edge.since = unit.call.time;
      entry.units.push(unit);
      edges.set(key, entry);
    }
  }
  const changed: MembershipEdge[] = [];
  const all = [...edges.values()];
  if (all.length === 0) return { changed, repeated: [] };
  const known = await ctx.read(
    all.flatMap((e) => e.units),
    "membership_read",
    () => ctx.store.loadMemberships(all.map((e) => e.edge)),
  );
  if (!known) return { changed, repeated: [] };
  const toWrite = all.filter((e) => {
    const since = known.get(membershipKey(e.edge));
    return since === undefined || since > e.edge.since;
  });
  const repeated = all.filter((e) => known.get(membershipKey(e.edge)) === e.edge.since).map((e) => e.edge);
  // All at once (nothing to read first: the batch's read is done), so the store can gather the
  // writes, and the reads of their accounts, into a few requests.
  await Promise.all(
    toWrite.map((entry) =>
      ctx.run(entry.units, "membership", async () => {
        if (await ctx.store.saveMembership(entry.edge)) {
          changed.push(entry.edge);
          ctx.stats.membershipsAdded++;
        }
      }),
    ),
  );
  return { changed, repeated };
}
