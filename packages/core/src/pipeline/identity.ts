/**
 * Identity rules of the pipeline (spec 3.5): ids from sources other than the primary one are
 * translated through entity maps, and which user ids a call touches (for deletion tombstones).
 * Pure: the store looks the maps up, these functions decide what they mean.
 */
import type { NormalizedCall } from "../normalize/call";
import type { ProfileKind } from "../normalize/profile-fields";
import { primarySourceName } from "../workspace/workspace";

/** "This id in source X": the key of an entity map entry. */
export interface EntityRef {
  source: string;
  kind: ProfileKind;
  externalId: string;
}

/** The map key of an entity reference. */
export function entityRefKey(ref: EntityRef): string {
  return `${ref.source}\u0000${ref.kind}\u0000${ref.externalId}`;
}

/** Whether a call's ids are canonical as sent: those of the primary source are. */
export function isCanonicalSource(source: string): boolean {
  return source === primarySourceName;
}

/**
 * Every user and account id of a call that must be translated, deduplicated. Anonymous ids are
 * per-device and stay as sent.
 *
 * @example
 * idsToTranslate(groupCall); // [{ source: "salesforce", kind: "account", externalId: "001A" }, …]
 */
export function idsToTranslate(call: NormalizedCall): EntityRef[] {
  if (isCanonicalSource(call.source)) return [];
  const refs = new Map<string, EntityRef>();
  const add = (kind: ProfileKind, externalId: string | null | undefined) => {
    if (externalId === null || externalId === undefined) return;
    const ref = { source: call.source, kind, externalId };
    refs.set(entityRefKey(ref), ref);
  };
  for (const p of call.profiles) add(p.kind, p.id);
  for (const m of call.memberships) {
    add("account", m.accountId);
    add("user", m.userId);
  }
  if (call.event) {
    add("user", call.event.user_id);
    if (!call.event.account_from_user) add("account", call.event.account_id);
  }
  for (const a of call.aliases) add("user", a.to);
  if (call.deletion) add("user", call.deletion.userId);
  return [...refs.values()];
}

/**
 * Rewrites a call's ids into canonical ones, or lists the ids that have no map entry yet (the call
 * is then held as pending until they arrive).
 */
export function translateCall(
  call: NormalizedCall,
  canonical: (ref: EntityRef) => string | undefined,
): { call: NormalizedCall; missing: [] } | { call?: undefined; missing: EntityRef[] } {
  const refs = idsToTranslate(call);
  if (refs.length === 0) return { call, missing: [] };
  const missing = refs.filter((ref) => canonical(ref) === undefined);
  if (missing.length > 0) return { missing };
  const map = (kind: ProfileKind, id: string) => canonical({ source: call.source, kind, externalId: id }) as string;
  const mapNullable = (kind: ProfileKind, id: string | null) => (id === null ? null : map(kind, id));
  return {
    missing: [],
    call: {
      ...call,
      profiles: call.profiles.map((p) => ({ ...p, id: map(p.kind, p.id) })),
      memberships: call.memberships.map((m) => ({
        accountId: map("account", m.accountId),
        userId: map("user", m.userId),
      })),
      event: call.event && {
        ...call.event,
        user_id: mapNullable("user", call.event.user_id),
        account_id: call.event.account_from_user
          ? call.event.account_id
          : mapNullable("account", call.event.account_id),
      },
      aliases: call.aliases.map((a) => ({ from: a.from, to: map("user", a.to) })),
      deletion: call.deletion && { userId: map("user", call.deletion.userId) },
    },
  };
}

/** Every (canonical) user id a call would write about. */
export function userIdsOf(call: NormalizedCall): string[] {
  const ids = new Set<string>();
  for (const p of call.profiles) if (p.kind === "user") ids.add(p.id);
  for (const m of call.memberships) ids.add(m.userId);
  if (call.event?.user_id) ids.add(call.event.user_id);
  for (const a of call.aliases) ids.add(a.to);
  return [...ids];
}

/**
 * The users a call is about, for refusing it when one is deleted: its user profile, its event's
 * user, the users its aliases link to, and an identify's memberships (its company traits).
 */
export function coreUserIdsOf(call: NormalizedCall): string[] {
  const ids = new Set<string>();
  for (const p of call.profiles) if (p.kind === "user") ids.add(p.id);
  if (call.event?.user_id) ids.add(call.event.user_id);
  for (const a of call.aliases) ids.add(a.to);
  if (call.type === "identify") for (const m of call.memberships) ids.add(m.userId);
  return [...ids];
}

/** The anonymous ids a call carries: its event's when it has no userId, and the ids its aliases link. */
export function anonymousIdsOf(call: NormalizedCall): string[] {
  const ids = new Set(call.aliases.map((a) => a.from));
  if (call.event && call.event.user_id === null && call.event.anonymous_id !== null) ids.add(call.event.anonymous_id);
  return [...ids];
}
