import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { CallReceipt } from "../../../core/src/pipeline/model-store";
import { keys } from "./keys";
import type { TableNames } from "./profiles";
import { batchGet, getItem, ifCondition } from "./table-ops";

/**
 * How long a call's first receipt is kept: past Segment's retries (hours), SQS retention (14 days)
 * and a redrive from the DLQ (14 more). A delivery after that orders by its own receive time.
 */
const RECEIPT_RETENTION_SECONDS = 45 * 86400;

type Receipt = { receivedAt: string; time: string };

/** First receipts of calls whose ordering time depends on the delivery (spec 3.1). */
export class ReceiptStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async firstReceipts(workspaceId: string, receipts: CallReceipt[]): Promise<Map<string, Receipt>> {
    const result = new Map<string, Receipt>();
    const read = (items: Record<string, unknown>[]) => {
      for (const item of items) {
        result.set(item.content_hash as string, { receivedAt: item.received_at as string, time: item.time as string });
      }
    };
    read(
      await batchGet(
        this.db,
        this.tables.entitiesTable,
        receipts.map((r) => keys.receipt(workspaceId, r.hash)),
        { consistent: true, projection: "content_hash, received_at, #t", names: { "#t": "time" } },
      ),
    );
    for (const receipt of receipts) {
      if (result.has(receipt.hash) || !receipt.record) continue;
      if (await this.record(workspaceId, receipt)) {
        result.set(receipt.hash, { receivedAt: receipt.receivedAt, time: receipt.time });
        continue;
      }
      // Another normalizer recorded a delivery of the same call first: its receipt is the first.
      const item = await getItem(this.db, this.tables.entitiesTable, keys.receipt(workspaceId, receipt.hash), {
        consistent: true,
      });
      if (item) read([item]);
    }
    return result;
  }

  /** Records a delivery as the call's first receipt; false when one is recorded already. */
  private record(workspaceId: string, receipt: CallReceipt): Promise<boolean> {
    return ifCondition("receipt write", () =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.entitiesTable,
          Item: {
            ...keys.receipt(workspaceId, receipt.hash),
            workspace_id: workspaceId,
            content_hash: receipt.hash,
            message_id: receipt.messageId,
            received_at: receipt.receivedAt,
            time: receipt.time,
            expires_at: Math.floor(Date.parse(receipt.receivedAt) / 1000) + RECEIPT_RETENTION_SECONDS,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
  }
}
