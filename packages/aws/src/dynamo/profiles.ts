import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DependencyError } from "../../../core/src/errors";
import { DEFAULT_BUCKET } from "../../../core/src/model/account";
import type { VersionedFields } from "../../../core/src/normalize/merge";
import type { ProfileRef, StoredProfile } from "../../../core/src/pipeline/model-store";
import { profileKey } from "../../../core/src/pipeline/model-store";
import { type RetryPolicy, retry } from "../../../core/src/retry";
import { type Key, keys } from "./keys";
import { storageCall } from "./storage-error";
import { batchGet, getItem, ifCondition, queryPage } from "./table-ops";

/** The tables the model lives in (config names them). */
export interface TableNames {
  entitiesTable: string;
  eventsTable: string;
}

/** The item key of an account or user profile. */
export const profileItemKey = (ref: ProfileRef): Key =>
  ref.kind === "account" ? keys.account(ref.workspaceId, ref.id) : keys.user(ref.workspaceId, ref.id);

/** A recompute that keeps losing to concurrent touches of `last_seen_at`. */
class ContentionError extends DependencyError {}

/** Recomputing `last_seen_at` is conditional on what was read: it is read again when that changed. */
const recomputeRetry: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 5,
  maxDelayMs: 80,
  retryable: (error) => error instanceof ContentionError,
};

/**
 * Account and user profiles: their versioned fields (optimistic lock on `version`), their bucket
 * index, and the activity kept beside them (`last_seen_at`, the months that have events).
 */
export class ProfileStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async loadProfiles(refs: ProfileRef[]): Promise<Map<string, StoredProfile>> {
    const result = new Map<string, StoredProfile>();
    const byKey = new Map(refs.map((ref) => [JSON.stringify(profileItemKey(ref)), ref]));
    const items = await batchGet(
      this.db,
      this.tables.entitiesTable,
      [...byKey.keys()].map((k) => JSON.parse(k)),
      { consistent: true },
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
    return ifCondition("profile write", () =>
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
  }

  /**
   * Makes an account named only by a membership (an identify's `context.groupId`, before any group
   * call) exist as a profile in the default bucket, so every list shows what `GET
   * /v1/accounts/{id}` answers: an account with no fields yet (`missing_required: ["name"]`). Leaves
   * whatever is stored alone (`if_not_exists`), so it never moves an account out of its bucket.
   */
  async ensureAccountListed(ref: ProfileRef): Promise<void> {
    const index = keys.bucketIndex(ref.workspaceId, DEFAULT_BUCKET, ref.id);
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
            ":bucket": DEFAULT_BUCKET,
          },
        }),
      ),
    );
  }

  /** The months a profile has events in (oldest first), read consistently. */
  async eventMonths(key: Key): Promise<string[]> {
    const item = await getItem(this.db, this.tables.entitiesTable, key, {
      consistent: true,
      operation: "profile read",
    });
    return [...((item?.event_months as Set<string> | undefined) ?? [])].sort();
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
      const index = keys.bucketIndex(ref.workspaceId, DEFAULT_BUCKET, ref.id);
      Object.assign(values, { ":g2pk": index.gsi2pk, ":g2sk": index.gsi2sk, ":bucket": DEFAULT_BUCKET });
      names["#bucket"] = "bucket";
      set +=
        ", gsi2pk = if_not_exists(gsi2pk, :g2pk), gsi2sk = if_not_exists(gsi2sk, :g2sk), #bucket = if_not_exists(#bucket, :bucket)";
    }
    const moved = await ifCondition("last seen write", () =>
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
    if (moved) return;
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

  async recomputeLastSeen(ref: ProfileRef): Promise<void> {
    await retry(async () => {
      if (!(await this.recomputeOnce(ref)))
        throw new ContentionError("storage.contention", "last_seen_at kept changing while it was recomputed");
    }, recomputeRetry);
  }

  /** One read-compute-write of `last_seen_at`; false when the profile changed in between. */
  private async recomputeOnce(ref: ProfileRef): Promise<boolean> {
    const key = profileItemKey(ref);
    const current = await getItem(this.db, this.tables.entitiesTable, key, {
      consistent: true,
      operation: "profile read",
    });
    if (!current) return true;
    const previous = current.last_seen_at as string | undefined;
    const rev = current.seen_rev as number | undefined;
    const newest = await this.newestEventTime(ref, current);
    // A profile that only events created, and that has none left, is no profile at all: in
    // whatever order the calls came, it would not exist (an alias re-pointed before the event).
    const empty = newest === undefined && current.f === undefined;
    if (newest === previous && !empty) return true;
    const unchanged = [
      previous === undefined ? "attribute_not_exists(last_seen_at)" : "last_seen_at = :old",
      // No event was recorded meanwhile (touchLastSeen counts every touch).
      rev === undefined ? "attribute_not_exists(seen_rev)" : "seen_rev = :rev",
    ];
    const values = {
      ...(previous === undefined ? {} : { ":old": previous }),
      ...(rev === undefined ? {} : { ":rev": rev }),
    };
    if (empty) {
      return ifCondition("profile delete", () =>
        this.db.send(
          new DeleteCommand({
            TableName: this.tables.entitiesTable,
            Key: key,
            ConditionExpression: [...unchanged, "attribute_not_exists(f)"].join(" AND "),
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          }),
        ),
      );
    }
    // Conditional on the value read, so a concurrent newer touch is never overwritten.
    return ifCondition("last seen write", () =>
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
  }

  /** The time of a profile's newest stored event, from its newest month that has one. */
  private async newestEventTime(ref: ProfileRef, item: Record<string, unknown>): Promise<string | undefined> {
    const months = [...((item.event_months as Set<string> | undefined) ?? [])].sort().reverse();
    for (const month of months) {
      const [index, pkName, skName, pk] =
        ref.kind === "account"
          ? ["byAccount", "apk", "ask", keys.accountEvents(ref.workspaceId, ref.id, month).apk]
          : ["byUser", "upk", "usk", keys.userEvents(ref.workspaceId, ref.id, month).upk];
      const page = await queryPage(this.db, {
        TableName: this.tables.eventsTable,
        IndexName: index,
        KeyConditionExpression: `${pkName} = :pk`,
        ExpressionAttributeValues: { ":pk": pk },
        ScanIndexForward: false,
        Limit: 1,
      });
      const order = page.items[0]?.[skName] as string | undefined;
      if (order) return order.slice(0, order.indexOf("#"));
    }
    return undefined;
  }
}
