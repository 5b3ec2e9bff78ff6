import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { RejectRecord } from "../../../core/src/pipeline/model-store";
import { keys } from "./keys";
import type { TableNames } from "./profiles";
import { storageCall } from "./storage-error";

/** Longest offending value kept on a reject (serialised), so a reject item stays small. */
const MAX_REJECT_VALUE_CHARS = 4096;

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

/** A reject read back from its item. */
export function rejectFromItem(i: Record<string, unknown>): StoredReject {
  return {
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
  };
}

/** Rejects (spec 3.6): one item per (message, code, field), counted and dated on every sighting. */
export class RejectStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async saveRejects(rejects: RejectRecord[], seenAt: string): Promise<void> {
    // One item per (message, code, field): a redelivered call updates its reject instead of adding one.
    const unique = new Map<string, RejectRecord>();
    for (const r of rejects) unique.set(JSON.stringify(keys.reject(r.workspaceId, r.messageId, r.code, r.field)), r);
    for (const reject of unique.values()) await this.saveReject(reject, seenAt);
  }

  private async saveReject(reject: RejectRecord, seenAt: string): Promise<void> {
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
