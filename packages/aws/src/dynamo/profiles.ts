import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_BUCKET } from "../../../core/src/model/account-fields";
import type { VersionedFields } from "../../../core/src/normalize/merge";
import type { MonthMarks, ProfileRef, StoredProfile } from "../../../core/src/pipeline/model-store";
import { profileKey } from "../../../core/src/pipeline/model-store";
import { type Gathered, gatheredReads, gatheredStatements, updateStatement } from "./gathered";
import { type Key, keys } from "./keys";
import { marksOfItem, monthsOfItem, newestEventTime } from "./last-seen";
import { storageCall } from "./storage-error";
import { batchGet, getItem, ifCondition, insertStatement, queryPage, type Statement } from "./table-ops";

/** The tables the model lives in (config names them). */
export interface TableNames {
  entitiesTable: string;
  eventsTable: string;
}

/** The item key of an account or user profile. */
export const profileItemKey = (ref: ProfileRef): Key =>
  ref.kind === "account" ? keys.account(ref.workspaceId, ref.id) : keys.user(ref.workspaceId, ref.id);

/**
 * Account and user profiles: their versioned fields (optimistic lock on `version`), their bucket
 * index, and the months that have their events (`last_seen_at` is derived from those events).
 */
export class ProfileStore {
  /** Month writes of profiles that exist, gathered 25 a request (see `touchLastSeen`). */
  private readonly monthWrites: Gathered<Statement, boolean>;
  /** Profile writes and account listings, gathered 25 a request (see `saveProfile`). */
  private readonly profileWrites: Gathered<Statement, boolean>;
  private readonly listWrites: Gathered<Statement, boolean>;
  /** What `ensureAccountListed` reads of the accounts, gathered into one BatchGetItem. */
  private readonly accountReads: Gathered<Key, Record<string, unknown> | undefined>;
  /** Listings under way, by account, so a batch's memberships of one account share one. */
  private readonly listings = new Map<string, Promise<void>>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {
    this.monthWrites = gatheredStatements(db, "event months write");
    this.profileWrites = gatheredStatements(db, "profile write");
    this.listWrites = gatheredStatements(db, "account write");
    this.accountReads = gatheredReads(db, tables.entitiesTable, {
      projection: "#v, #kind, #id, workspace_id, gsi2pk, gsi2sk, #bucket",
      names: { "#v": "version", "#kind": "kind", "#id": "id", "#bucket": "bucket" },
    });
  }

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
        eventMonths: [...((item.event_months as Set<string> | undefined) ?? [])],
        marks: marksOfItem(item),
      });
    }
    return result;
  }

  /**
   * Writes a profile's fields if its version is still `expectedVersion` (0: never written), as one
   * PartiQL statement gathered with the batch's other profile writes (25 a request): an UPDATE on
   * the version for a known profile; for a first write an INSERT, and where an item without
   * fields is there already (a listed account, a profile only events made) an UPDATE of that
   * unversioned item (first, when the caller read the item as there: `exists`). Only when that
   * finds neither (the item vanished, or another writer gave it a version meanwhile) does the
   * UpdateItem with the whole condition settle it, so every outcome is the one that UpdateItem
   * alone would give.
   */
  async saveProfile(
    ref: ProfileRef,
    fields: VersionedFields,
    expectedVersion: number,
    bucket?: string,
    exists = false,
    recorded: { months: string[]; marks?: MonthMarks } = { months: [] },
  ): Promise<boolean> {
    const key = profileItemKey(ref);
    // New event months (and a user's marks) ride on the same write, as `touchLastSeen` records them.
    const { values: complete, adds } = recordedAttributes(recorded.months, recorded.marks);
    const values: Record<string, unknown> = {
      f: fields,
      version: expectedVersion + 1,
      kind: ref.kind,
      id: ref.id,
      workspace_id: ref.workspaceId,
      ...(bucket === undefined ? {} : { bucket, ...keys.bucketIndex(ref.workspaceId, bucket, ref.id) }),
      ...complete,
    };
    const table = this.tables.entitiesTable;
    if (expectedVersion > 0) {
      return this.profileWrites.ask(updateStatement(table, key, values, `"version" = ?`, [expectedVersion], adds));
    }
    const insert = () => this.profileWrites.ask(insertStatement(table, { ...key, ...values, ...adds }));
    const unversioned = () =>
      this.profileWrites.ask(updateStatement(table, key, values, `("version" IS MISSING OR "version" = ?)`, [0], adds));
    // An item read as there most likely still is; one read as missing most likely still is not.
    const [first, second] = exists ? [unversioned, insert] : [insert, unversioned];
    if ((await first()) || (await second())) return true;
    const names = Object.keys(values);
    const added = Object.keys(adds);
    return ifCondition("profile write", () =>
      this.db.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :a${i}`).join(", ")}${
            added.length > 0 ? ` ADD ${added.map((_, i) => `#s${i} :s${i}`).join(", ")}` : ""
          }`,
          ConditionExpression: "attribute_not_exists(#v) OR #v = :zero",
          ExpressionAttributeNames: {
            "#v": "version",
            ...Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
            ...Object.fromEntries(added.map((n, i) => [`#s${i}`, n])),
          },
          ExpressionAttributeValues: {
            ":zero": 0,
            ...Object.fromEntries(names.map((n, i) => [`:a${i}`, values[n]])),
            ...Object.fromEntries(added.map((n, i) => [`:s${i}`, adds[n]])),
          },
        }),
      ),
    );
  }

  /**
   * Makes an account named only by a membership (an identify's `context.groupId`, before any group
   * call) exist as a profile in the default bucket, so every list shows what `GET
   * /v1/accounts/{id}` answers: an account with no fields yet (`missing_required: ["name"]`). Leaves
   * whatever is stored alone (`if_not_exists`), so it never moves an account out of its bucket.
   * An account with fields is listed and stays so (only profiles without fields are ever removed):
   * no write for it, nor for one that has all a listing would set. The batch's accounts are read
   * in one gathered consistent BatchGetItem; a missing one is INSERTed (gathered); the UpdateItem
   * only fills in an incomplete item. Concurrent calls for one account share one listing.
   */
  ensureAccountListed(ref: ProfileRef): Promise<void> {
    const id = profileKey(ref);
    let listing = this.listings.get(id);
    if (!listing) {
      listing = this.listAccount(ref).finally(() => this.listings.delete(id));
      this.listings.set(id, listing);
    }
    return listing;
  }

  private async listAccount(ref: ProfileRef): Promise<void> {
    const key = profileItemKey(ref);
    const item = await this.accountReads.ask(key);
    if (item?.version !== undefined) return;
    const index = keys.bucketIndex(ref.workspaceId, DEFAULT_BUCKET, ref.id);
    const listed = { kind: ref.kind, id: ref.id, workspace_id: ref.workspaceId, ...index, bucket: DEFAULT_BUCKET };
    if (item && Object.keys(listed).every((name) => item[name] !== undefined)) return;
    if (!item && (await this.listWrites.ask(insertStatement(this.tables.entitiesTable, { ...key, ...listed })))) {
      return;
    }
    await storageCall("account write", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.entitiesTable,
          Key: key,
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

  /**
   * Records that a profile has events in `months` (only called for months it does not have yet:
   * rare once a profile is active), creating the profile if only events name it. An account known
   * only from events sits in the default bucket until its group call arrives. `last_seen_at` is
   * not stored: readers derive it from the event indexes (last-seen.ts). A user's `marks` go in
   * the same write (`from_user_months`, `from_user_complete`: see `marksOfItem`).
   */
  async touchLastSeen(ref: ProfileRef, months: string[], exists = false, marks?: MonthMarks): Promise<void> {
    // A profile read as existing takes the months by a PartiQL UPDATE, gathered with the batch's
    // other month writes into one request per 25. It applies only where the item has everything
    // the UpdateItem below would otherwise fill in (so both leave the same item); else, or when
    // the profile has gone since it was read, the UpdateItem does it, creating what is missing.
    if (exists && (await this.monthWrites.ask(this.monthStatement(ref, months, marks)))) return;
    const values: Record<string, unknown> = {
      ":months": new Set(months),
      ":kind": ref.kind,
      ":id": ref.id,
      ":ws": ref.workspaceId,
    };
    let set =
      "SET #kind = if_not_exists(#kind, :kind), #id = if_not_exists(#id, :id), workspace_id = if_not_exists(workspace_id, :ws)";
    let add = "ADD event_months :months";
    const names: Record<string, string> = { "#kind": "kind", "#id": "id" };
    if (ref.kind === "account") {
      const index = keys.bucketIndex(ref.workspaceId, DEFAULT_BUCKET, ref.id);
      Object.assign(values, { ":g2pk": index.gsi2pk, ":g2sk": index.gsi2sk, ":bucket": DEFAULT_BUCKET });
      names["#bucket"] = "bucket";
      set +=
        ", gsi2pk = if_not_exists(gsi2pk, :g2pk), gsi2sk = if_not_exists(gsi2sk, :g2sk), #bucket = if_not_exists(#bucket, :bucket)";
    }
    if (marks?.complete) {
      set += ", from_user_complete = :complete";
      values[":complete"] = true;
    }
    if (marks && marks.months.length > 0) {
      add += ", from_user_months :marks";
      values[":marks"] = new Set(marks.months);
    }
    await storageCall("event months write", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.entitiesTable,
          Key: profileItemKey(ref),
          UpdateExpression: `${set} ${add}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /** `event_months` gets `months` (and a user its marks), where the profile item exists complete (kind, id, workspace, bucket). */
  private monthStatement(ref: ProfileRef, months: string[], marks?: MonthMarks) {
    const complete = `"kind" IS NOT MISSING AND "id" IS NOT MISSING AND workspace_id IS NOT MISSING${
      ref.kind === "account" ? ` AND gsi2pk IS NOT MISSING AND gsi2sk IS NOT MISSING AND "bucket" IS NOT MISSING` : ""
    }`;
    const { values, adds } = recordedAttributes(months, marks);
    return updateStatement(this.tables.entitiesTable, profileItemKey(ref), values, complete, [], adds);
  }

  /**
   * Marks a profile that only events made (no fields; for an account, no members either) once no
   * event of it is left: in whatever order the calls came, it would not exist (an alias re-pointed
   * before the event), so readers stop showing it (`isLeftover` in last-seen.ts). It is marked, not
   * deleted: a concurrent normalizer may be storing an event of it in a month it already has, which
   * writes no profile, and that event must find its profile (readers show it again by its events).
   * `last_seen_at` needs nothing: it is derived from the events left. The mark holds only while the
   * profile still has no fields and no new month.
   */
  async recomputeLastSeen(ref: ProfileRef): Promise<void> {
    const key = profileItemKey(ref);
    const item = await getItem(this.db, this.tables.entitiesTable, key, {
      consistent: true,
      operation: "profile read",
    });
    if (!item || item.f !== undefined || item.leftover === true) return;
    if (ref.kind === "account" && (await this.hasMembers(ref))) return;
    const months = monthsOfItem(item);
    if ((await newestEventTime(this.db, this.tables.eventsTable, ref, months)) !== undefined) return;
    await ifCondition("profile mark", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.entitiesTable,
          Key: key,
          UpdateExpression: "SET leftover = :yes",
          ConditionExpression:
            months.length === 0
              ? "attribute_exists(pk) AND attribute_not_exists(f) AND attribute_not_exists(event_months)"
              : "attribute_exists(pk) AND attribute_not_exists(f) AND size(event_months) = :n",
          ExpressionAttributeValues: { ":yes": true, ...(months.length === 0 ? {} : { ":n": months.length }) },
        }),
      ),
    );
  }

  /** Whether a membership names this account, read consistently (it is then listed whatever its events). */
  private async hasMembers(ref: ProfileRef): Promise<boolean> {
    const prefix = keys.accountMembersPrefix(ref.workspaceId, ref.id);
    const page = await queryPage(this.db, {
      TableName: this.tables.entitiesTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
      ExpressionAttributeValues: { ":pk": prefix.pk, ":sk": prefix.skPrefix },
      ConsistentRead: true,
      Limit: 1,
    });
    return page.items.length > 0;
  }
}

/**
 * What a write records of a profile's event months and a user's marks: the sets to add to
 * (`event_months`, `from_user_months`; empty ones left out, DynamoDB refuses empty sets) and
 * `from_user_complete` when the write records the user's first month (see `marksOfItem`).
 */
function recordedAttributes(
  months: string[],
  marks?: MonthMarks,
): { values: Record<string, unknown>; adds: Record<string, Set<string>> } {
  const adds: Record<string, Set<string>> = {};
  if (months.length > 0) adds.event_months = new Set(months);
  if (marks && marks.months.length > 0) adds.from_user_months = new Set(marks.months);
  return { values: marks?.complete ? { from_user_complete: true } : {}, adds };
}
