import pLimit from "p-limit";
import { IngestError } from "../../errors";
import { storedAccountBucket } from "../../normalize/materialize";
import { type FieldOrigin, mergeFields, type Stamp } from "../../normalize/merge";
import { canonicalJson } from "../../normalize/message-id";
import type { FieldValue } from "../../normalize/value";
import { retryDelay } from "../../retry";
import { defaultSourceKind } from "../../sources/kinds";
import { type BatchContext, type CallUnit, CONCURRENCY } from "../batch-context";
import { type ProfileRef, problemReject, profileKey, type StoredProfile } from "../model-store";
import { noteEvent, type SeenEntry, type SeenMap, unrecorded } from "./last-seen";

/** Largest serialised profile we write: far under DynamoDB's 400 KB item limit. */
export const MAX_PROFILE_BYTES = 300 * 1024;
/** Optimistic-lock attempts before a profile (or a messageId conflict) is handed back to SQS. */
export const MAX_PROFILE_ATTEMPTS = 12;

/** Jittered backoff after a lost race, so a crowd of writers does not collide in lockstep. */
export function lostRaceBackoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, retryDelay(attempt, lostRacePause)));
}

/** Pauses between re-reads after a lost optimistic-lock race: 10-20 ms, doubling, at most 320 ms. */
const lostRacePause = { baseDelayMs: 20, maxDelayMs: 320 };

interface ProfileWrites {
  ref: ProfileRef;
  writes: { fields: Record<string, FieldValue>; stamp: Stamp; origin: FieldOrigin; unit: CallUnit }[];
}

/**
 * Merges every profile write of the batch (spec 3.1), one read-merge-write per profile, with
 * optimistic locking: one read for every profile of the batch; a profile re-reads alone only
 * after losing a race. A call whose traits would make the profile too large is a reject.
 *
 * @example
 * await writeProfiles(ctx, units);
 */
export async function writeProfiles(ctx: BatchContext, units: CallUnit[]): Promise<void> {
  const groups = new Map<string, ProfileWrites>();
  for (const unit of units) {
    for (const write of unit.call.profiles) {
      const ref = { workspaceId: unit.call.workspaceId, kind: write.kind, id: write.id };
      const key = profileKey(ref);
      const group = groups.get(key) ?? { ref, writes: [] };
      // Provenance: the source (and its kind) the call came in by, kept with each field it wins.
      const origin = { s: unit.call.source, k: unit.origin.route ?? defaultSourceKind };
      group.writes.push({ fields: write.fields, stamp: unit.call.stamp, origin, unit });
      groups.set(key, group);
    }
  }
  const list = [...groups.values()];
  const months = eventMonthsOf(units, groups);
  const unitsOf = (g: ProfileWrites) => g.writes.map((w) => w.unit);
  const preloaded =
    (await ctx.read(list.flatMap(unitsOf), "profile_read", () => ctx.store.loadProfiles(list.map((g) => g.ref)))) ??
    new Map<string, StoredProfile>();
  // Every first attempt at once (it needs no read: the batch's is done), so the store can gather
  // the writes into a few requests; only the re-reads after a lost race are bounded.
  const reread = pLimit(CONCURRENCY);
  await Promise.all(
    list.map((group) =>
      ctx.run(unitsOf(group), "profile", () =>
        writeProfile(
          ctx,
          group,
          preloaded.get(profileKey(group.ref)),
          (ref) => reread(() => ctx.store.loadProfiles([ref])),
          months.get(profileKey(group.ref)),
        ),
      ),
    ),
  );
}

/**
 * The months of the batch's events that name each written profile by its id (the user, with the
 * marks of events whose account comes from its memberships; the account an event names itself:
 * one taken from the user's memberships is resolved later, by the events stage). A profile written anyway takes its new months in the same write, so the events
 * stage, which records the months before it stores the events, finds them there and writes the
 * profile no second time. Months of an event that is then not stored (a duplicate, a conflict's
 * loser, a refusal) are harmless: a month without an event of the profile only makes the
 * `last_seen_at` reader look one month further back.
 */
function eventMonthsOf(units: CallUnit[], groups: Map<string, ProfileWrites>): SeenMap {
  const seen: SeenMap = new Map();
  for (const unit of units) {
    if (unit.call.event !== null) noteEvent(seen, unit.call.workspaceId, unit.call.event, []);
  }
  for (const key of seen.keys()) if (!groups.has(key)) seen.delete(key);
  return seen;
}

/**
 * One profile's read-merge-write loop; `preloaded` is its state from the batch's read, `reload`
 * reads it again after a lost race, `months` the batch's events of it (see `eventMonthsOf`).
 */
async function writeProfile(
  ctx: BatchContext,
  group: ProfileWrites,
  preloaded: StoredProfile | undefined,
  reload: (ref: ProfileRef) => Promise<Map<string, StoredProfile>>,
  months?: SeenEntry,
): Promise<void> {
  const { ref } = group;
  for (let attempt = 0; attempt < MAX_PROFILE_ATTEMPTS; attempt++) {
    if (attempt > 0) await lostRaceBackoff(attempt);
    const stored = attempt === 0 ? preloaded : (await reload(ref)).get(profileKey(ref));
    let fields = stored?.fields ?? {};
    let changed = false;
    for (const write of group.writes) {
      const merged = mergeFields(fields, write.fields, write.stamp, write.origin);
      if (!merged.changed) continue;
      if (Buffer.byteLength(canonicalJson(merged.fields)) > MAX_PROFILE_BYTES) {
        ctx.reject(
          write.unit,
          problemReject(write.unit.call, {
            code: "trait.too_large",
            field: "traits",
            message: `the ${ref.kind} profile would exceed ${MAX_PROFILE_BYTES} bytes; this call's traits were not stored`,
            value: Object.keys(write.fields),
          }),
        );
        continue;
      }
      fields = merged.fields;
      changed = true;
    }
    // A profile seen for the first time is written even with no fields: it exists now.
    if (!changed && stored) return;
    const bucket = ref.kind === "account" ? storedAccountBucket(fields) : undefined;
    // What the events stage would record of the batch's events (new months, a user's marks) rides along.
    const recorded = months && unrecorded(months, stored);
    const saved = await ctx.store.saveProfile(
      ref,
      fields,
      stored?.version ?? 0,
      bucket,
      stored !== undefined,
      recorded || undefined,
    );
    if (saved) {
      ctx.stats.profilesWritten++;
      return;
    }
  }
  throw new IngestError("profile.contention", `profile ${ref.kind} kept changing under concurrent writers`, {
    retryable: true,
  });
}
