import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type Account, materializeAccount, materializeUser, type User } from "../../../core/src/normalize/materialize";
import type { VersionedFields } from "../../../core/src/normalize/merge";
import type { StoredEvent } from "../../../core/src/pipeline/model-store";
import { keys } from "./keys";
import { eventFromItem, type TableNames } from "./model-store";
import { storageCall } from "./storage-error";

/** Activity facts kept beside a profile's fields. */
export interface Activity {
  last_seen_at: string | null;
}

/** A stored reject as the API shows it. */
export interface StoredReject {
  workspace_id: string;
  source: string;
  message_id: string;
  code: string;
  field: string;
  message: string;
  value: unknown;
  value_truncated: boolean;
  first_seen: string;
  last_seen: string;
  seen_count: number;
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

  async getAccount(workspaceId: string, accountId: string): Promise<(Account & Activity) | undefined> {
    const item = await this.get(this.tables.entitiesTable, keys.account(workspaceId, accountId));
    if (!item) return undefined;
    return {
      ...materializeAccount(workspaceId, accountId, (item.f as VersionedFields) ?? {}),
      last_seen_at: (item.last_seen_at as string) ?? null,
    };
  }

  async getUser(
    workspaceId: string,
    userId: string,
  ): Promise<(User & Activity & { account_ids: string[] }) | undefined> {
    const item = await this.get(this.tables.entitiesTable, keys.user(workspaceId, userId));
    if (!item) return undefined;
    const accountIds = (await this.userAccountIds(workspaceId, userId)).sort();
    return {
      ...materializeUser(workspaceId, userId, (item.f as VersionedFields) ?? {}),
      account_ids: accountIds,
      last_seen_at: (item.last_seen_at as string) ?? null,
    };
  }

  async userAccountIds(workspaceId: string, userId: string): Promise<string[]> {
    const items = await this.queryAll({
      TableName: this.tables.entitiesTable,
      IndexName: "byUser",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userMemberships(workspaceId, userId).gsi1pk },
    });
    return items.map((i) => i.account_id as string);
  }

  async accountUserIds(workspaceId: string, accountId: string): Promise<string[]> {
    const prefix = keys.accountMembersPrefix(workspaceId, accountId);
    const items = await this.queryAll({
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
    const items = await this.queryAll({
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.rejectPartition(workspaceId).pk },
    });
    return items.map((i) => ({
      workspace_id: i.workspace_id as string,
      source: i.source as string,
      message_id: i.message_id as string,
      code: i.code as string,
      field: i.field as string,
      message: i.message as string,
      value: JSON.parse(i.value_truncated ? "null" : ((i.value as string) ?? "null")),
      value_truncated: Boolean(i.value_truncated),
      first_seen: i.first_seen as string,
      last_seen: i.last_seen as string,
      seen_count: Number(i.seen_count ?? 0),
    }));
  }

  private async get(table: string, key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const out = await storageCall("read", () => this.db.send(new GetCommand({ TableName: table, Key: key })));
    return out.Item;
  }

  private async queryAll(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await storageCall("query", () =>
        this.db.send(new QueryCommand({ ...input, ExclusiveStartKey: start })),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
