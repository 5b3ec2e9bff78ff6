import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import { type EntityRef, entityRefKey } from "../../../core/src/pipeline/identity";
import { keys } from "./keys";
import type { TableNames } from "./profiles";
import { storageCall } from "./storage-error";
import { batchGet, batchWrite, conditionFailed } from "./table-ops";

/**
 * Who an id is (spec 3.5): alias links (anonymous or previous id → user, newest by event time
 * wins) with the user's own record of each link, and look-ups of entity map entries.
 */
export class AliasStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async saveAlias(
    workspaceId: string,
    fromId: string,
    toUserId: string,
    time: string,
  ): Promise<{ changed: boolean; previous?: string }> {
    // The user's record of the link first, kept even when the link loses to a newer one or is
    // re-pointed later: deleting the user must find every id ever linked to it (spec 3.5a).
    await batchWrite(this.db, this.tables.entitiesTable, [
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
    const items = await batchGet(
      this.db,
      this.tables.entitiesTable,
      fromIds.map((id) => keys.alias(workspaceId, id)),
      { consistent: true, projection: "from_id, user_id" },
    );
    return new Map(items.map((item) => [item.from_id as string, item.user_id as string]));
  }

  async lookupEntityMaps(workspaceId: string, refs: EntityRef[]): Promise<Map<string, string>> {
    const items = await batchGet(
      this.db,
      this.tables.entitiesTable,
      refs.map((ref) => keys.entityMap(workspaceId, ref.source, ref.kind, ref.externalId)),
      { consistent: true, projection: "#src, kind, external_id, canonical_id", names: { "#src": "source" } },
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
}
