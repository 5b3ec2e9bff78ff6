import type { DynamoDBDocumentClient, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import {
  type Account,
  accountProvenance,
  type FieldProvenance,
  materializeAccount,
  materializeUser,
  type User,
  userProvenance,
} from "../../../core/src/normalize/materialize";
import type { VersionedFields } from "../../../core/src/normalize/merge";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import type { StoredEvent } from "../../../core/src/pipeline/model-store";
import { eventFromItem } from "./events";
import { type Key, keys } from "./keys";
import { isLeftover, LAST_SEEN_CONCURRENCY, mapLimited, monthsOfItem, newestEventTime } from "./last-seen";
import type { TableNames } from "./profiles";
import { rejectFromItem, type StoredReject } from "./rejects";
import { batchGetByKey, getItem, itemKeyOf, type Page, queryAll, queryPage } from "./table-ops";

export type { StoredReject } from "./rejects";

/** Activity facts derived from a profile's events (nothing of them is stored on the profile). */
export interface Activity {
  last_seen_at: string | null;
}

/** A membership edge as listed from one side: the other side's id and when the edge began. */
export interface MembershipEntry {
  id: string;
  since: string;
}

/** A time range of events: `from` inclusive, `to` exclusive, both ISO UTC with milliseconds. */
export interface EventRange {
  from?: string;
  to?: string;
}

/** Present only when asked for (`?provenance=true`): the answer is otherwise as it was. */
interface WithProvenance {
  provenance?: Record<string, FieldProvenance>;
}

/**
 * Reads the model back: profiles materialized with their derived fields, memberships, events.
 * Every read takes the workspace and builds keys through `keys`, so it cannot leave the workspace.
 */
export class DynamoModelReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  /** One account; with `provenance`, also which source and call set each field. */
  async getAccount(
    workspaceId: string,
    accountId: string,
    options: { provenance?: boolean } = {},
  ): Promise<(Account & Activity & WithProvenance) | undefined> {
    const item = await this.get(this.tables.entitiesTable, keys.account(workspaceId, accountId));
    const activity = item && (await this.shown(workspaceId, "account", accountId, item));
    if (!item || !activity) return undefined;
    const fields = (item.f as VersionedFields) ?? {};
    return {
      ...materializeAccount(workspaceId, accountId, fields),
      ...activity,
      ...(options.provenance ? { provenance: accountProvenance(fields) } : {}),
    };
  }

  /** One user, unless deleted; with `provenance`, also which source and call set each field. */
  async getUser(
    workspaceId: string,
    userId: string,
    options: { provenance?: boolean } = {},
  ): Promise<(User & Activity & { account_ids: string[] } & WithProvenance) | undefined> {
    // A normalizer that checked the tombstone before a concurrent deletion may still write the
    // profile for a moment (it undoes that itself): a deleted user is never served meanwhile.
    const found = await this.batchGet([keys.user(workspaceId, userId), keys.tombstone(workspaceId, userId)]);
    const item = found.get(itemKeyOf(keys.user(workspaceId, userId)));
    if (!item || found.has(itemKeyOf(keys.tombstone(workspaceId, userId)))) return undefined;
    const activity = await this.shown(workspaceId, "user", userId, item);
    if (!activity) return undefined;
    const accountIds = (await this.userAccountIds(workspaceId, userId)).sort();
    const fields = (item.f as VersionedFields) ?? {};
    return {
      ...materializeUser(workspaceId, userId, fields),
      account_ids: accountIds,
      ...activity,
      ...(options.provenance ? { provenance: userProvenance(fields) } : {}),
    };
  }

  async userAccountIds(workspaceId: string, userId: string): Promise<string[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.entitiesTable,
      IndexName: "byUser",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userMemberships(workspaceId, userId).gsi1pk },
    });
    return items.map((i) => i.account_id as string);
  }

  async accountUserIds(workspaceId: string, accountId: string): Promise<string[]> {
    const prefix = keys.accountMembersPrefix(workspaceId, accountId);
    const items = await queryAll(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
      ExpressionAttributeValues: { ":pk": prefix.pk, ":sk": prefix.skPrefix },
    });
    return items.map((i) => i.user_id as string);
  }

  /** The tombstone of a deleted user: proof the deletion was carried out. */
  async getDeletion(workspaceId: string, userId: string): Promise<{ user_id: string; deleted_at: string } | undefined> {
    const item = await this.get(this.tables.entitiesTable, keys.tombstone(workspaceId, userId));
    return item ? { user_id: item.user_id as string, deleted_at: item.deleted_at as string } : undefined;
  }

  async getEvent(workspaceId: string, eventId: string): Promise<StoredEvent | undefined> {
    const item = await this.get(this.tables.eventsTable, keys.event(workspaceId, eventId));
    return item ? eventFromItem(item) : undefined;
  }

  async listRejects(workspaceId: string): Promise<StoredReject[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.rejectPartition(workspaceId).pk },
    });
    return items.map(rejectFromItem);
  }

  /**
   * One page of rejects, by message id, optionally of one reason code. The code is a filter, so a
   * page is read on until it holds `limit` rejects or the partition ends; `next` is the key of the
   * last item DynamoDB evaluated, so nothing between pages is skipped or repeated.
   */
  async rejectsPage(
    workspaceId: string,
    code: string | undefined,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<StoredReject>> {
    const items: StoredReject[] = [];
    let next = start;
    do {
      const page = await this.queryPage({
        TableName: this.tables.entitiesTable,
        KeyConditionExpression: "pk = :pk",
        ...(code === undefined
          ? { ExpressionAttributeValues: { ":pk": keys.rejectPartition(workspaceId).pk } }
          : {
              FilterExpression: "#code = :code",
              ExpressionAttributeNames: { "#code": "code" },
              ExpressionAttributeValues: { ":pk": keys.rejectPartition(workspaceId).pk, ":code": code },
            }),
        Limit: limit - items.length,
        ExclusiveStartKey: next,
      });
      items.push(...page.items.map(rejectFromItem));
      next = page.next;
    } while (next && items.length < limit);
    return { items, next };
  }

  /** One page of the accounts of a bucket (byBucket index), by account id. */
  async accountsInBucket(
    workspaceId: string,
    bucket: string,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<Account & Activity>> {
    const page = await this.queryPage({
      TableName: this.tables.entitiesTable,
      IndexName: "byBucket",
      KeyConditionExpression: "gsi2pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.bucketPartition(workspaceId, bucket).gsi2pk },
      Limit: limit,
      ExclusiveStartKey: start,
    });
    const items = await mapLimited(page.items, LAST_SEEN_CONCURRENCY, async (item) => {
      const activity = await this.shown(workspaceId, "account", item.id as string, item);
      return (
        activity && {
          ...materializeAccount(workspaceId, item.id as string, (item.f as VersionedFields) ?? {}),
          ...activity,
        }
      );
    });
    return { items: items.filter((a) => a !== undefined), next: page.next };
  }

  /** One page of the users of an account, by user id, each with the start of the membership. */
  async accountMembers(
    workspaceId: string,
    accountId: string,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<MembershipEntry>> {
    const prefix = keys.accountMembersPrefix(workspaceId, accountId);
    const page = await this.queryPage({
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
      ExpressionAttributeValues: { ":pk": prefix.pk, ":sk": prefix.skPrefix },
      Limit: limit,
      ExclusiveStartKey: start,
    });
    return { items: page.items.map((i) => ({ id: i.user_id as string, since: i.since as string })), next: page.next };
  }

  /** One page of the accounts of a user (byUser index), by account id, with the start of the membership. */
  async userMemberships(
    workspaceId: string,
    userId: string,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<MembershipEntry>> {
    const page = await this.queryPage({
      TableName: this.tables.entitiesTable,
      IndexName: "byUser",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userMemberships(workspaceId, userId).gsi1pk },
      Limit: limit,
      ExclusiveStartKey: start,
    });
    return {
      items: page.items.map((i) => ({ id: i.account_id as string, since: i.since as string })),
      next: page.next,
    };
  }

  /** True when a membership names this account (or user), even if it has no profile yet. */
  async hasMemberships(workspaceId: string, kind: ProfileKind, id: string): Promise<boolean> {
    const page =
      kind === "account"
        ? await this.accountMembers(workspaceId, id, 1)
        : await this.userMemberships(workspaceId, id, 1);
    return page.items.length > 0;
  }

  /**
   * Accounts by id, materialized with their activity; an id without a profile item (known only from
   * a membership) is an account with no fields yet.
   */
  async getAccounts(workspaceId: string, accountIds: string[]): Promise<Map<string, Account & Activity>> {
    const items = await this.batchGet(accountIds.map((id) => keys.account(workspaceId, id)));
    const accounts = await mapLimited(accountIds, LAST_SEEN_CONCURRENCY, async (id) => {
      const item = items.get(itemKeyOf(keys.account(workspaceId, id)));
      const account = materializeAccount(workspaceId, id, (item?.f as VersionedFields) ?? {});
      return [id, { ...account, ...(await this.activity(workspaceId, "account", id, item)) }] as const;
    });
    return new Map(accounts);
  }

  /** Which of these users were deleted (have a tombstone). */
  async deletedUsers(workspaceId: string, userIds: string[]): Promise<Set<string>> {
    const items = await this.batchGet(userIds.map((id) => keys.tombstone(workspaceId, id)));
    return new Set(userIds.filter((id) => items.has(itemKeyOf(keys.tombstone(workspaceId, id)))));
  }

  /** Users by id, materialized with their activity (as `getAccounts`); deleted users are left out. */
  async getUsers(workspaceId: string, userIds: string[]): Promise<Map<string, User & Activity>> {
    const items = await this.batchGet(
      userIds.flatMap((id) => [keys.user(workspaceId, id), keys.tombstone(workspaceId, id)]),
    );
    const live = userIds.filter((id) => !items.has(itemKeyOf(keys.tombstone(workspaceId, id))));
    const users = await mapLimited(live, LAST_SEEN_CONCURRENCY, async (id) => {
      const item = items.get(itemKeyOf(keys.user(workspaceId, id)));
      const user = materializeUser(workspaceId, id, (item?.f as VersionedFields) ?? {});
      return [id, { ...user, ...(await this.activity(workspaceId, "user", id, item)) }] as const;
    });
    return new Map(users);
  }

  /**
   * The months (`yyyy-mm`) in which a profile has events, newest first; undefined when there is no
   * profile item. The event indexes are read month by month from this list.
   */
  async eventMonths(workspaceId: string, kind: ProfileKind, id: string): Promise<string[] | undefined> {
    const key = kind === "account" ? keys.account(workspaceId, id) : keys.user(workspaceId, id);
    const item = await this.get(this.tables.entitiesTable, key);
    if (!item) return undefined;
    return monthsOfItem(item);
  }

  /** A profile's activity: `last_seen_at` derived from its newest stored event (last-seen.ts). */
  private async activity(workspaceId: string, kind: ProfileKind, id: string, item?: Record<string, unknown>) {
    const ref = { workspaceId, kind, id };
    return { last_seen_at: (await newestEventTime(this.db, this.tables.eventsTable, ref, monthsOfItem(item))) ?? null };
  }

  /** `activity` of a stored profile, or undefined for what is left of one only events made (`isLeftover`). */
  private async shown(workspaceId: string, kind: ProfileKind, id: string, item: Record<string, unknown>) {
    const activity = await this.activity(workspaceId, kind, id, item);
    const hidden = isLeftover(item, activity.last_seen_at) && !(await this.hasMemberships(workspaceId, kind, id));
    return hidden ? undefined : activity;
  }

  /**
   * One page of the events of an account or user in one month partition, newest first, in a time
   * range. The index sort key is `<timestamp>#<messageId>` and timestamps have one fixed length, so
   * `ask >= from` keeps events at `from` and `ask < to` drops those at `to`.
   */
  async eventsPage(
    workspaceId: string,
    kind: ProfileKind,
    id: string,
    month: string,
    range: EventRange,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<StoredEvent>> {
    const [index, pkName, skName, pk] =
      kind === "account"
        ? ["byAccount", "apk", "ask", keys.accountEvents(workspaceId, id, month).apk]
        : ["byUser", "upk", "usk", keys.userEvents(workspaceId, id, month).upk];
    const values: Record<string, string> = { ":pk": pk };
    let condition = `${pkName} = :pk`;
    if (range.from !== undefined && range.to !== undefined) {
      condition += ` AND ${skName} BETWEEN :from AND :to`;
      Object.assign(values, { ":from": range.from, ":to": range.to });
    } else if (range.from !== undefined) {
      condition += ` AND ${skName} >= :from`;
      values[":from"] = range.from;
    } else if (range.to !== undefined) {
      condition += ` AND ${skName} < :to`;
      values[":to"] = range.to;
    }
    const page = await this.queryPage({
      TableName: this.tables.eventsTable,
      IndexName: index,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    });
    return { items: page.items.map(eventFromItem), next: page.next };
  }

  /** Throws unless the Entities table can be read (for the health check). */
  async checkReachable(): Promise<void> {
    await queryPage(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.workspaceIndexPartition().pk },
      Limit: 1,
    });
  }

  private async get(table: string, key: Key): Promise<Record<string, unknown> | undefined> {
    return getItem(this.db, table, key);
  }

  private async queryPage(input: QueryCommandInput): Promise<Page<Record<string, unknown>>> {
    return queryPage(this.db, input);
  }

  /** Items by key, keyed by `itemKeyOf`. */
  private async batchGet(itemKeys: Key[]): Promise<Map<string, Record<string, unknown>>> {
    return batchGetByKey(this.db, this.tables.entitiesTable, itemKeys);
  }
}
