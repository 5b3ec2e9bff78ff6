import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import type { ProfileKind } from "../../../core/src/normalize/profile-fields";
import type { MonthMarks } from "../../../core/src/pipeline/model-store";
import { keys } from "./keys";
import { queryPage } from "./table-ops";

/** How many profiles of a list page have their `last_seen_at` read at once. */
export const LAST_SEEN_CONCURRENCY = 8;

/** The months a stored profile item has events in, newest first. */
export function monthsOfItem(item: Record<string, unknown> | undefined): string[] {
  return [...((item?.event_months as Set<string> | undefined) ?? [])].sort().reverse();
}

/**
 * A user item's marks (`MonthMarks`): `from_user_months`, the months holding events whose account
 * came from the user's memberships, and `from_user_complete`, set by the write that recorded its
 * first month. Readers of `event_months` never look at them. Undefined on an item without either.
 */
export function marksOfItem(item: Record<string, unknown> | undefined): MonthMarks | undefined {
  const months = item?.from_user_months as Set<string> | undefined;
  const complete = item?.from_user_complete === true;
  return months === undefined && !complete ? undefined : { months: [...(months ?? [])].sort(), complete };
}

/**
 * A profile's `last_seen_at`, derived instead of stored: the time of its newest stored event, read
 * from the event index (byAccount for an account, byUser for a user: the user's own partitions,
 * never an anonymous id's) of its newest month that still has one, newest first and one item per
 * query. Deleted and re-attributed events leave the index, so they leave this answer with them,
 * and nothing has to be written when an event arrives.
 *
 * @example
 * await newestEventTime(db, "Events", { workspaceId: "w1", kind: "user", id: "u1" }, ["2024-06", "2024-05"]);
 */
export async function newestEventTime(
  db: DynamoDBDocumentClient,
  eventsTable: string,
  ref: { workspaceId: string; kind: ProfileKind; id: string },
  monthsNewestFirst: string[],
): Promise<string | undefined> {
  for (const month of monthsNewestFirst) {
    const [index, pkName, skName, pk] =
      ref.kind === "account"
        ? ["byAccount", "apk", "ask", keys.accountEvents(ref.workspaceId, ref.id, month).apk]
        : ["byUser", "upk", "usk", keys.userEvents(ref.workspaceId, ref.id, month).upk];
    const page = await queryPage(db, {
      TableName: eventsTable,
      IndexName: index,
      KeyConditionExpression: `${pkName} = :pk`,
      ExpressionAttributeValues: { ":pk": pk },
      ProjectionExpression: skName,
      ScanIndexForward: false,
      Limit: 1,
    });
    const order = page.items[0]?.[skName] as string | undefined;
    // The sort key is `<timestamp>#<messageId>`, and timestamps never hold `#`.
    if (order) return order.slice(0, order.indexOf("#"));
  }
  return undefined;
}

/**
 * Runs `work` over `items`, at most `limit` at a time, keeping their order in the answer.
 *
 * @example
 * const times = await mapLimited(ids, 8, (id) => lastSeenOf(id));
 */
export async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const run = pLimit(Math.max(1, limit));
  return Promise.all(items.map((item) => run(() => work(item))));
}

/**
 * Whether a stored profile item is what is left of a profile that only events made, after it lost
 * them all (`leftover`, set by `ProfileStore.recomputeLastSeen`) and nothing has named it since: no
 * fields and no event left (an account that a membership names is shown all the same: the reader
 * checks that). Readers do not show it, as if it had never been made. It is kept rather than deleted so that an event a concurrent normalizer stores for it
 * (in a month it already has, which writes no profile) finds its profile there: it is then shown
 * again, by its events.
 */
export function isLeftover(item: Record<string, unknown>, lastSeenAt: string | null): boolean {
  return item.leftover === true && item.f === undefined && lastSeenAt === null;
}
