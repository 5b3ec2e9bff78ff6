import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type MembershipEdge, membershipKey } from "../../../core/src/pipeline/model-store";
import { type Gathered, gatheredStatements, updateStatement } from "./gathered";
import { keys } from "./keys";
import type { ProfileStore, TableNames } from "./profiles";
import { batchGet, ifCondition, insertStatement, queryAll, type Statement } from "./table-ops";

/**
 * Memberships: the account-side item `WS#/ACCOUNT#… / MEMBER#<user>` with the earliest `since`,
 * and its inverted `byUser` index entry for "accounts of a user".
 */
export class MembershipStore {
  /** Membership writes, gathered 25 a request (see `saveMembership`). */
  private readonly writes: Gathered<Statement, boolean>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly profiles: ProfileStore,
  ) {
    this.writes = gatheredStatements(db, "membership write");
  }

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

  /**
   * Records a membership with the earliest `since`, as PartiQL statements gathered with the
   * batch's other membership writes (25 a request): an INSERT, and where the membership is stored
   * already an UPDATE only if this `since` is earlier. Only when that UPDATE does not apply (the
   * stored `since` is not later, or the item vanished meanwhile) does the UpdateItem with the
   * whole condition settle it, so the outcome is the one that UpdateItem alone would give.
   */
  async saveMembership(edge: MembershipEdge): Promise<boolean> {
    // First, so a retry after a failed membership write (which then finds the membership stored and
    // does not write it again) has already listed the account.
    await this.profiles.ensureAccountListed({ workspaceId: edge.workspaceId, kind: "account", id: edge.accountId });
    const key = keys.membership(edge.workspaceId, edge.accountId, edge.userId);
    const values = {
      since: edge.since,
      ...keys.membershipIndex(edge.workspaceId, edge.accountId, edge.userId),
      account_id: edge.accountId,
      user_id: edge.userId,
      workspace_id: edge.workspaceId,
    };
    const table = this.tables.entitiesTable;
    if (await this.writes.ask(insertStatement(table, { ...key, ...values }))) return true;
    if (await this.writes.ask(updateStatement(table, key, values, "since > ?", [edge.since]))) return true;
    return ifCondition("membership write", () =>
      this.db.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression:
            "SET since = :s, gsi1pk = :g1pk, gsi1sk = :g1sk, account_id = :a, user_id = :u, workspace_id = :ws",
          ConditionExpression: "attribute_not_exists(since) OR since > :s",
          ExpressionAttributeValues: {
            ":s": edge.since,
            ":g1pk": values.gsi1pk,
            ":g1sk": values.gsi1sk,
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
