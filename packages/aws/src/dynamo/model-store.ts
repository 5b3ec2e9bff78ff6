import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { VersionedFields } from "../../../core/src/normalize/merge";
import type { EntityRef } from "../../../core/src/pipeline/identity";
import type {
  CallReceipt,
  EventVersion,
  MembershipEdge,
  ModelStore,
  MonthMarks,
  PendingCall,
  ProfileRef,
  RejectRecord,
  StoredEvent,
  StoredProfile,
  UserMonths,
} from "../../../core/src/pipeline/model-store";
import { AliasStore } from "./aliases";
import { DeletionStore } from "./deletion";
import { EventStore } from "./events";
import { MembershipStore } from "./memberships";
import { PendingStore } from "./pending";
import { ProfileStore, type TableNames } from "./profiles";
import { ReceiptStore } from "./receipts";
import { RejectStore } from "./rejects";

export { eventFromItem, eventItem } from "./events";
export { pendingItem } from "./pending";
export type { TableNames } from "./profiles";

/**
 * The DynamoDB implementation of the normalize pipeline's storage port (see docs/data-model.md):
 * one store per entity (profiles.ts, memberships.ts, events.ts, aliases.ts, deletion.ts,
 * pending.ts, rejects.ts, receipts.ts), all over table-ops.ts. Every method takes any number of
 * items: chunking to DynamoDB's request limits happens below it.
 *
 * @example
 * const store = new DynamoModelStore(createDocumentClient(config), config);
 */
export class DynamoModelStore implements ModelStore {
  private readonly profiles: ProfileStore;
  private readonly memberships: MembershipStore;
  private readonly events: EventStore;
  private readonly aliases: AliasStore;
  private readonly deletion: DeletionStore;
  private readonly pending: PendingStore;
  private readonly rejects: RejectStore;
  private readonly receipts: ReceiptStore;

  constructor(db: DynamoDBDocumentClient, tables: TableNames) {
    const names = { entitiesTable: tables.entitiesTable, eventsTable: tables.eventsTable };
    this.profiles = new ProfileStore(db, names);
    this.memberships = new MembershipStore(db, names, this.profiles);
    this.events = new EventStore(db, names, this.profiles);
    this.aliases = new AliasStore(db, names);
    this.deletion = new DeletionStore(db, names, {
      profiles: this.profiles,
      memberships: this.memberships,
      events: this.events,
    });
    this.pending = new PendingStore(db, names);
    this.rejects = new RejectStore(db, names);
    this.receipts = new ReceiptStore(db, names);
  }

  loadProfiles(refs: ProfileRef[]): Promise<Map<string, StoredProfile>> {
    return this.profiles.loadProfiles(refs);
  }
  saveProfile(
    ref: ProfileRef,
    fields: VersionedFields,
    expectedVersion: number,
    bucket?: string,
    exists?: boolean,
    recorded?: { months: string[]; marks?: MonthMarks },
  ): Promise<boolean> {
    return this.profiles.saveProfile(ref, fields, expectedVersion, bucket, exists, recorded);
  }
  touchLastSeen(ref: ProfileRef, _time: string, months: string[], exists?: boolean, marks?: MonthMarks): Promise<void> {
    return this.profiles.touchLastSeen(ref, months, exists, marks);
  }
  recomputeLastSeen(ref: ProfileRef): Promise<void> {
    return this.profiles.recomputeLastSeen(ref);
  }

  loadMemberships(edges: MembershipEdge[]): Promise<Map<string, string>> {
    return this.memberships.loadMemberships(edges);
  }
  saveMembership(edge: MembershipEdge): Promise<boolean> {
    return this.memberships.saveMembership(edge);
  }
  userMemberships(workspaceId: string, userId: string): Promise<{ accountId: string; since: string }[]> {
    return this.memberships.userMemberships(workspaceId, userId);
  }

  existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>> {
    return this.events.existingEvents(workspaceId, eventIds);
  }
  insertEvents(events: StoredEvent[]): Promise<Set<string>> {
    return this.events.insertEvents(events);
  }
  replaceEvent(event: StoredEvent, expectedHash: string): Promise<boolean> {
    return this.events.replaceEvent(event, expectedHash);
  }
  rewriteEvents(events: StoredEvent[]): Promise<void> {
    return this.events.rewriteEvents(events);
  }
  userMonths(users: { workspaceId: string; userId: string }[]): Promise<Map<string, UserMonths>> {
    return this.events.userMonths(users);
  }
  userEventsResolvedFromMemberships(workspaceId: string, userId: string, fromTime: string, months: string[]) {
    return this.events.userEventsResolvedFromMemberships(workspaceId, userId, fromTime, months);
  }
  eventsAttributedByAlias(workspaceId: string, anonymousId: string, userId: string | null): Promise<StoredEvent[]> {
    return this.events.eventsAttributedByAlias(workspaceId, anonymousId, userId);
  }

  saveAlias(workspaceId: string, fromId: string, toUserId: string, time: string) {
    return this.aliases.saveAlias(workspaceId, fromId, toUserId, time);
  }
  aliasTargets(workspaceId: string, fromIds: string[]): Promise<Map<string, string>> {
    return this.aliases.aliasTargets(workspaceId, fromIds);
  }
  lookupEntityMaps(workspaceId: string, refs: EntityRef[]): Promise<Map<string, string>> {
    return this.aliases.lookupEntityMaps(workspaceId, refs);
  }

  deletedUsers(workspaceId: string, userIds: string[]): Promise<Set<string>> {
    return this.deletion.deletedUsers(workspaceId, userIds);
  }
  deletedAnonymousIds(workspaceId: string, anonymousIds: string[]): Promise<Set<string>> {
    return this.deletion.deletedAnonymousIds(workspaceId, anonymousIds);
  }
  deleteUser(workspaceId: string, userId: string, deletedAt: string, known?: { eventIds: string[] }) {
    return this.deletion.deleteUser(workspaceId, userId, deletedAt, known);
  }
  deleteAnonymousId(workspaceId: string, anonymousId: string, deletedAt: string, known?: { eventIds: string[] }) {
    return this.deletion.deleteAnonymousId(workspaceId, anonymousId, deletedAt, known);
  }

  holdPending(pending: PendingCall, expiresAt: number): Promise<void> {
    return this.pending.holdPending(pending, expiresAt);
  }
  saveRejects(rejects: RejectRecord[], seenAt: string): Promise<void> {
    return this.rejects.saveRejects(rejects, seenAt);
  }
  firstReceipts(
    workspaceId: string,
    receipts: CallReceipt[],
  ): Promise<Map<string, { receivedAt: string; time: string }>> {
    return this.receipts.firstReceipts(workspaceId, receipts);
  }
}
