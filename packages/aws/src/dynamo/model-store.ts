import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { DependencyError } from "../../../core/src/errors";
import type { VersionedFields } from "../../../core/src/normalize/merge";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import { type EntityRef, entityRefKey } from "../../../core/src/pipeline/identity";
import type {
  CallReceipt,
  EventVersion,
  MembershipEdge,
  ModelStore,
  ProfileRef,
  RejectRecord,
  StoredEvent,
  StoredProfile,
} from "../../../core/src/pipeline/model-store";
import { membershipKey, type PendingCall, profileKey } from "../../../core/src/pipeline/model-store";
import { type Key, keys, monthOf } from "./keys";
import { queryAll } from "./query-pages";
import { storageCall } from "./storage-error";

export interface TableNames {
  entitiesTable: string;
  eventsTable: string;
}

/** Longest offending value kept on a reject (serialised), so a reject item stays small. */
const MAX_REJECT_VALUE_CHARS = 4096;
/**
 * How long a call's first receipt is kept: past Segment's retries (hours), SQS retention (14 days)
 * and a redrive from the DLQ (14 more). A delivery after that orders by its own receive time.
 */
const RECEIPT_RETENTION_SECONDS = 45 * 86400;
/** Attempts for the items DynamoDB leaves unprocessed in a batch request. */
const MAX_BATCH_ATTEMPTS = 6;

const profileItemKey = (ref: ProfileRef): Key =>
  ref.kind === "account" ? keys.account(ref.workspaceId, ref.id) : keys.user(ref.workspaceId, ref.id);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stored form of an event: its fields plus the keys of the table and its two indexes. */
export function eventItem(event: StoredEvent): Record<string, unknown> {
  const ws = event.workspace_id;
  const order = keys.eventOrder(event.timestamp, event.event_id);
  const month = monthOf(event.timestamp);
  return {
    ...keys.event(ws, event.event_id),
    ...event,
    ...(event.account_id !== null ? { ...keys.accountEvents(ws, event.account_id, month), ask: order } : {}),
    ...(event.user_id !== null
      ? { ...keys.userEvents(ws, event.user_id, month), usk: order }
      : event.anonymous_id !== null
        ? { ...keys.anonymousEvents(ws, event.anonymous_id), usk: order }
        : {}),
  };
}

/** The stored form of a pending call. The call is kept as JSON text, exactly as received. */
export function pendingItem(pending: PendingCall, expiresAt: number): Record<string, unknown> {
  return {
    ...keys.pending(pending.workspaceId, pending.time, pending.messageId),
    workspace_id: pending.workspaceId,
    source: pending.source,
    message_id: pending.messageId,
    time: pending.time,
    held_at: pending.heldAt,
    received_at: pending.receivedAt,
    ...(pending.route === undefined ? {} : { route: pending.route }),
    call: JSON.stringify(pending.call),
    missing: pending.missing.map((m) => ({ source: m.source, kind: m.kind, external_id: m.externalId })),
    expires_at: expiresAt,
  };
}

/** Strips the key attributes from a stored event item. */
export function eventFromItem(item: Record<string, unknown>): StoredEvent {
  const { pk: _pk, sk: _sk, apk: _apk, ask: _ask, upk: _upk, usk: _usk, ...event } = item;
  return event as unknown as StoredEvent;
}

/** Whether a storage call failed only on its condition (`storageCall` keeps the SDK error as cause). */
function conditionFailed(error: unknown): boolean {
  return (error as { cause?: unknown }).cause instanceof ConditionalCheckFailedException;
}

/** Gathers the keys of events to delete and the accounts they belonged to. */
function eventCollector() {
  const accounts = new Set<string>();
  const eventKeys: Key[] = [];
  const collect = (items: Record<string, unknown>[]) => {
    for (const item of items) {
      eventKeys.push({ pk: item.pk as string, sk: item.sk as string });
      if (typeof item.account_id === "string") accounts.add(item.account_id);
    }
  };
  return { accounts, eventKeys, collect };
}

/**
 * The DynamoDB implementation of the normalize pipeline's storage (see docs/data-model.md).
 *
 * @example
 * const store = new DynamoModelStore(createDocumentClient(config), config);
 */
export class DynamoModelStore implements ModelStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async loadProfiles(refs: ProfileRef[]): Promise<Map<string, StoredProfile>> {
    const result = new Map<string, StoredProfile>();
    const byKey = new Map(refs.map((ref) => [JSON.stringify(profileItemKey(ref)), ref]));
    const items = await this.batchGet(
      this.tables.entitiesTable,
      [...byKey.keys()].map((k) => JSON.parse(k)),
      true,
    );
    for (const item of items) {
      const ref = byKey.get(JSON.stringify({ pk: item.pk, sk: item.sk }));
      if (!ref) continue;
      result.set(profileKey(ref), {
        fields: (item.f as VersionedFields | undefined) ?? {},
        version: (item.version as number | undefined) ?? 0,
        lastSeenAt: item.last_seen_at as string | undefined,
        eventMonths: [...((item.event_months as Set<string> | undefined) ?? [])],
      });
    }
    return result;
  }

  async saveProfile(
    ref: ProfileRef,
    fields: VersionedFields,
    expectedVersion: number,
    bucket?: string,
  ): Promise<boolean> {
    const names: Record<string, string> = {
      "#f": "f",
      "#v": "version",
      "#kind": "kind",
      "#id": "id",
      "#ws": "workspace_id",
    };
    const values: Record<string, unknown> = {
      ":f": fields,
      ":nv": expectedVersion + 1,
      ":kind": ref.kind,
      ":id": ref.id,
      ":ws": ref.workspaceId,
    };
    let set = "SET #f = :f, #v = :nv, #kind = :kind, #id = :id, #ws = :ws";
    if (bucket !== undefined) {
      const index = keys.bucketIndex(ref.workspaceId, bucket, ref.id);
      Object.assign(names, { "#bucket": "bucket", "#g2pk": "gsi2pk", "#g2sk": "gsi2sk" });
      Object.assign(values, { ":bucket": bucket, ":g2pk": index.gsi2pk, ":g2sk": index.gsi2sk });
      set += ", #bucket = :bucket, #g2pk = :g2pk, #g2sk = :g2sk";
    }
    values[":ev"] = expectedVersion;
    const condition = expectedVersion === 0 ? "attribute_not_exists(#v) OR #v = :ev" : "#v = :ev";
    try {
      await storageCall("profile write", () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.entitiesTable,
            Key: profileItemKey(ref),
            UpdateExpression: set,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async loadMemberships(edges: MembershipEdge[]): Promise<Map<string, string>> {
    const items = await this.batchGet(
      this.tables.entitiesTable,
      edges.map((e) => keys.membership(e.workspaceId, e.accountId, e.userId)),
      true,
      "workspace_id, account_id, user_id, since",
    );
    return new Map(
      items.map((i) => [
        membershipKey({
          workspaceId: i.workspace_id as string,
          accountId: i.account_id as string,
          userId: i.user_id as string,
        }),
        i.since as string,
      ]),
    );
  }

  async saveMembership(edge: MembershipEdge): Promise<boolean> {
    const index = keys.membershipIndex(edge.workspaceId, edge.accountId, edge.userId);
    // First, so a retry after a failed membership write (which then finds the membership stored and
    // does not write it again) has already listed the account.
    await this.ensureAccountListed({ workspaceId: edge.workspaceId, kind: "account", id: edge.accountId });
    try {
      await storageCall("membership write", () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.entitiesTable,
            Key: keys.membership(edge.workspaceId, edge.accountId, edge.userId),
            UpdateExpression:
              "SET since = :s, gsi1pk = :g1pk, gsi1sk = :g1sk, account_id = :a, user_id = :u, workspace_id = :ws",
            ConditionExpression: "attribute_not_exists(since) OR since > :s",
            ExpressionAttributeValues: {
              ":s": edge.since,
              ":g1pk": index.gsi1pk,
              ":g1sk": index.gsi1sk,
              ":a": edge.accountId,
              ":u": edge.userId,
              ":ws": edge.workspaceId,
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async userMemberships(workspaceId: string, userId: string): Promise<{ accountId: string; since: string }[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.entitiesTable,
      IndexName: "byUser",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userMemberships(workspaceId, userId).gsi1pk },
    });
    return items.map((item) => ({ accountId: item.account_id as string, since: item.since as string }));
  }

  async existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>> {
    const items = await this.batchGet(
      this.tables.eventsTable,
      eventIds.map((id) => keys.event(workspaceId, id)),
      true,
      "event_id, #type, event_name, #ts, user_id, account_id, #src, content_hash",
      { "#type": "type", "#ts": "timestamp", "#src": "source" },
    );
    return new Map(
      items.map((item) => [
        item.event_id as string,
        {
          event_id: item.event_id as string,
          type: item.type as EventVersion["type"],
          event_name: item.event_name as string,
          timestamp: item.timestamp as string,
          user_id: (item.user_id as string | null | undefined) ?? null,
          account_id: (item.account_id as string | null | undefined) ?? null,
          source: item.source as string,
          ...(typeof item.content_hash === "string" ? { content_hash: item.content_hash } : {}),
        },
      ]),
    );
  }

  async rewriteEvents(events: StoredEvent[]): Promise<void> {
    await this.conditionalPuts(
      events,
      "attribute_exists(pk) AND (attribute_not_exists(content_hash) OR content_hash = :h)",
    );
  }

  async insertEvents(events: StoredEvent[]): Promise<Set<string>> {
    return this.conditionalPuts(
      events,
      "attribute_not_exists(pk) OR attribute_not_exists(content_hash) OR content_hash = :h",
    );
  }

  /** One conditional put per event, 8 at a time; returns the ids whose condition failed. */
  private async conditionalPuts(events: StoredEvent[], condition: string): Promise<Set<string>> {
    // One conditional put each (BatchWriteItem has no conditions): the same write units, more requests.
    const taken = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++] as StoredEvent;
        if (!(await this.putEventIf(event, condition, event.content_hash ?? null))) taken.add(event.event_id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, events.length) }, worker));
    return taken;
  }

  async replaceEvent(event: StoredEvent, expectedHash: string): Promise<boolean> {
    return this.putEventIf(event, "content_hash = :h", expectedHash);
  }

  /** Writes an event if `condition` (over `:h`) holds; false when it does not. */
  private async putEventIf(event: StoredEvent, condition: string, hash: string | null): Promise<boolean> {
    try {
      await storageCall("event write", () =>
        this.db.send(
          new PutCommand({
            TableName: this.tables.eventsTable,
            Item: eventItem(event),
            ConditionExpression: condition,
            ExpressionAttributeValues: { ":h": hash },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async userEventsResolvedFromMemberships(
    workspaceId: string,
    userId: string,
    fromTime: string,
  ): Promise<StoredEvent[]> {
    const user = await storageCall("user read", () =>
      this.db.send(
        new GetCommand({
          TableName: this.tables.entitiesTable,
          Key: keys.user(workspaceId, userId),
          ConsistentRead: true,
        }),
      ),
    );
    const months = [...((user.Item?.event_months as Set<string> | undefined) ?? [])].filter(
      (m) => m >= monthOf(fromTime),
    );
    return this.userEventsIn(workspaceId, userId, months.sort(), {
      from: fromTime,
      filter: "account_from_user = :yes",
      values: { ":yes": true },
    });
  }

  /** A user's events in the given months (byUser index, one partition a month), filtered. */
  private async userEventsIn(
    workspaceId: string,
    userId: string,
    months: string[],
    query: { from?: string; filter: string; values: Record<string, unknown> },
  ): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (const month of months) {
      const items = await queryAll(this.db, {
        TableName: this.tables.eventsTable,
        IndexName: "byUser",
        KeyConditionExpression: query.from === undefined ? "upk = :pk" : "upk = :pk AND usk >= :from",
        FilterExpression: query.filter,
        ExpressionAttributeValues: {
          ":pk": keys.userEvents(workspaceId, userId, month).upk,
          ...(query.from === undefined ? {} : { ":from": query.from }),
          ...query.values,
        },
      });
      events.push(...items.map(eventFromItem));
    }
    return events;
  }

  /**
   * Makes an account named only by a membership (an identify's `context.groupId`, before any group
   * call) exist as a profile in the default bucket, so every list shows what `GET
   * /v1/accounts/{id}` answers: an account with no fields yet (`missing_required: ["name"]`). Leaves
   * whatever is stored alone (`if_not_exists`), so it never moves an account out of its bucket.
   */
  private async ensureAccountListed(ref: ProfileRef): Promise<void> {
    const index = keys.bucketIndex(ref.workspaceId, "subscribed", ref.id);
    await storageCall("account write", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.entitiesTable,
          Key: profileItemKey(ref),
          UpdateExpression:
            "SET #kind = if_not_exists(#kind, :kind), #id = if_not_exists(#id, :id), workspace_id = if_not_exists(workspace_id, :ws), gsi2pk = if_not_exists(gsi2pk, :g2pk), gsi2sk = if_not_exists(gsi2sk, :g2sk), #bucket = if_not_exists(#bucket, :bucket)",
          ExpressionAttributeNames: { "#kind": "kind", "#id": "id", "#bucket": "bucket" },
          ExpressionAttributeValues: {
            ":kind": ref.kind,
            ":id": ref.id,
            ":ws": ref.workspaceId,
            ":g2pk": index.gsi2pk,
            ":g2sk": index.gsi2sk,
            ":bucket": "subscribed",
          },
        }),
      ),
    );
  }

  async touchLastSeen(ref: ProfileRef, time: string, months: string[]): Promise<void> {
    const key = profileItemKey(ref);
    const values: Record<string, unknown> = {
      ":t": time,
      ":months": new Set(months),
      ":one": 1,
      ":kind": ref.kind,
      ":id": ref.id,
      ":ws": ref.workspaceId,
    };
    let set =
      "SET last_seen_at = :t, #kind = if_not_exists(#kind, :kind), #id = if_not_exists(#id, :id), workspace_id = if_not_exists(workspace_id, :ws)";
    const names: Record<string, string> = { "#kind": "kind", "#id": "id" };
    if (ref.kind === "account") {
      // An account known only from events sits in the default bucket until its group call arrives.
      const index = keys.bucketIndex(ref.workspaceId, "subscribed", ref.id);
      Object.assign(values, { ":g2pk": index.gsi2pk, ":g2sk": index.gsi2sk, ":bucket": "subscribed" });
      names["#bucket"] = "bucket";
      set +=
        ", gsi2pk = if_not_exists(gsi2pk, :g2pk), gsi2sk = if_not_exists(gsi2sk, :g2sk), #bucket = if_not_exists(#bucket, :bucket)";
    }
    try {
      await storageCall("last seen write", () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.entitiesTable,
            Key: key,
            UpdateExpression: `${set} ADD event_months :months, seen_rev :one`,
            ConditionExpression: "attribute_not_exists(last_seen_at) OR last_seen_at < :t",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      // A newer event is already recorded: only the months of these events still need adding.
      await storageCall("last seen write", () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.entitiesTable,
            Key: key,
            UpdateExpression: "ADD event_months :months, seen_rev :one",
            ExpressionAttributeValues: { ":months": new Set(months), ":one": 1 },
          }),
        ),
      );
    }
  }

  async recomputeLastSeen(ref: ProfileRef): Promise<void> {
    const key = profileItemKey(ref);
    for (let attempt = 0; attempt < MAX_BATCH_ATTEMPTS; attempt++) {
      const current = await storageCall("profile read", () =>
        this.db.send(new GetCommand({ TableName: this.tables.entitiesTable, Key: key, ConsistentRead: true })),
      );
      if (!current.Item) return;
      const previous = current.Item.last_seen_at as string | undefined;
      const rev = current.Item.seen_rev as number | undefined;
      const months = [...((current.Item.event_months as Set<string> | undefined) ?? [])].sort().reverse();
      let newest: string | undefined;
      for (const month of months) {
        const [index, pkName, skName, pk] =
          ref.kind === "account"
            ? ["byAccount", "apk", "ask", keys.accountEvents(ref.workspaceId, ref.id, month).apk]
            : ["byUser", "upk", "usk", keys.userEvents(ref.workspaceId, ref.id, month).upk];
        const page = await storageCall("query", () =>
          this.db.send(
            new QueryCommand({
              TableName: this.tables.eventsTable,
              IndexName: index,
              KeyConditionExpression: `${pkName} = :pk`,
              ExpressionAttributeValues: { ":pk": pk },
              ScanIndexForward: false,
              Limit: 1,
            }),
          ),
        );
        const order = page.Items?.[0]?.[skName] as string | undefined;
        if (order) {
          newest = order.slice(0, order.indexOf("#"));
          break;
        }
      }
      // A profile that only events created, and that has none left, is no profile at all: in
      // whatever order the calls came, it would not exist (an alias re-pointed before the event).
      const empty = newest === undefined && current.Item.f === undefined;
      if (newest === previous && !empty) return;
      const unchanged = [
        previous === undefined ? "attribute_not_exists(last_seen_at)" : "last_seen_at = :old",
        // No event was recorded meanwhile (touchLastSeen counts every touch).
        rev === undefined ? "attribute_not_exists(seen_rev)" : "seen_rev = :rev",
      ];
      const values = {
        ...(previous === undefined ? {} : { ":old": previous }),
        ...(rev === undefined ? {} : { ":rev": rev }),
      };
      try {
        if (empty) {
          await storageCall("profile delete", () =>
            this.db.send(
              new DeleteCommand({
                TableName: this.tables.entitiesTable,
                Key: key,
                ConditionExpression: [...unchanged, "attribute_not_exists(f)"].join(" AND "),
                ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
              }),
            ),
          );
          return;
        }
        // Conditional on the value read, so a concurrent newer touch is never overwritten.
        await storageCall("last seen write", () =>
          this.db.send(
            new UpdateCommand({
              TableName: this.tables.entitiesTable,
              Key: key,
              UpdateExpression: newest === undefined ? "REMOVE last_seen_at" : "SET last_seen_at = :n",
              ConditionExpression: unchanged[0],
              ExpressionAttributeValues: {
                ...(newest === undefined ? {} : { ":n": newest }),
                ...(previous === undefined ? {} : { ":old": previous }),
              },
            }),
          ),
        );
        return;
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
    }
    throw new DependencyError("storage.contention", "last_seen_at kept changing while it was recomputed");
  }

  async saveAlias(
    workspaceId: string,
    fromId: string,
    toUserId: string,
    time: string,
  ): Promise<{ changed: boolean; previous?: string }> {
    // The user's record of the link first, kept even when the link loses to a newer one or is
    // re-pointed later: deleting the user must find every id ever linked to it (spec 3.5a).
    await this.batchWrite(this.tables.entitiesTable, [
      {
        PutRequest: {
          Item: { ...keys.userAlias(workspaceId, toUserId, fromId), workspace_id: workspaceId, from_id: fromId },
        },
      },
    ]);
    let previous: string | undefined;
    try {
      const out = await storageCall("alias write", () =>
        this.db.send(
          new PutCommand({
            TableName: this.tables.entitiesTable,
            Item: {
              ...keys.alias(workspaceId, fromId),
              workspace_id: workspaceId,
              from_id: fromId,
              user_id: toUserId,
              time,
            },
            // The newest link wins (ties by user id), whatever the order the calls arrive in.
            // The same link again (a redelivery) passes too, so its follow-up work can be redone.
            ConditionExpression: "attribute_not_exists(#t) OR #t < :t OR (#t = :t AND user_id <= :u)",
            ExpressionAttributeNames: { "#t": "time" },
            ExpressionAttributeValues: { ":t": time, ":u": toUserId },
            ReturnValues: "ALL_OLD",
          }),
        ),
      );
      previous = out.Attributes?.user_id as string | undefined;
      // The same link again: a first delivery may have saved it and then failed before moving the
      // anonymous events, so that is redone (reported as changed).
      if (previous === toUserId && out.Attributes?.time !== time) return { changed: false };
    } catch (error) {
      if (conditionFailed(error)) return { changed: false };
      throw error;
    }
    return previous === undefined || previous === toUserId ? { changed: true } : { changed: true, previous };
  }

  async aliasTargets(workspaceId: string, fromIds: string[]): Promise<Map<string, string>> {
    const items = await this.batchGet(
      this.tables.entitiesTable,
      fromIds.map((id) => keys.alias(workspaceId, id)),
      true,
      "from_id, user_id",
    );
    return new Map(items.map((item) => [item.from_id as string, item.user_id as string]));
  }

  async eventsAttributedByAlias(
    workspaceId: string,
    anonymousId: string,
    userId: string | null,
  ): Promise<StoredEvent[]> {
    if (userId === null) {
      const items = await queryAll(this.db, {
        TableName: this.tables.eventsTable,
        IndexName: "byUser",
        KeyConditionExpression: "upk = :pk",
        ExpressionAttributeValues: { ":pk": keys.anonymousEvents(workspaceId, anonymousId).upk },
      });
      return items.map(eventFromItem);
    }
    return this.userEventsIn(workspaceId, userId, await this.eventMonths(keys.user(workspaceId, userId)), {
      filter: "anonymous_id = :a AND user_from_alias = :yes",
      values: { ":a": anonymousId, ":yes": true },
    });
  }

  async lookupEntityMaps(workspaceId: string, refs: EntityRef[]): Promise<Map<string, string>> {
    const items = await this.batchGet(
      this.tables.entitiesTable,
      refs.map((ref) => keys.entityMap(workspaceId, ref.source, ref.kind, ref.externalId)),
      true,
      "#src, kind, external_id, canonical_id",
      { "#src": "source" },
    );
    return new Map(
      items.map((item) => [
        entityRefKey({
          source: item.source as string,
          kind: item.kind as ProfileKind,
          externalId: item.external_id as string,
        }),
        item.canonical_id as string,
      ]),
    );
  }

  async holdPending(pending: PendingCall, expiresAt: number): Promise<void> {
    await storageCall("pending write", () =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.entitiesTable,
          Item: pendingItem(pending, expiresAt),
          // A redelivered call keeps its first held_at, so retention is not reset by retries.
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    ).catch((error) => {
      if (!conditionFailed(error)) throw error;
    });
  }

  async deletedUsers(workspaceId: string, userIds: string[]): Promise<Set<string>> {
    return this.tombstoned(
      userIds.map((id) => keys.tombstone(workspaceId, id)),
      "user_id",
    );
  }

  async deleteUser(
    workspaceId: string,
    userId: string,
    deletedAt: string,
    known: { eventIds: string[] } = { eventIds: [] },
  ): Promise<{ accountsWithEvents: string[] }> {
    const table = this.tables.entitiesTable;
    // The tombstone first: from now on every call about the user is refused, even while we delete.
    await this.putTombstone(keys.tombstone(workspaceId, userId), {
      user_id: userId,
      deleted_at: deletedAt,
      workspace_id: workspaceId,
    });

    const { accounts, eventKeys, collect } = eventCollector();
    collect(await this.knownEvents(workspaceId, known.eventIds, (e) => e.user_id === userId));
    for (const month of await this.eventMonths(keys.user(workspaceId, userId))) {
      collect(
        await queryAll(this.db, {
          TableName: this.tables.eventsTable,
          IndexName: "byUser",
          KeyConditionExpression: "upk = :pk",
          ExpressionAttributeValues: { ":pk": keys.userEvents(workspaceId, userId, month).upk },
        }),
      );
    }
    // Records under the user's partition: profile, alias and map back-references (not the tombstone).
    const own = await queryAll(this.db, {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userPartition(workspaceId, userId).pk },
    });
    const entityDeletes: Key[] = [];
    for (const item of own) {
      const sk = item.sk as string;
      if (sk === "DELETED") continue;
      entityDeletes.push({ pk: item.pk as string, sk });
      if (sk.startsWith("ALIAS#")) {
        // The user's anonymous ids go with it: tombstoned (so a page arriving later is refused),
        // their link and their not-yet-attributed events deleted.
        const fromId = item.from_id as string;
        for (const accountId of (await this.deleteAnonymousId(workspaceId, fromId, deletedAt)).accountsWithEvents)
          accounts.add(accountId);
      }
      if (sk.startsWith("MAP#"))
        entityDeletes.push(keys.entityMap(workspaceId, item.source as string, "user", item.external_id as string));
    }
    const memberships = await queryAll(this.db, {
      TableName: table,
      IndexName: "byUser",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userMemberships(workspaceId, userId).gsi1pk },
    });
    for (const m of memberships) entityDeletes.push({ pk: m.pk as string, sk: m.sk as string });
    const rejects = await queryAll(this.db, {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      FilterExpression: "user_id = :u",
      ExpressionAttributeValues: { ":pk": keys.rejectPartition(workspaceId).pk, ":u": userId },
    });
    for (const r of rejects) entityDeletes.push({ pk: r.pk as string, sk: r.sk as string });

    await this.deleteKeys(this.tables.eventsTable, eventKeys);
    await this.deleteKeys(table, entityDeletes);
    return { accountsWithEvents: [...accounts] };
  }

  async deletedAnonymousIds(workspaceId: string, anonymousIds: string[]): Promise<Set<string>> {
    return this.tombstoned(
      anonymousIds.map((id) => keys.anonymousTombstone(workspaceId, id)),
      "from_id",
    );
  }

  async deleteAnonymousId(
    workspaceId: string,
    anonymousId: string,
    deletedAt: string,
    known: { eventIds: string[] } = { eventIds: [] },
  ): Promise<{ accountsWithEvents: string[] }> {
    await this.putTombstone(keys.anonymousTombstone(workspaceId, anonymousId), {
      from_id: anonymousId,
      deleted_at: deletedAt,
      workspace_id: workspaceId,
    });
    const { accounts, eventKeys, collect } = eventCollector();
    const anonymousOnly = (e: Record<string, unknown>) =>
      e.anonymous_id === anonymousId && (e.user_id === null || e.user_from_alias === true);
    collect(await this.knownEvents(workspaceId, known.eventIds, anonymousOnly));
    collect(
      await queryAll(this.db, {
        TableName: this.tables.eventsTable,
        IndexName: "byUser",
        KeyConditionExpression: "upk = :pk",
        ExpressionAttributeValues: { ":pk": keys.anonymousEvents(workspaceId, anonymousId).upk },
      }),
    );
    const entityDeletes: Key[] = [];
    const link = await this.get(keys.alias(workspaceId, anonymousId));
    if (link) {
      const target = link.user_id as string;
      entityDeletes.push(keys.alias(workspaceId, anonymousId), keys.userAlias(workspaceId, target, anonymousId));
      // Events the link attributed to its user are the anonymous id's activity too.
      const attributed = await this.eventsAttributedByAlias(workspaceId, anonymousId, target);
      collect(attributed.map((e) => ({ ...keys.event(workspaceId, e.event_id), account_id: e.account_id })));
    }
    await this.deleteKeys(this.tables.eventsTable, eventKeys);
    await this.deleteKeys(this.tables.entitiesTable, entityDeletes);
    // The user the id was linked to lost the events the link gave it (a deleted user is gone anyway).
    if (link && eventKeys.length > 0) {
      await this.recomputeLastSeen({ workspaceId, kind: "user", id: link.user_id as string });
    }
    return { accountsWithEvents: [...accounts] };
  }

  /** The ids (read from `idAttribute`) of the tombstones stored under these keys. */
  private async tombstoned(tombstoneKeys: Key[], idAttribute: "user_id" | "from_id"): Promise<Set<string>> {
    const items = await this.batchGet(this.tables.entitiesTable, tombstoneKeys, true, idAttribute);
    return new Set(items.map((item) => item[idAttribute] as string));
  }

  /** Writes a tombstone item once (a repeated deletion keeps the first `deleted_at`). */
  private async putTombstone(key: Key, attributes: Record<string, unknown>): Promise<void> {
    await storageCall("tombstone write", () =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.entitiesTable,
          Item: { ...key, ...attributes },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    ).catch((error) => {
      if (!conditionFailed(error)) throw error;
    });
  }

  /** Stored events among these ids that `belongs` accepts (with their keys and account). */
  private async knownEvents(
    workspaceId: string,
    eventIds: string[],
    belongs: (event: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>[]> {
    if (eventIds.length === 0) return [];
    const items = await this.batchGet(
      this.tables.eventsTable,
      eventIds.map((id) => keys.event(workspaceId, id)),
      true,
      "user_id, anonymous_id, user_from_alias, account_id",
    );
    return items.filter(belongs);
  }

  private async deleteKeys(table: string, itemKeys: Key[]): Promise<void> {
    const unique = [...new Map(itemKeys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values()];
    for (let i = 0; i < unique.length; i += 25) {
      await this.batchWrite(
        table,
        unique.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })),
      );
    }
  }

  /** The months a profile has events in (newest last). */
  private async eventMonths(key: Key): Promise<string[]> {
    const out = await storageCall("profile read", () =>
      this.db.send(new GetCommand({ TableName: this.tables.entitiesTable, Key: key, ConsistentRead: true })),
    );
    return [...((out.Item?.event_months as Set<string> | undefined) ?? [])].sort();
  }

  async saveRejects(rejects: RejectRecord[], seenAt: string): Promise<void> {
    // One item per (message, code, field): a redelivered call updates its reject instead of adding one.
    const unique = new Map<string, RejectRecord>();
    for (const r of rejects) unique.set(JSON.stringify(keys.reject(r.workspaceId, r.messageId, r.code, r.field)), r);
    for (const reject of unique.values()) {
      const value = JSON.stringify(reject.value ?? null) ?? "null";
      await storageCall("reject write", () =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tables.entitiesTable,
            Key: keys.reject(reject.workspaceId, reject.messageId, reject.code, reject.field),
            UpdateExpression:
              "SET #ws = :ws, #user = :user, #source = :src, #mid = :mid, #code = :code, #field = :field, #message = :msg, #value = :val, #trunc = :trunc, #first = if_not_exists(#first, :now), #last = :now ADD #count :one",
            ExpressionAttributeNames: {
              "#ws": "workspace_id",
              "#source": "source",
              "#mid": "message_id",
              "#code": "code",
              "#field": "field",
              "#message": "message",
              "#value": "value",
              "#trunc": "value_truncated",
              "#first": "first_seen",
              "#last": "last_seen",
              "#count": "seen_count",
              "#user": "user_id",
            },
            ExpressionAttributeValues: {
              ":ws": reject.workspaceId,
              ":user": reject.userId ?? null,
              ":src": reject.source,
              ":mid": reject.messageId,
              ":code": reject.code,
              ":field": reject.field,
              ":msg": reject.message,
              ":val": value.slice(0, MAX_REJECT_VALUE_CHARS),
              ":trunc": value.length > MAX_REJECT_VALUE_CHARS,
              ":now": seenAt,
              ":one": 1,
            },
          }),
        ),
      );
    }
  }

  async firstReceipts(
    workspaceId: string,
    receipts: CallReceipt[],
  ): Promise<Map<string, { receivedAt: string; time: string }>> {
    const result = new Map<string, { receivedAt: string; time: string }>();
    const read = (items: Record<string, unknown>[]) => {
      for (const item of items) {
        result.set(item.content_hash as string, { receivedAt: item.received_at as string, time: item.time as string });
      }
    };
    read(
      await this.batchGet(
        this.tables.entitiesTable,
        receipts.map((r) => keys.receipt(workspaceId, r.hash)),
        true,
        "content_hash, received_at, #t",
        { "#t": "time" },
      ),
    );
    for (const receipt of receipts) {
      if (result.has(receipt.hash) || !receipt.record) continue;
      try {
        await storageCall("receipt write", () =>
          this.db.send(
            new PutCommand({
              TableName: this.tables.entitiesTable,
              Item: {
                ...keys.receipt(workspaceId, receipt.hash),
                workspace_id: workspaceId,
                content_hash: receipt.hash,
                message_id: receipt.messageId,
                received_at: receipt.receivedAt,
                time: receipt.time,
                expires_at: Math.floor(Date.parse(receipt.receivedAt) / 1000) + RECEIPT_RETENTION_SECONDS,
              },
              ConditionExpression: "attribute_not_exists(pk)",
            }),
          ),
        );
        result.set(receipt.hash, { receivedAt: receipt.receivedAt, time: receipt.time });
      } catch (error) {
        if (!conditionFailed(error)) throw error;
        // Another normalizer recorded a delivery of the same call first: its receipt is the first.
        const item = await this.get(keys.receipt(workspaceId, receipt.hash));
        if (item) read([item]);
      }
    }
    return result;
  }

  private async get(key: Key): Promise<Record<string, unknown> | undefined> {
    const out = await storageCall("read", () =>
      this.db.send(new GetCommand({ TableName: this.tables.entitiesTable, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  private async batchGet(
    table: string,
    itemKeys: Key[],
    consistent: boolean,
    projection?: string,
    names?: Record<string, string>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    // BatchGetItem refuses a request that names the same key twice.
    const unique = new Map(itemKeys.map((k) => [`${k.pk}\u0000${k.sk}`, k]));
    itemKeys = [...unique.values()];
    for (let i = 0; i < itemKeys.length; i += 100) {
      let pending: Record<string, unknown>[] = itemKeys.slice(i, i + 100) as unknown as Record<string, unknown>[];
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_ATTEMPTS)
          throw new DependencyError("storage.unavailable", "DynamoDB left reads unprocessed");
        if (attempt > 0) await sleep(25 * 2 ** attempt);
        const request = {
          Keys: pending,
          ConsistentRead: consistent,
          ...(projection ? { ProjectionExpression: `pk, sk, ${projection}` } : {}),
          ...(names ? { ExpressionAttributeNames: names } : {}),
        };
        const out = await storageCall("batch read", () =>
          this.db.send(new BatchGetCommand({ RequestItems: { [table]: request } })),
        );
        items.push(...(out.Responses?.[table] ?? []));
        pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    }
    return items;
  }

  /** Writes any number of put/delete requests, 25 to a BatchWriteItem. */
  async writeBatches(table: string, requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) await this.batchWrite(table, requests.slice(i, i + 25));
  }

  private async batchWrite(table: string, requests: Record<string, unknown>[]): Promise<void> {
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS)
        throw new DependencyError("storage.unavailable", "DynamoDB left writes unprocessed");
      if (attempt > 0) await sleep(25 * 2 ** attempt);
      const out = await storageCall("batch write", () =>
        this.db.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } })),
      );
      pending = (out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
    }
  }
}
