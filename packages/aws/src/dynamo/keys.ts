import { createHash } from "node:crypto";

/**
 * Every DynamoDB key of the product is built here and nowhere else (docs/data-model.md lists the
 * access patterns they serve). Workspace-owned keys all start with `WS#<workspaceId>#` (or equal
 * `WS#<workspaceId>`), so nothing can be read across workspaces by construction; the only keys that
 * do not are the credential look-ups by hash, which is all a request carries before it is
 * authenticated, and which point back to exactly one workspace.
 *
 * Workspace ids are validated (`isWorkspaceId`) and never contain `#`; customer ids (accounts, users,
 * message ids) may contain any character, always come last in a key or before a fixed suffix, and are
 * at most 512 bytes (the id rules, `packages/core/src/ids.ts`), which keeps every key under DynamoDB's
 * limits (1,024 bytes for a sort key, 2,048 for a partition key).
 */

/** Workspace ids: lowercase letters, digits and dashes, 1-64 long; never `#`, so prefixes cannot overlap. */
export const workspaceIdPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
export function isWorkspaceId(value: string): boolean {
  return workspaceIdPattern.test(value);
}

/** Source names, like workspace ids. */
export const sourceNamePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface Key {
  pk: string;
  sk: string;
}

/** The key prefix that every item of a workspace starts with. */
export const workspacePrefix = (ws: string) => `WS#${ws}`;

export const keys = {
  workspace: (ws: string): Key => ({ pk: workspacePrefix(ws), sk: "WORKSPACE" }),
  /** All workspaces, for `workspaces list` (a small, admin-only partition). */
  workspaceIndex: (ws: string): Key => ({ pk: "WORKSPACES", sk: ws }),
  workspaceIndexPartition: () => ({ pk: "WORKSPACES" }),
  source: (ws: string, source: string): Key => ({ pk: workspacePrefix(ws), sk: `SOURCE#${source}` }),
  sourcePrefix: (ws: string) => ({ pk: workspacePrefix(ws), skPrefix: "SOURCE#" }),
  /** Write key look-up by its SHA-256; the tracking API only has the key. */
  writeKey: (writeKeyHash: string): Key => ({ pk: `WRITEKEY#${writeKeyHash}`, sk: "WRITEKEY" }),
  /** API key look-up by its SHA-256; the read API only has the key. */
  apiKey: (apiKeyHash: string): Key => ({ pk: `APIKEY#${apiKeyHash}`, sk: "APIKEY" }),
  /** The workspace's own record of an API key (for listing and revoking by id). */
  apiKeyRecord: (ws: string, keyId: string): Key => ({ pk: workspacePrefix(ws), sk: `APIKEY#${keyId}` }),
  /** Every API key record of a workspace, for listing. */
  apiKeyRecords: (ws: string) => ({ pk: workspacePrefix(ws), skPrefix: "APIKEY#" }),
  /** A source's delivery counters of one UTC day (`2026-12-01`); source names never hold `#`. */
  deliveryDay: (ws: string, source: string, day: string): Key => ({
    pk: workspacePrefix(ws),
    sk: `DELIVERY#${source}#${day}`,
  }),
  deliveryDays: (ws: string, source: string) => ({ pk: workspacePrefix(ws), skPrefix: `DELIVERY#${source}#` }),

  account: (ws: string, accountId: string): Key => ({ pk: `${workspacePrefix(ws)}#A#${accountId}`, sk: "PROFILE" }),
  user: (ws: string, userId: string): Key => ({ pk: `${workspacePrefix(ws)}#U#${userId}`, sk: "PROFILE" }),
  /** Account-side membership item; its byUser index entry is the inverted edge. */
  membership: (ws: string, accountId: string, userId: string): Key => ({
    pk: `${workspacePrefix(ws)}#A#${accountId}`,
    sk: `MEMBER#${userId}`,
  }),
  accountMembersPrefix: (ws: string, accountId: string) => ({
    pk: `${workspacePrefix(ws)}#A#${accountId}`,
    skPrefix: "MEMBER#",
  }),
  /** byUser index: memberships of one user. */
  userMemberships: (ws: string, userId: string) => ({ gsi1pk: `${workspacePrefix(ws)}#U#${userId}` }),
  membershipIndex: (ws: string, accountId: string, userId: string) => ({
    gsi1pk: `${workspacePrefix(ws)}#U#${userId}`,
    gsi1sk: `ACCOUNT#${accountId}`,
  }),
  /** byBucket index: sparse, only account profiles carry it. */
  bucketIndex: (ws: string, bucket: string, accountId: string) => ({
    gsi2pk: `${workspacePrefix(ws)}#BUCKET#${bucket}`,
    gsi2sk: accountId,
  }),
  bucketPartition: (ws: string, bucket: string) => ({ gsi2pk: `${workspacePrefix(ws)}#BUCKET#${bucket}` }),

  /** Anonymous or previous id → user id. */
  alias: (ws: string, fromId: string): Key => ({ pk: `${workspacePrefix(ws)}#ALIAS#${fromId}`, sk: "ALIAS" }),
  /** The user's record of an alias pointing at it, so deleting the user finds its aliases. */
  userAlias: (ws: string, userId: string, fromId: string): Key => ({
    pk: `${workspacePrefix(ws)}#U#${userId}`,
    sk: `ALIAS#${fromId}`,
  }),
  /** The user's record of an entity map naming it as canonical, so deleting the user finds its maps. */
  userEntityMap: (ws: string, userId: string, source: string, externalId: string): Key => ({
    pk: `${workspacePrefix(ws)}#U#${userId}`,
    sk: `MAP#${source}#${externalId}`,
  }),
  /** Everything stored under a user's partition (profile, tombstone, alias and map records). */
  userPartition: (ws: string, userId: string) => ({ pk: `${workspacePrefix(ws)}#U#${userId}` }),
  /** A deleted user's tombstone: later calls for the user become rejects. */
  tombstone: (ws: string, userId: string): Key => ({ pk: `${workspacePrefix(ws)}#U#${userId}`, sk: "DELETED" }),
  /**
   * An anonymous or previous id of a deleted user: calls that carry only it are refused, and it is
   * never linked to a user again (spec 3.5a). Beside the alias item of the same id.
   */
  anonymousTombstone: (ws: string, fromId: string): Key => ({
    pk: `${workspacePrefix(ws)}#ALIAS#${fromId}`,
    sk: "DELETED",
  }),
  entityMap: (ws: string, source: string, kind: string, externalId: string): Key => ({
    pk: `${workspacePrefix(ws)}#MAP#${source}#${kind}`,
    sk: externalId,
  }),
  entityMapPartition: (ws: string, source: string, kind: string) => ({
    pk: `${workspacePrefix(ws)}#MAP#${source}#${kind}`,
  }),
  /** Index of the (source, kind) map partitions that exist, for listing all maps of a workspace. */
  entityMapIndex: (ws: string, source: string, kind: string): Key => ({
    pk: workspacePrefix(ws),
    sk: `MAPS#${source}#${kind}`,
  }),
  pending: (ws: string, time: string, messageId: string): Key => ({
    pk: `${workspacePrefix(ws)}#PENDING`,
    sk: `${time}#${messageId}`,
  }),
  pendingPartition: (ws: string) => ({ pk: `${workspacePrefix(ws)}#PENDING` }),
  /**
   * One reject per message, code and field. A field is a path in the customer's data (a trait name
   * can be 32 KB long): past `maxRejectFieldBytes` the key holds its SHA-256 instead, so every reject
   * has a key DynamoDB takes (the item keeps the whole field).
   */
  reject: (ws: string, messageId: string, code: string, field: string): Key => ({
    pk: `${workspacePrefix(ws)}#REJECTS`,
    sk: `${messageId}#${code}#${rejectKeyField(field)}`,
  }),
  rejectPartition: (ws: string) => ({ pk: `${workspacePrefix(ws)}#REJECTS` }),
  /** The first receipt of a call whose ordering time depends on its delivery, by content hash. */
  receipt: (ws: string, contentHash: string): Key => ({
    pk: `${workspacePrefix(ws)}#RECEIPT#${contentHash}`,
    sk: "RECEIPT",
  }),

  /** Events table: one item per workspace + messageId, so a redelivery lands on the same item. */
  event: (ws: string, messageId: string): Key => ({ pk: `${workspacePrefix(ws)}#E#${messageId}`, sk: "EVENT" }),
  /** byAccount index: one partition per account and month. */
  accountEvents: (ws: string, accountId: string, month: string) => ({
    apk: `${workspacePrefix(ws)}#A#${accountId}#${month}`,
  }),
  /** byUser index: one partition per user and month. */
  userEvents: (ws: string, userId: string, month: string) => ({ upk: `${workspacePrefix(ws)}#U#${userId}#${month}` }),
  /**
   * byUser index for events that have only an anonymous id and no alias yet: one partition per
   * anonymous id (a device before sign-in has little activity, so no month is needed).
   */
  anonymousEvents: (ws: string, anonymousId: string) => ({ upk: `${workspacePrefix(ws)}#N#${anonymousId}` }),
  /** Sort key inside an event index partition: time first so ranges and newest-first are one query. */
  eventOrder: (timestamp: string, messageId: string) => `${timestamp}#${messageId}`,
};

/** The most bytes of a reject's field kept as is in its key (with a 512-byte message id and a code, far under 1,024). */
const maxRejectFieldBytes = 256;

function rejectKeyField(field: string): string {
  if (Buffer.byteLength(field, "utf8") <= maxRejectFieldBytes) return field;
  return `~sha256:${createHash("sha256").update(field).digest("hex")}`;
}

/** The month bucket (`2024-05`) of an ISO timestamp, as used in the event index partitions. */
export function monthOf(isoTimestamp: string): string {
  return isoTimestamp.slice(0, 7);
}

/** True when every key attribute of an item (e.g. a pagination cursor) belongs to the workspace. */
export function keyBelongsTo(ws: string, key: Record<string, unknown>): boolean {
  const prefix = `${workspacePrefix(ws)}#`;
  const own = workspacePrefix(ws);
  for (const [name, value] of Object.entries(key)) {
    if (typeof value !== "string") return false;
    const isPartition = ["pk", "gsi1pk", "gsi2pk", "apk", "upk"].includes(name);
    if (isPartition && value !== own && !value.startsWith(prefix)) return false;
  }
  return true;
}
