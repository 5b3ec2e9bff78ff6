import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type MembershipEdge, membershipKey } from "../../../core/src/pipeline/model-store";
import { keys } from "./keys";
import type { ProfileStore, TableNames } from "./profiles";
import { batchGet, ifCondition, queryAll } from "./table-ops";

/**
 * Memberships: the account-side item `WS#/ACCOUNT#… / MEMBER#<user>` with the earliest `since`,
 * and its inverted `byUser` index entry for "accounts of a user".
 */
export class MembershipStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly profiles: ProfileStore,
  ) {}

  async loadMemberships(edges: MembershipEdge[]): Promise<Map<string, string>> {
    const items = await batchGet(
      this.db,
      this.tables.entitiesTable,
      edges.map((e) => keys.membership(e.workspaceId, e.accountId, e.userId)),
      { consistent: true, projection: "workspace_id, account_id, user_id, since" },
    );
    return new Map(
      items.map((i) => [
        membershipKey({
          workspaceId: i.workspace_id as string,
          accountId: i.account_id as string,
          userId: i.user_id as string,
        }),
        i.since as string,
      ]),
    );
  }

  async saveMembership(edge: MembershipEdge): Promise<boolean> {
    const index = keys.membershipIndex(edge.workspaceId, edge.accountId, edge.userId);
    // First, so a retry after a failed membership write (which then finds the membership stored and
    // does not write it again) has already listed the account. An account with fields is listed and
    // stays so (only profiles without fields are ever removed): no write for it.
    const account = { workspaceId: edge.workspaceId, kind: "account" as const, id: edge.accountId };
    if (!(await this.profiles.hasFields(account))) await this.profiles.ensureAccountListed(account);
    return ifCondition("membership write", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.entitiesTable,
          Key: keys.membership(edge.workspaceId, edge.accountId, edge.userId),
          UpdateExpression:
            "SET since = :s, gsi1pk = :g1pk, gsi1sk = :g1sk, account_id = :a, user_id = :u, workspace_id = :ws",
          ConditionExpression: "attribute_not_exists(since) OR since > :s",
          ExpressionAttributeValues: {
            ":s": edge.since,
            ":g1pk": index.gsi1pk,
            ":g1sk": index.gsi1sk,
            ":a": edge.accountId,
            ":u": edge.userId,
            ":ws": edge.workspaceId,
          },
        }),
      ),
    );
  }

  /** Every membership item of a user (byUser index), with its key. */
  async userMembershipItems(workspaceId: string, userId: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.db, {
      TableName: this.tables.entitiesTable,
      IndexName: "byUser",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userMemberships(workspaceId, userId).gsi1pk },
    });
  }

  async userMemberships(workspaceId: string, userId: string): Promise<{ accountId: string; since: string }[]> {
    const items = await this.userMembershipItems(workspaceId, userId);
    return items.map((item) => ({ accountId: item.account_id as string, since: item.since as string }));
  }
}
