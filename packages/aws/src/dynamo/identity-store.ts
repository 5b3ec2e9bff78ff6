import { DeleteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type EntityMapEntry, type EntityMapPlan, entityMapKey } from "../../../core/src/identity/entity-map";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import { keys } from "./keys";
import type { DynamoModelStore, TableNames } from "./model-store";
import { pendingFromItem, type StoredPending } from "./pending";
import { storageCall } from "./storage-error";
import { batchWrite, type Page, queryAll, queryPage, type WriteRequest } from "./table-ops";

export type { StoredPending } from "./pending";
export type { Page } from "./table-ops";

/**
 * Entity maps and pending calls in DynamoDB (spec 3.5). The model store keeps rejects and looks
 * maps up during normalization; this store serves uploads, listings and the pending queue.
 */
export class DynamoIdentityStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly model: DynamoModelStore,
  ) {}

  /** The stored canonical ids of these entries, keyed by `entityMapKey`. */
  async storedMaps(workspaceId: string, entries: EntityMapEntry[]): Promise<Map<string, string>> {
    const refs = entries.map((e) => ({ source: e.source, kind: e.kind, externalId: e.external_id }));
    const found = await this.model.lookupEntityMaps(workspaceId, refs);
    const result = new Map<string, string>();
    for (const e of entries) {
      const canonical = found.get(`${e.source}\u0000${e.kind}\u0000${e.external_id}`);
      if (canonical !== undefined) result.set(entityMapKey(e), canonical);
    }
    return result;
  }

  /** Writes the created and changed entries of a plan (with their back-references). */
  async applyPlan(workspaceId: string, plan: EntityMapPlan, updatedAt: string): Promise<void> {
    const requests: WriteRequest[] = [];
    const partitions = new Set<string>();
    const write = (entry: EntityMapEntry) => {
      partitions.add(`${entry.source}\u0000${entry.kind}`);
      requests.push({
        PutRequest: {
          Item: {
            ...keys.entityMap(workspaceId, entry.source, entry.kind, entry.external_id),
            workspace_id: workspaceId,
            source: entry.source,
            kind: entry.kind,
            external_id: entry.external_id,
            canonical_id: entry.canonical_id,
            updated_at: updatedAt,
          },
        },
      });
      if (entry.kind === "user") {
        requests.push({
          PutRequest: {
            Item: {
              ...keys.userEntityMap(workspaceId, entry.canonical_id, entry.source, entry.external_id),
              workspace_id: workspaceId,
              source: entry.source,
              external_id: entry.external_id,
            },
          },
        });
      }
    };
    for (const entry of plan.created) write(entry);
    for (const { entry, previous } of plan.changed) {
      write(entry);
      if (entry.kind === "user") {
        requests.push({
          DeleteRequest: { Key: keys.userEntityMap(workspaceId, previous, entry.source, entry.external_id) },
        });
      }
    }
    for (const partition of partitions) {
      const [source, kind] = partition.split("\u0000") as [string, string];
      requests.push({ PutRequest: { Item: { ...keys.entityMapIndex(workspaceId, source, kind), source, kind } } });
    }
    await batchWrite(this.db, this.tables.entitiesTable, requests);
  }

  /** The (source, kind) pairs that have maps. */
  async mapPartitions(workspaceId: string): Promise<{ source: string; kind: ProfileKind }[]> {
    const index = keys.entityMapIndex(workspaceId, "", "");
    const out = await queryPage(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": index.pk, ":prefix": "MAPS#" },
    });
    return out.items.map((i) => ({ source: i.source as string, kind: i.kind as ProfileKind }));
  }

  /** One page of the maps of one source and kind, by external id. */
  async listMaps(
    workspaceId: string,
    source: string,
    kind: ProfileKind,
    limit: number,
    start?: Record<string, unknown>,
  ): Promise<Page<EntityMapEntry & { updated_at: string }>> {
    const out = await queryPage(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.entityMapPartition(workspaceId, source, kind).pk },
      Limit: limit,
      ExclusiveStartKey: start,
    });
    return {
      items: out.items.map((i) => ({
        source: i.source as string,
        kind: i.kind as ProfileKind,
        external_id: i.external_id as string,
        canonical_id: i.canonical_id as string,
        updated_at: i.updated_at as string,
      })),
      next: out.next,
    };
  }

  /** Deletes one map entry; true when it existed. */
  async deleteMap(workspaceId: string, source: string, kind: ProfileKind, externalId: string): Promise<boolean> {
    const out = await storageCall("map delete", () =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tables.entitiesTable,
          Key: keys.entityMap(workspaceId, source, kind, externalId),
          ReturnValues: "ALL_OLD",
        }),
      ),
    );
    const canonical = out.Attributes?.canonical_id as string | undefined;
    if (canonical !== undefined && kind === "user") {
      await storageCall("map delete", () =>
        this.db.send(
          new DeleteCommand({
            TableName: this.tables.entitiesTable,
            Key: keys.userEntityMap(workspaceId, canonical, source, externalId),
          }),
        ),
      );
    }
    return canonical !== undefined;
  }

  /** One page of pending calls, oldest event first. */
  async listPending(workspaceId: string, limit: number, start?: Record<string, unknown>): Promise<Page<StoredPending>> {
    const out = await queryPage(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.pendingPartition(workspaceId).pk },
      Limit: limit,
      ExclusiveStartKey: start,
    });
    return { items: out.items.map(pendingFromItem), next: out.next };
  }

  /** Every pending call of a workspace, oldest event first. */
  async allPending(workspaceId: string): Promise<StoredPending[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.pendingPartition(workspaceId).pk },
      Limit: 500,
    });
    return items.map(pendingFromItem);
  }

  /** Pending calls whose missing ids all have map entries now, oldest event first. */
  async releasable(workspaceId: string): Promise<StoredPending[]> {
    const pending = await this.allPending(workspaceId);
    if (pending.length === 0) return [];
    const refs = pending.flatMap((p) => p.missing);
    const found = await this.model.lookupEntityMaps(workspaceId, refs);
    return pending.filter((p) => p.missing.every((m) => found.has(`${m.source}\u0000${m.kind}\u0000${m.externalId}`)));
  }

  /** Removes pending calls (after they were queued again, or expired). */
  async removePending(keysToRemove: { pk: string; sk: string }[]): Promise<void> {
    await batchWrite(
      this.db,
      this.tables.entitiesTable,
      keysToRemove.map((Key) => ({ DeleteRequest: { Key } })),
    );
  }

  /**
   * Expires pending calls held for longer than the retention: each becomes an `id.unmapped` reject
   * (with the call, so nothing is lost) and leaves the pending list. Returns how many expired.
   */
  async expirePending(workspaceId: string, now: string, retentionDays: number): Promise<number> {
    const cutoff = new Date(Date.parse(now) - retentionDays * 86400_000).toISOString();
    const expired = (await this.allPending(workspaceId)).filter((p) => p.heldAt < cutoff);
    if (expired.length === 0) return 0;
    await this.model.saveRejects(
      expired.map((p) => ({
        workspaceId,
        source: p.source,
        messageId: p.messageId,
        code: "id.unmapped",
        field: p.missing.map((m) => `${m.kind}:${m.externalId}`).join(","),
        message: `no entity map arrived within ${retentionDays} days for ${p.missing
          .map((m) => `${m.source} ${m.kind} ${m.externalId}`)
          .join(", ")}`,
        value: p.call,
      })),
      now,
    );
    await this.removePending(expired.map((p) => p.key));
    return expired.length;
  }
}
