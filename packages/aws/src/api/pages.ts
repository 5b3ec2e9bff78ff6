/**
 * Listings that walk DynamoDB partitions in order (bucket partitions, month partitions, map
 * partitions) behind one opaque cursor: what every list operation of the API pages with.
 */
import { ValidationError } from "../../../core/src/errors";
import type { Page } from "../dynamo/identity-store";
import { monthOf } from "../dynamo/keys";
import type { EventRange } from "../dynamo/model-reader";
import { type Cursor, type CursorKey, checkCursorPartition, cursorKeyOf, decodeCursor, encodeCursor } from "./cursor";

/** A page as the API answers it. */
export interface ListAnswer<T> {
  items: T[];
  next_cursor: string | null;
}

/** One partition of a walk: its position name (in cursors) and its partition key attribute and value. */
export interface Partition {
  position: string;
  attribute: string;
  value: string;
}

/**
 * Reads up to `limit` items across partitions in order (bucket partitions, month partitions, map
 * partitions), resuming from a cursor. The next cursor names the partition and DynamoDB's
 * LastEvaluatedKey in it, or the start of the next partition when one ended exactly at the limit.
 */
export async function walkPartitions<T>(
  scope: string,
  partitions: readonly Partition[],
  cursor: Cursor | undefined,
  limit: number,
  read: (partition: Partition, limit: number, start?: CursorKey) => Promise<Page<T>>,
): Promise<ListAnswer<T>> {
  let index = 0;
  let start: CursorKey | undefined;
  if (cursor) {
    index = partitions.findIndex((p) => p.position === cursor.position);
    if (index < 0)
      throw new ValidationError("cursor.invalid", "cursor is not valid here: it belongs to another listing");
    const partition = partitions[index] as Partition;
    checkCursorPartition(cursor.key, partition.attribute, partition.value);
    start = cursor.key;
  }
  const items: T[] = [];
  while (index < partitions.length) {
    const partition = partitions[index] as Partition;
    const page = await read(partition, limit - items.length, start);
    items.push(...page.items);
    if (page.next) {
      start = cursorKeyOf(page.next);
      if (items.length >= limit) {
        return { items, next_cursor: encodeCursor({ scope, position: partition.position, key: start }) };
      }
      continue;
    }
    index++;
    start = undefined;
    if (items.length >= limit) {
      const following = partitions[index];
      return { items, next_cursor: following ? encodeCursor({ scope, position: following.position }) : null };
    }
  }
  return { items, next_cursor: null };
}

/** One partition's listing: a walk over that partition alone. */
export function singlePartition(attribute: string, value: string): Partition[] {
  return [{ position: "", attribute, value }];
}

export function cursorOf(text: string | undefined, workspaceId: string, scope: string): Cursor | undefined {
  return text === undefined ? undefined : decodeCursor(text, workspaceId, scope);
}

/** The months of a range (`to` exclusive) among the months that have events, newest first. */
export function monthsInRange(months: readonly string[], range: EventRange): string[] {
  const first = range.from === undefined ? undefined : monthOf(range.from);
  const last = range.to === undefined ? undefined : monthOf(new Date(Date.parse(range.to) - 1).toISOString());
  return months.filter((m) => (first === undefined || m >= first) && (last === undefined || m <= last));
}

/**
 * A page of one membership listing (a single partition) from the caller's cursor, and whether it
 * resumed one: a first page that is empty may mean the profile does not exist.
 */
export async function membershipPage<T>(
  workspaceId: string,
  scope: string,
  query: { limit: number; cursor?: string },
  partition: Partition[],
  read: (limit: number, start?: CursorKey) => Promise<Page<T>>,
): Promise<{ page: ListAnswer<T>; resumed: boolean }> {
  const cursor = cursorOf(query.cursor, workspaceId, scope);
  const page = await walkPartitions(scope, partition, cursor, query.limit, (_partition, limit, start) =>
    read(limit, start),
  );
  return { page, resumed: cursor !== undefined };
}
