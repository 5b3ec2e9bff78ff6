import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { storageCall } from "./storage-error";

/**
 * Every item a query matches, following `LastEvaluatedKey` page by page. Only for partitions that
 * stay small (a user's memberships, a month of a user's events); listings the API serves page by
 * page with a cursor instead.
 *
 * @example
 * const memberships = await queryAll(db, { TableName, IndexName: "byUser", KeyConditionExpression: "gsi1pk = :pk", … });
 */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await storageCall("query", () => db.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
