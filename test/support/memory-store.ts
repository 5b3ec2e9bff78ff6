import type { VersionedFields } from "../../packages/core/src/normalize/merge";
import { type EntityRef, entityRefKey } from "../../packages/core/src/pipeline/identity";
import {
  type CallReceipt,
  type EventVersion,
  type MembershipEdge,
  type ModelStore,
  type MonthMarks,
  membershipKey,
  type PendingCall,
  type ProfileRef,
  profileKey,
  type RejectRecord,
  type StoredEvent,
  type StoredProfile,
  scopedKey,
  type UserMonths,
} from "../../packages/core/src/pipeline/model-store";

/** A stored profile as the memory store keeps it (`fields` absent: only events or memberships made it). */
interface ProfileItem {
  ref: ProfileRef;
  fields?: VersionedFields;
  version: number;
  eventMonths: Set<string>;
  /** A user's marked months and whether they are complete (`MonthMarks`), as the adapter's item. */
  marks?: { months: Set<string>; complete: boolean };
  bucket?: string;
}

/** A profile as a reader sees it: the item, and `lastSeenAt` derived from its stored events. */
export interface ProfileView extends ProfileItem {
  lastSeenAt?: string;
}

/** Called before every port method with its name and arguments: throw from it to inject a fault. */
export type FaultHook = (method: keyof ModelStore, args: unknown[]) => void;

const monthOf = (time: string) => time.slice(0, 7);
const order = (e: StoredEvent) => `${e.timestamp}#${e.event_id}`;

/**
 * The ModelStore port in memory, with the DynamoDB adapter's semantics (conditions, the newest
 * alias link winning, months recorded on profiles and used to find a user's events, the deletion
 * cascade): for pure tests of the pipeline's stages and of `normalizeBatch`. `calls` logs every
 * method called; `fault` runs before each and may throw.
 *
 * @example
 * const store = new MemoryModelStore();
 * await normalizeBatch(records, store, () => "2024-06-01T00:00:00.000Z");
 * store.events.get(scopedKey("w1", "m1"));
 */
export class MemoryModelStore implements ModelStore {
  readonly profiles = new Map<string, ProfileItem>();
  /** Keyed by `membershipKey`. */
  readonly memberships = new Map<string, MembershipEdge>();
  /** Keyed by `scopedKey(ws, event_id)`. */
  readonly events = new Map<string, StoredEvent>();
  /** Keyed by `scopedKey(ws, fromId)`. */
  readonly aliases = new Map<string, { to: string; time: string }>();
  /** Every id ever linked to a user, for its deletion: `scopedKey(ws, userId)` → from ids. */
  readonly userAliases = new Map<string, Set<string>>();
  /** Keyed by `scopedKey(ws, entityRefKey)`. */
  readonly entityMaps = new Map<string, string>();
  readonly pending: { pending: PendingCall; expiresAt: number }[] = [];
  readonly tombstones = new Set<string>();
  readonly anonymousTombstones = new Set<string>();
  /** Keyed by workspace, message, code and field, as the adapter's reject items. */
  readonly rejects = new Map<string, RejectRecord & { seen: number }>();
  readonly receipts = new Map<string, { receivedAt: string; time: string }>();
  readonly calls: { method: keyof ModelStore; args: unknown[] }[] = [];
  fault: FaultHook = () => {};

  private enter(method: keyof ModelStore, args: unknown[]): void {
    this.calls.push({ method, args });
    this.fault(method, args);
  }

  /** How many times a method was called. */
  count(method: keyof ModelStore): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  private profile(ref: ProfileRef): ProfileItem {
    const key = profileKey(ref);
    const item = this.profiles.get(key) ?? { ref, version: 0, eventMonths: new Set<string>() };
    this.profiles.set(key, item);
    return item;
  }

  async loadProfiles(refs: ProfileRef[]): Promise<Map<string, StoredProfile>> {
    this.enter("loadProfiles", [refs]);
    const result = new Map<string, StoredProfile>();
    for (const ref of refs) {
      const item = this.profiles.get(profileKey(ref));
      if (!item) continue;
      result.set(profileKey(ref), {
        fields: structuredClone(item.fields ?? {}),
        version: item.version,
        eventMonths: [...item.eventMonths],
        ...this.marksOf(item),
      });
    }
    return result;
  }

  private marksOf(item: ProfileItem): { marks?: MonthMarks } {
    return item.marks ? { marks: { months: [...item.marks.months].sort(), complete: item.marks.complete } } : {};
  }

  async userMonths(users: { workspaceId: string; userId: string }[]): Promise<Map<string, UserMonths>> {
    this.enter("userMonths", [users]);
    const result = new Map<string, UserMonths>();
    for (const { workspaceId, userId } of users) {
      const item = this.profiles.get(profileKey({ workspaceId, kind: "user", id: userId }));
      if (item)
        result.set(scopedKey(workspaceId, userId), { eventMonths: [...item.eventMonths], ...this.marksOf(item) });
    }
    return result;
  }

  async saveProfile(
    ref: ProfileRef,
    fields: VersionedFields,
    expectedVersion: number,
    bucket?: string,
    exists?: boolean,
    recorded?: { months: string[]; marks?: MonthMarks },
  ) {
    this.enter("saveProfile", [ref, fields, expectedVersion, bucket, exists, recorded]);
    const current = this.profiles.get(profileKey(ref));
    if ((current?.version ?? 0) !== expectedVersion) return false;
    const item = this.profile(ref);
    item.fields = structuredClone(fields);
    item.version = expectedVersion + 1;
    if (bucket !== undefined) item.bucket = bucket;
    for (const m of recorded?.months ?? []) item.eventMonths.add(m);
    if (recorded?.marks) this.addMarks(item, recorded.marks);
    return true;
  }

  async loadMemberships(edges: MembershipEdge[]): Promise<Map<string, string>> {
    this.enter("loadMemberships", [edges]);
    const result = new Map<string, string>();
    for (const edge of edges) {
      const stored = this.memberships.get(membershipKey(edge));
      if (stored) result.set(membershipKey(edge), stored.since);
    }
    return result;
  }

  async saveMembership(edge: MembershipEdge): Promise<boolean> {
    this.enter("saveMembership", [edge]);
    const account = this.profile({ workspaceId: edge.workspaceId, kind: "account", id: edge.accountId });
    account.bucket ??= "subscribed";
    const stored = this.memberships.get(membershipKey(edge));
    if (stored && stored.since <= edge.since) return false;
    this.memberships.set(membershipKey(edge), { ...edge });
    return true;
  }

  async userMemberships(workspaceId: string, userId: string) {
    this.enter("userMemberships", [workspaceId, userId]);
    return [...this.memberships.values()]
      .filter((m) => m.workspaceId === workspaceId && m.userId === userId)
      .map((m) => ({ accountId: m.accountId, since: m.since }));
  }

  async existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>> {
    this.enter("existingEvents", [workspaceId, eventIds]);
    const result = new Map<string, EventVersion>();
    for (const id of eventIds) {
      const e = this.events.get(scopedKey(workspaceId, id));
      if (!e) continue;
      const { event_id, type, event_name, timestamp, user_id, account_id, source, content_hash } = e;
      result.set(id, {
        event_id,
        type,
        event_name,
        timestamp,
        user_id,
        account_id,
        source,
        ...(content_hash === undefined ? {} : { content_hash }),
      });
    }
    return result;
  }

  private putIf(event: StoredEvent, holds: (stored: StoredEvent | undefined) => boolean): boolean {
    const key = scopedKey(event.workspace_id, event.event_id);
    if (!holds(this.events.get(key))) return false;
    this.events.set(key, structuredClone(event));
    return true;
  }

  async insertEvents(events: StoredEvent[]): Promise<Set<string>> {
    this.enter("insertEvents", [events]);
    const taken = new Set<string>();
    for (const event of events) {
      const ok = this.putIf(
        event,
        (s) => !s || s.content_hash === undefined || s.content_hash === (event.content_hash ?? null),
      );
      if (!ok) taken.add(event.event_id);
    }
    return taken;
  }

  async replaceEvent(event: StoredEvent, expectedHash: string): Promise<boolean> {
    this.enter("replaceEvent", [event, expectedHash]);
    return this.putIf(event, (s) => s !== undefined && s.content_hash === expectedHash);
  }

  async rewriteEvents(events: StoredEvent[]): Promise<void> {
    this.enter("rewriteEvents", [events]);
    for (const event of events) {
      this.putIf(
        event,
        (s) => s !== undefined && (s.content_hash === undefined || s.content_hash === (event.content_hash ?? null)),
      );
    }
  }

  /** Stored events of a user found through the months recorded on its profile, as the byUser index. */
  private userEventsByMonths(workspaceId: string, userId: string, fromMonth = ""): StoredEvent[] {
    const months = this.profiles.get(profileKey({ workspaceId, kind: "user", id: userId }))?.eventMonths ?? new Set();
    return this.eventsOf(workspaceId).filter(
      (e) => e.user_id === userId && months.has(monthOf(e.timestamp)) && monthOf(e.timestamp) >= fromMonth,
    );
  }

  private eventsOf(workspaceId: string): StoredEvent[] {
    return [...this.events.values()]
      .filter((e) => e.workspace_id === workspaceId)
      .sort((a, b) => (order(a) < order(b) ? -1 : 1))
      .map((e) => structuredClone(e));
  }

  async userEventsResolvedFromMemberships(workspaceId: string, userId: string, fromTime: string, months: string[]) {
    this.enter("userEventsResolvedFromMemberships", [workspaceId, userId, fromTime, months]);
    return this.userEventsByMonths(workspaceId, userId, monthOf(fromTime)).filter(
      (e) => e.account_from_user && order(e) >= fromTime && months.includes(monthOf(e.timestamp)),
    );
  }

  async touchLastSeen(ref: ProfileRef, time: string, months: string[], exists?: boolean, marks?: MonthMarks) {
    this.enter("touchLastSeen", [ref, time, months, exists, marks]);
    const item = this.profile(ref);
    if (ref.kind === "account") item.bucket ??= "subscribed";
    for (const m of months) item.eventMonths.add(m);
    if (marks) this.addMarks(item, marks);
  }

  private addMarks(item: ProfileItem, marks: MonthMarks): void {
    item.marks ??= { months: new Set(), complete: false };
    for (const m of marks.months) item.marks.months.add(m);
    if (marks.complete) item.marks.complete = true;
  }

  async recomputeLastSeen(ref: ProfileRef): Promise<void> {
    this.enter("recomputeLastSeen", [ref]);
    const item = this.profiles.get(profileKey(ref));
    if (!item || item.fields !== undefined) return;
    const members = [...this.memberships.values()].some(
      (m) => ref.kind === "account" && m.workspaceId === ref.workspaceId && m.accountId === ref.id,
    );
    if (!members && this.newestEventOf(item) === undefined) this.profiles.delete(profileKey(ref));
  }

  /** The time of a profile's newest stored event, found through its months as the adapter's indexes. */
  private newestEventOf(item: ProfileItem): string | undefined {
    const { ref } = item;
    const own = this.eventsOf(ref.workspaceId).filter(
      (e) =>
        item.eventMonths.has(monthOf(e.timestamp)) && (ref.kind === "account" ? e.account_id : e.user_id) === ref.id,
    );
    return own.at(-1)?.timestamp;
  }

  async saveAlias(workspaceId: string, fromId: string, toUserId: string, time: string) {
    this.enter("saveAlias", [workspaceId, fromId, toUserId, time]);
    const linked = this.userAliases.get(scopedKey(workspaceId, toUserId)) ?? new Set<string>();
    this.userAliases.set(scopedKey(workspaceId, toUserId), linked.add(fromId));
    const key = scopedKey(workspaceId, fromId);
    const stored = this.aliases.get(key);
    if (stored && !(stored.time < time || (stored.time === time && stored.to <= toUserId))) return { changed: false };
    this.aliases.set(key, { to: toUserId, time });
    if (stored?.to === toUserId && stored.time !== time) return { changed: false };
    return stored === undefined || stored.to === toUserId ? { changed: true } : { changed: true, previous: stored.to };
  }

  async aliasTargets(workspaceId: string, fromIds: string[]): Promise<Map<string, string>> {
    this.enter("aliasTargets", [workspaceId, fromIds]);
    const result = new Map<string, string>();
    for (const id of fromIds) {
      const link = this.aliases.get(scopedKey(workspaceId, id));
      if (link) result.set(id, link.to);
    }
    return result;
  }

  async eventsAttributedByAlias(workspaceId: string, anonymousId: string, userId: string | null) {
    this.enter("eventsAttributedByAlias", [workspaceId, anonymousId, userId]);
    if (userId === null) {
      return this.eventsOf(workspaceId).filter((e) => e.user_id === null && e.anonymous_id === anonymousId);
    }
    return this.userEventsByMonths(workspaceId, userId).filter(
      (e) => e.anonymous_id === anonymousId && e.user_from_alias === true,
    );
  }

  async lookupEntityMaps(workspaceId: string, refs: EntityRef[]): Promise<Map<string, string>> {
    this.enter("lookupEntityMaps", [workspaceId, refs]);
    const result = new Map<string, string>();
    for (const ref of refs) {
      const canonical = this.entityMaps.get(scopedKey(workspaceId, entityRefKey(ref)));
      if (canonical !== undefined) result.set(entityRefKey(ref), canonical);
    }
    return result;
  }

  /** Maps an id of a source to a canonical one (what an entity map upload does). */
  mapEntity(workspaceId: string, ref: EntityRef, canonicalId: string): void {
    this.entityMaps.set(scopedKey(workspaceId, entityRefKey(ref)), canonicalId);
  }

  async holdPending(pending: PendingCall, expiresAt: number): Promise<void> {
    this.enter("holdPending", [pending, expiresAt]);
    const same = (p: PendingCall) =>
      p.workspaceId === pending.workspaceId && p.time === pending.time && p.messageId === pending.messageId;
    if (!this.pending.some((p) => same(p.pending))) this.pending.push({ pending, expiresAt });
  }

  async deletedUsers(workspaceId: string, userIds: string[]): Promise<Set<string>> {
    this.enter("deletedUsers", [workspaceId, userIds]);
    return new Set(userIds.filter((id) => this.tombstones.has(scopedKey(workspaceId, id))));
  }

  async deletedAnonymousIds(workspaceId: string, anonymousIds: string[]): Promise<Set<string>> {
    this.enter("deletedAnonymousIds", [workspaceId, anonymousIds]);
    return new Set(anonymousIds.filter((id) => this.anonymousTombstones.has(scopedKey(workspaceId, id))));
  }

  /** Deletes events, returning the accounts they counted for. */
  private dropEvents(workspaceId: string, events: StoredEvent[]): Set<string> {
    const accounts = new Set<string>();
    for (const e of events) {
      if (!this.events.delete(scopedKey(workspaceId, e.event_id))) continue;
      if (e.account_id !== null) accounts.add(e.account_id);
    }
    return accounts;
  }

  /** Stored events among `eventIds` that `belongs` accepts (the adapter reads them by key). */
  private known(workspaceId: string, eventIds: string[], belongs: (e: StoredEvent) => boolean): StoredEvent[] {
    return eventIds.flatMap((id) => {
      const e = this.events.get(scopedKey(workspaceId, id));
      return e && belongs(e) ? [e] : [];
    });
  }

  async deleteUser(workspaceId: string, userId: string, deletedAt: string, known = { eventIds: [] as string[] }) {
    this.enter("deleteUser", [workspaceId, userId, deletedAt, known]);
    this.tombstones.add(scopedKey(workspaceId, userId));
    const accounts = this.dropEvents(workspaceId, [
      ...this.known(workspaceId, known.eventIds, (e) => e.user_id === userId),
      ...this.userEventsByMonths(workspaceId, userId),
    ]);
    for (const fromId of this.userAliases.get(scopedKey(workspaceId, userId)) ?? []) {
      for (const a of (await this.deleteAnonymousId(workspaceId, fromId, deletedAt)).accountsWithEvents)
        accounts.add(a);
    }
    this.profiles.delete(profileKey({ workspaceId, kind: "user", id: userId }));
    this.userAliases.delete(scopedKey(workspaceId, userId));
    for (const [key, m] of this.memberships) {
      if (m.workspaceId === workspaceId && m.userId === userId) this.memberships.delete(key);
    }
    for (const [key, r] of this.rejects)
      if (r.workspaceId === workspaceId && r.userId === userId) this.rejects.delete(key);
    return { accountsWithEvents: [...accounts] };
  }

  async deleteAnonymousId(
    workspaceId: string,
    anonymousId: string,
    deletedAt: string,
    known = { eventIds: [] as string[] },
  ) {
    this.enter("deleteAnonymousId", [workspaceId, anonymousId, deletedAt, known]);
    this.anonymousTombstones.add(scopedKey(workspaceId, anonymousId));
    const anonymousOnly = (e: StoredEvent) =>
      e.anonymous_id === anonymousId && (e.user_id === null || e.user_from_alias === true);
    const doomed = [
      ...this.known(workspaceId, known.eventIds, anonymousOnly),
      ...this.eventsOf(workspaceId).filter((e) => e.user_id === null && e.anonymous_id === anonymousId),
    ];
    const link = this.aliases.get(scopedKey(workspaceId, anonymousId));
    if (link) {
      this.aliases.delete(scopedKey(workspaceId, anonymousId));
      this.userAliases.get(scopedKey(workspaceId, link.to))?.delete(anonymousId);
      doomed.push(
        ...this.userEventsByMonths(workspaceId, link.to).filter(
          (e) => e.anonymous_id === anonymousId && e.user_from_alias === true,
        ),
      );
    }
    const before = this.events.size;
    const accounts = this.dropEvents(workspaceId, doomed);
    if (link && this.events.size < before) await this.recomputeLastSeen({ workspaceId, kind: "user", id: link.to });
    return { accountsWithEvents: [...accounts] };
  }

  async saveRejects(rejects: RejectRecord[], seenAt: string): Promise<void> {
    this.enter("saveRejects", [rejects, seenAt]);
    for (const r of rejects) {
      const key = scopedKey(r.workspaceId, r.messageId, r.code, r.field);
      this.rejects.set(key, { ...r, seen: (this.rejects.get(key)?.seen ?? 0) + 1 });
    }
  }

  async firstReceipts(workspaceId: string, receipts: CallReceipt[]) {
    this.enter("firstReceipts", [workspaceId, receipts]);
    const result = new Map<string, { receivedAt: string; time: string }>();
    for (const r of receipts) {
      const key = scopedKey(workspaceId, r.hash);
      if (!this.receipts.has(key) && r.record) this.receipts.set(key, { receivedAt: r.receivedAt, time: r.time });
      const first = this.receipts.get(key);
      if (first) result.set(r.hash, first);
    }
    return result;
  }

  /** A stored event, or undefined. */
  event(workspaceId: string, eventId: string): StoredEvent | undefined {
    return this.events.get(scopedKey(workspaceId, eventId));
  }

  /** A stored profile item with its derived `lastSeenAt` (as the reader derives it), or undefined. */
  profileOf(workspaceId: string, kind: "user" | "account", id: string): ProfileView | undefined {
    const item = this.profiles.get(profileKey({ workspaceId, kind, id }));
    if (!item) return undefined;
    const lastSeenAt = this.newestEventOf(item);
    return lastSeenAt === undefined ? { ...item } : { ...item, lastSeenAt };
  }

  /** The stored rejects as `[messageId, code, field]`, sorted. */
  rejectList(): [string, string, string][] {
    return [...this.rejects.values()].map((r): [string, string, string] => [r.messageId, r.code, r.field]).sort();
  }
}
