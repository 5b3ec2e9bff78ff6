import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import type { PendingCall } from "../../../core/src/pipeline/model-store";
import { keys } from "./keys";
import type { TableNames } from "./profiles";
import { ifCondition } from "./table-ops";

/** A stored pending call with its item key, for listing and releasing. */
export interface StoredPending extends PendingCall {
  key: { pk: string; sk: string };
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

/** A pending call read back from its item. */
export function pendingFromItem(item: Record<string, unknown>): StoredPending {
  return {
    key: { pk: item.pk as string, sk: item.sk as string },
    workspaceId: item.workspace_id as string,
    source: item.source as string,
    messageId: item.message_id as string,
    time: item.time as string,
    heldAt: item.held_at as string,
    receivedAt: item.received_at as string,
    ...(item.route === "tracking" || item.route === "webhook" ? { route: item.route } : {}),
    call: JSON.parse(item.call as string),
    missing: ((item.missing as { source: string; kind: ProfileKind; external_id: string }[]) ?? []).map((m) => ({
      source: m.source,
      kind: m.kind,
      externalId: m.external_id,
    })),
  };
}

/** Holds calls that wait for entity maps (spec 3.5); listing and release are in identity-store.ts. */
export class PendingStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async holdPending(pending: PendingCall, expiresAt: number): Promise<void> {
    // A redelivered call keeps its first held_at, so retention is not reset by retries.
    await ifCondition("pending write", () =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.entitiesTable,
          Item: pendingItem(pending, expiresAt),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }
}
