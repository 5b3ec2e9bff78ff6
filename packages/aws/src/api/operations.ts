/**
 * The read and admin operations over DynamoDB and the raw queue: one function per route of the
 * API route table (`packages/core/src/api/routes.ts`). Every read takes the caller's workspace and
 * builds keys through `keys`, and every cursor is checked against that workspace and the partition
 * it claims, so a key of one workspace can never read another's.
 */
import { randomUUID } from "node:crypto";
import { entityMapReport, releasedMessages } from "../../../core/src/api/entity-map-upload";
import { EntityMapPath, parsePath } from "../../../core/src/api/query";
import type { ApiOperations } from "../../../core/src/api/routes";
import {
  type AccountMember,
  Bucket,
  type EntityMapUploadResult,
  type MemberAccount,
} from "../../../core/src/api/schemas";
import { userDeletionRequest } from "../../../core/src/api/user-deletion";
import { NotFoundError, ValidationError } from "../../../core/src/errors";
import { isJsonMediaType, mediaTypeOf } from "../../../core/src/http/media-type";
import { parseEntityMapUpload, planEntityMapUpload } from "../../../core/src/identity/entity-map";
import { maxRawMessageBodyBytes } from "../../../core/src/ingest/limits";
import type { RawQueueSender } from "../../../core/src/ingest/receive";
import { splitBatch } from "../../../core/src/ingest/split-batch";
import { materializeAccount, materializeUser } from "../../../core/src/normalize/materialize";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import type { DynamoIdentityStore } from "../dynamo/identity-store";
import { keys } from "../dynamo/keys";
import type { DynamoModelReader, EventRange } from "../dynamo/model-reader";
import { eventOf, pendingOf } from "./answers";
import { cursorOf, membershipPage, monthsInRange, singlePartition, walkPartitions } from "./pages";
import type { SourceOperation } from "./source-operations";

/** What the operations read, write and send through. */
export interface ApiStores {
  reader: DynamoModelReader;
  identity: DynamoIdentityStore;
  queue: RawQueueSender;
  now: () => Date;
  /** Ids of queued deletion calls; random unless a test fixes them. */
  newId?: () => string;
  /** Largest raw queue message body; the queue's limit minus attribute headroom by default. */
  maxMessageBytes?: number;
}

const CSV_TYPES = new Set(["text/csv", "application/csv"]);

/** `csv` or `json` from an upload's Content-Type (none: JSON). */
function uploadFormat(contentType: string | undefined): "csv" | "json" {
  const media = mediaTypeOf(contentType);
  if (CSV_TYPES.has(media)) return "csv";
  if (media === "" || isJsonMediaType(media)) return "json";
  throw new ValidationError(
    "request.content_type_unsupported",
    "Upload entity maps as application/json (an array) or text/csv",
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The authenticated operations of the read and admin API.
 *
 * @example
 * const operations = createApiOperations({ reader, identity, queue, now: () => new Date() });
 * await operations.getAccount({ workspaceId: "acme", params: { accountId: "a1" }, query: {}, … });
 */
export function createApiOperations(stores: ApiStores): Omit<ApiOperations, SourceOperation> {
  const { reader, identity, queue } = stores;
  const newId = stores.newId ?? randomUUID;
  const maxMessageBytes = stores.maxMessageBytes ?? maxRawMessageBodyBytes;

  const accountNotFound = (accountId: string) =>
    new NotFoundError("account.not_found", `No account ${accountId} in this workspace`);

  /** 404 for a user: `user.deleted` (with `deleted_at`) when a tombstone says so, else `user.not_found`. */
  async function userNotFound(workspaceId: string, userId: string): Promise<NotFoundError> {
    const deletion = await reader.getDeletion(workspaceId, userId);
    if (deletion) {
      return new NotFoundError("user.deleted", `User ${userId} was deleted`, {
        details: { answer: { deleted_at: deletion.deleted_at } },
      });
    }
    return new NotFoundError("user.not_found", `No user ${userId} in this workspace`);
  }

  /** Events of an account or user, newest first, month partition by month partition. */
  async function listEvents(
    workspaceId: string,
    kind: ProfileKind,
    id: string,
    query: { limit: number; cursor?: string; from?: string; to?: string },
  ) {
    if (kind === "user" && (await reader.deletedUsers(workspaceId, [id])).size > 0)
      throw await userNotFound(workspaceId, id);
    const months = await reader.eventMonths(workspaceId, kind, id);
    if (months === undefined && !(await reader.hasMemberships(workspaceId, kind, id))) {
      throw kind === "account" ? accountNotFound(id) : await userNotFound(workspaceId, id);
    }
    const range: EventRange = { from: query.from, to: query.to };
    const scope = `${kind}-events:${id}`;
    const partitions = monthsInRange(months ?? [], range).map((month) =>
      kind === "account"
        ? { position: month, attribute: "apk", value: keys.accountEvents(workspaceId, id, month).apk }
        : { position: month, attribute: "upk", value: keys.userEvents(workspaceId, id, month).upk },
    );
    const page = await walkPartitions(
      scope,
      partitions,
      cursorOf(query.cursor, workspaceId, scope),
      query.limit,
      (partition, limit, start) => reader.eventsPage(workspaceId, kind, id, partition.position, range, limit, start),
    );
    return { status: 200, body: { ...page, items: page.items.map(eventOf) }, facts: { items: page.items.length } };
  }

  return {
    async listAccounts({ workspaceId, query }) {
      const scope = query.bucket === undefined ? "accounts" : `accounts:${query.bucket}`;
      const buckets = query.bucket === undefined ? Bucket.options : [query.bucket];
      const partitions = buckets.map((bucket) => ({
        position: bucket,
        attribute: "gsi2pk",
        value: keys.bucketPartition(workspaceId, bucket).gsi2pk,
      }));
      const page = await walkPartitions(
        scope,
        partitions,
        cursorOf(query.cursor, workspaceId, scope),
        query.limit,
        (partition, limit, start) => reader.accountsInBucket(workspaceId, partition.position, limit, start),
      );
      return { status: 200, body: page, facts: { items: page.items.length } };
    },

    async getAccount({ workspaceId, params, query }) {
      const accountId = params.accountId as string;
      const account = await reader.getAccount(workspaceId, accountId, query);
      if (account) return { status: 200, body: account };
      // Known only from memberships (an identify's context.groupId): an account without fields yet.
      if (await reader.hasMemberships(workspaceId, "account", accountId)) {
        const empty = { ...materializeAccount(workspaceId, accountId, {}), last_seen_at: null };
        return { status: 200, body: query.provenance ? { ...empty, provenance: {} } : empty };
      }
      throw accountNotFound(accountId);
    },

    async listAccountUsers({ workspaceId, params, query }) {
      const accountId = params.accountId as string;
      const { page, resumed } = await membershipPage(
        workspaceId,
        `account-users:${accountId}`,
        query,
        singlePartition("pk", keys.accountMembersPrefix(workspaceId, accountId).pk),
        (limit, start) => reader.accountMembers(workspaceId, accountId, limit, start),
      );
      if (!resumed && page.items.length === 0 && !(await reader.getAccount(workspaceId, accountId))) {
        throw accountNotFound(accountId);
      }
      // Every member's user, profile or not, except a deleted one: a membership left for a moment by
      // a normalizer racing a deletion is not served.
      const users = await reader.getUsers(
        workspaceId,
        page.items.map((m) => m.id),
      );
      const items: AccountMember[] = page.items.flatMap((m) => {
        const user = users.get(m.id);
        return user ? [{ ...user, member_since: m.since }] : [];
      });
      return { status: 200, body: { items, next_cursor: page.next_cursor }, facts: { items: items.length } };
    },

    async listAccountEvents({ workspaceId, params, query }) {
      return listEvents(workspaceId, "account", params.accountId as string, query);
    },

    async getUser({ workspaceId, params, query }) {
      const userId = params.userId as string;
      const user = await reader.getUser(workspaceId, userId, query);
      if (user) return { status: 200, body: user };
      if ((await reader.deletedUsers(workspaceId, [userId])).size > 0) throw await userNotFound(workspaceId, userId);
      if (await reader.hasMemberships(workspaceId, "user", userId)) {
        const accountIds = (await reader.userAccountIds(workspaceId, userId)).sort();
        const empty = { ...materializeUser(workspaceId, userId, {}), account_ids: accountIds, last_seen_at: null };
        return { status: 200, body: query.provenance ? { ...empty, provenance: {} } : empty };
      }
      throw await userNotFound(workspaceId, userId);
    },

    async deleteUser({ workspaceId, params, requestId }) {
      const userId = params.userId as string;
      const { call, meta } = userDeletionRequest(workspaceId, userId, stores.now(), newId(), requestId);
      await queue.send(splitBatch([call], meta, maxMessageBytes), meta);
      return { status: 202, body: { status: "queued", user_id: userId } };
    },

    async listUserAccounts({ workspaceId, params, query }) {
      const userId = params.userId as string;
      if ((await reader.deletedUsers(workspaceId, [userId])).size > 0) throw await userNotFound(workspaceId, userId);
      const { page, resumed } = await membershipPage(
        workspaceId,
        `user-accounts:${userId}`,
        query,
        singlePartition("gsi1pk", keys.userMemberships(workspaceId, userId).gsi1pk),
        (limit, start) => reader.userMemberships(workspaceId, userId, limit, start),
      );
      if (!resumed && page.items.length === 0 && !(await reader.getUser(workspaceId, userId))) {
        throw await userNotFound(workspaceId, userId);
      }
      const accounts = await reader.getAccounts(
        workspaceId,
        page.items.map((m) => m.id),
      );
      const items: MemberAccount[] = page.items.map((m) => ({
        ...(accounts.get(m.id) ?? { ...materializeAccount(workspaceId, m.id, {}), last_seen_at: null }),
        member_since: m.since,
      }));
      return { status: 200, body: { items, next_cursor: page.next_cursor }, facts: { items: items.length } };
    },

    async listUserEvents({ workspaceId, params, query }) {
      return listEvents(workspaceId, "user", params.userId as string, query);
    },

    async listEntityMaps({ workspaceId, query }) {
      const scope = `entity-maps:${query.source ?? ""}:${query.kind ?? ""}`;
      const partitions = (await identity.mapPartitions(workspaceId))
        .filter(
          (p) =>
            (query.source === undefined || p.source === query.source) &&
            (query.kind === undefined || p.kind === query.kind),
        )
        .map((p) => ({
          position: `${p.source}/${p.kind}`,
          attribute: "pk",
          value: keys.entityMapPartition(workspaceId, p.source, p.kind).pk,
          source: p.source,
          kind: p.kind,
        }))
        .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      const page = await walkPartitions(
        scope,
        partitions,
        cursorOf(query.cursor, workspaceId, scope),
        query.limit,
        (partition, limit, start) => {
          const { source, kind } = partition as (typeof partitions)[number];
          return identity.listMaps(workspaceId, source, kind, limit, start);
        },
      );
      return { status: 200, body: page, facts: { items: page.items.length } };
    },

    async uploadEntityMaps({ workspaceId, query, contentType, body, requestId }) {
      const format = uploadFormat(contentType);
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        throw new ValidationError("entity_map.invalid", "the upload is not UTF-8 text");
      }
      const entries = parseEntityMapUpload(text, format === "csv" ? "text/csv" : "application/json");
      const plan = planEntityMapUpload(entries, await identity.storedMaps(workspaceId, entries), {
        replace: query.replace,
      });
      const report = entityMapReport(plan, query.dry_run);
      const facts = { rows: entries.length, created: report.created, changed: report.changed, dryRun: query.dry_run };
      if (query.dry_run) return { status: 200, body: report, facts };
      if (report.conflicts.length > 0) {
        throw new ValidationError(
          "entity_map.conflict",
          `${report.conflicts.length} conflicting row(s): nothing was written (fix them, or send replace=true to change stored entries)`,
          { details: { answer: report } },
        );
      }
      await identity.applyPlan(workspaceId, plan, stores.now().toISOString());

      // The calls these maps complete go back through the raw queue; they leave the pending list
      // only once SQS has accepted them, so a failure here loses nothing (the upload can be retried).
      const releasable = await identity.releasable(workspaceId);
      for (const { bodies, meta } of releasedMessages(releasable, requestId, maxMessageBytes)) {
        await queue.send(bodies, meta);
      }
      await identity.removePending(releasable.map((p) => p.key));
      const result: EntityMapUploadResult = { ...report, released: releasable.length };
      return { status: 200, body: result, facts: { ...facts, released: releasable.length } };
    },

    async deleteEntityMap({ workspaceId, params }) {
      const { source, kind, externalId } = parsePath(EntityMapPath, params);
      if (!(await identity.deleteMap(workspaceId, source, kind, externalId))) {
        throw new NotFoundError("entity_map.not_found", `No ${kind} map of ${source} id ${externalId}`);
      }
      return { status: 200, body: { deleted: true, source, kind, external_id: externalId } };
    },

    async listRejects({ workspaceId, query }) {
      const scope = `rejects:${query.code ?? ""}`;
      const page = await walkPartitions(
        scope,
        singlePartition("pk", keys.rejectPartition(workspaceId).pk),
        cursorOf(query.cursor, workspaceId, scope),
        query.limit,
        (_partition, limit, start) => reader.rejectsPage(workspaceId, query.code, limit, start),
      );
      return { status: 200, body: page, facts: { items: page.items.length } };
    },

    async listPending({ workspaceId, query }) {
      const scope = "pending";
      const cursor = cursorOf(query.cursor, workspaceId, scope);
      const page = await walkPartitions(
        scope,
        singlePartition("pk", keys.pendingPartition(workspaceId).pk),
        cursor,
        query.limit,
        (_partition, limit, start) => identity.listPending(workspaceId, limit, start),
      );
      return {
        status: 200,
        body: { items: page.items.map(pendingOf), next_cursor: page.next_cursor },
        facts: { items: page.items.length },
      };
    },
  };
}
