import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { type EventStore, eventCollector } from "./events";
import { type Key, keys } from "./keys";
import type { MembershipStore } from "./memberships";
import type { ProfileStore, TableNames } from "./profiles";
import { batchGet, batchWrite, getItem, ifCondition, queryAll } from "./table-ops";

/** The stores a deletion reaches into. */
export interface DeletionDeps {
  profiles: ProfileStore;
  memberships: MembershipStore;
  events: EventStore;
}

/**
 * User deletion (spec 3.5a): tombstones first (from then on calls about the id are refused),
 * then the profile, memberships, aliases, entity maps, events and rejects of the user and of
 * every anonymous id linked to it. Every step is idempotent, so a deletion can run again.
 */
export class DeletionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly deps: DeletionDeps,
  ) {}

  async deletedUsers(workspaceId: string, userIds: string[]): Promise<Set<string>> {
    return this.tombstoned(
      userIds.map((id) => keys.tombstone(workspaceId, id)),
      "user_id",
    );
  }

  async deletedAnonymousIds(workspaceId: string, anonymousIds: string[]): Promise<Set<string>> {
    return this.tombstoned(
      anonymousIds.map((id) => keys.anonymousTombstone(workspaceId, id)),
      "from_id",
    );
  }

  async deleteUser(
    workspaceId: string,
    userId: string,
    deletedAt: string,
    known: { eventIds: string[] } = { eventIds: [] },
  ): Promise<{ accountsWithEvents: string[] }> {
    const table = this.tables.entitiesTable;
    const { events, profiles, memberships } = this.deps;
    // The tombstone first: from now on every call about the user is refused, even while we delete.
    await this.putTombstone(keys.tombstone(workspaceId, userId), {
      user_id: userId,
      deleted_at: deletedAt,
      workspace_id: workspaceId,
    });

    const { accounts, eventKeys, collect } = eventCollector();
    collect(await events.knownEvents(workspaceId, known.eventIds, (e) => e.user_id === userId));
    for (const month of await profiles.eventMonths(keys.user(workspaceId, userId))) {
      collect(await events.userEventItems(workspaceId, userId, month));
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
    for (const m of await memberships.userMembershipItems(workspaceId, userId))
      entityDeletes.push({ pk: m.pk as string, sk: m.sk as string });
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

  async deleteAnonymousId(
    workspaceId: string,
    anonymousId: string,
    deletedAt: string,
    known: { eventIds: string[] } = { eventIds: [] },
  ): Promise<{ accountsWithEvents: string[] }> {
    const { events, profiles } = this.deps;
    await this.putTombstone(keys.anonymousTombstone(workspaceId, anonymousId), {
      from_id: anonymousId,
      deleted_at: deletedAt,
      workspace_id: workspaceId,
    });
    const { accounts, eventKeys, collect } = eventCollector();
    const anonymousOnly = (e: Record<string, unknown>) =>
      e.anonymous_id === anonymousId && (e.user_id === null || e.user_from_alias === true);
    collect(await events.knownEvents(workspaceId, known.eventIds, anonymousOnly));
    collect(await events.anonymousEventItems(workspaceId, anonymousId));
    const entityDeletes: Key[] = [];
    const link = await getItem(this.db, this.tables.entitiesTable, keys.alias(workspaceId, anonymousId), {
      consistent: true,
    });
    if (link) {
      const target = link.user_id as string;
      entityDeletes.push(keys.alias(workspaceId, anonymousId), keys.userAlias(workspaceId, target, anonymousId));
      // Events the link attributed to its user are the anonymous id's activity too.
      const attributed = await events.eventsAttributedByAlias(workspaceId, anonymousId, target);
      collect(attributed.map((e) => ({ ...keys.event(workspaceId, e.event_id), account_id: e.account_id })));
    }
    await this.deleteKeys(this.tables.eventsTable, eventKeys);
    await this.deleteKeys(this.tables.entitiesTable, entityDeletes);
    // The user the id was linked to lost the events the link gave it (a deleted user is gone anyway).
    if (link && eventKeys.length > 0) {
      await profiles.recomputeLastSeen({ workspaceId, kind: "user", id: link.user_id as string });
    }
    return { accountsWithEvents: [...accounts] };
  }

  /** The ids (read from `idAttribute`) of the tombstones stored under these keys. */
  private async tombstoned(tombstoneKeys: Key[], idAttribute: "user_id" | "from_id"): Promise<Set<string>> {
    const items = await batchGet(this.db, this.tables.entitiesTable, tombstoneKeys, {
      consistent: true,
      projection: idAttribute,
    });
    return new Set(items.map((item) => item[idAttribute] as string));
  }

  /** Writes a tombstone item once (a repeated deletion keeps the first `deleted_at`). */
  private async putTombstone(key: Key, attributes: Record<string, unknown>): Promise<void> {
    await ifCondition("tombstone write", () =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.entitiesTable,
          Item: { ...key, ...attributes },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }

  private async deleteKeys(table: string, itemKeys: Key[]): Promise<void> {
    await batchWrite(
      this.db,
      table,
      itemKeys.map((Key) => ({ DeleteRequest: { Key } })),
    );
  }
}
