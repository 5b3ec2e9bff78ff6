/**
 * Pagination cursors of the read API: opaque to clients, base64url JSON inside. A cursor holds the
 * listing it belongs to (`scope`), where a multi-partition walk stands (`position`: a bucket, a
 * month, a map partition) and DynamoDB's LastEvaluatedKey. A decoded cursor is trusted only after
 * its key is checked to lie in the caller's workspace (`keyBelongsTo`) and in the partition the
 * listing reads, so no cursor can be crafted into another workspace's keys.
 */
import { z } from "zod";
import { ValidationError } from "../../../core/src/errors";
import { keyBelongsTo } from "../dynamo/keys";

/** A DynamoDB key as a cursor carries it: every key attribute of this product is a string. */
export type CursorKey = Record<string, string>;

export interface Cursor {
  /** The listing, e.g. `account-events:<accountId>`. */
  scope: string;
  /** Where a walk over several partitions stands (bucket, month, map partition). */
  position?: string;
  /** Where to start inside that partition; absent: at its start. */
  key?: CursorKey;
}

const CursorJson = z.strictObject({
  s: z.string(),
  p: z.string().optional(),
  k: z.record(z.string(), z.string()).optional(),
});

const invalid = (reason: string) => new ValidationError("cursor.invalid", `cursor is not valid here: ${reason}`);

/**
 * The opaque text of a cursor.
 *
 * @example
 * encodeCursor({ scope: "rejects", key: { pk: "WS#acme#REJECTS", sk: "m1#trait.nested_object#traits.a" } });
 */
export function encodeCursor(cursor: Cursor): string {
  const json: z.infer<typeof CursorJson> = { s: cursor.scope };
  if (cursor.position !== undefined) json.p = cursor.position;
  if (cursor.key !== undefined) json.k = cursor.key;
  return Buffer.from(JSON.stringify(json), "utf8").toString("base64url");
}

/**
 * Reads a cursor of a listing of a workspace. Refused (400 `cursor.invalid`): text that is not a
 * cursor, a cursor of another listing, and a key with any partition outside the workspace.
 *
 * @example
 * const cursor = decodeCursor(query.cursor, workspaceId, "rejects");
 */
export function decodeCursor(text: string, workspaceId: string, scope: string): Cursor {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw invalid("not a cursor");
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalid("not a cursor");
  }
  const parsed = CursorJson.safeParse(json);
  if (!parsed.success) throw invalid("not a cursor");
  const { s, p, k } = parsed.data;
  if (s !== scope) throw invalid("it belongs to another listing");
  if (k !== undefined && !keyBelongsTo(workspaceId, k)) throw invalid("it belongs to another workspace");
  return { scope: s, ...(p === undefined ? {} : { position: p }), ...(k === undefined ? {} : { key: k }) };
}

/**
 * Checks that a cursor's key lies in the partition a listing reads (`attribute` is the partition
 * key attribute of the table or index, e.g. `apk`). DynamoDB refuses a start key from another
 * partition; refusing it here makes that a 400, and closes any path to a partition of another
 * listing of the same workspace.
 *
 * @example
 * checkCursorPartition(cursor.key, "gsi2pk", keys.bucketPartition(ws, "trial").gsi2pk);
 */
export function checkCursorPartition(key: CursorKey | undefined, attribute: string, expected: string): void {
  if (key !== undefined && key[attribute] !== expected) throw invalid("it belongs to another listing");
}

/** A DynamoDB LastEvaluatedKey as a cursor key (undefined when there is none). */
export function cursorKeyOf(lastEvaluatedKey: Record<string, unknown> | undefined): CursorKey | undefined {
  if (lastEvaluatedKey === undefined) return undefined;
  const key: CursorKey = {};
  for (const [name, value] of Object.entries(lastEvaluatedKey)) {
    if (typeof value !== "string") throw new Error(`key attribute ${name} is not a string`);
    key[name] = value;
  }
  return key;
}
