import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { IngestError, NotFoundError, ValidationError } from "../../../core/src/errors";
import { retry } from "../../../core/src/retry";
import { hashCredential } from "../../../core/src/workspace/credentials";
import type { Source } from "../../../core/src/workspace/workspace";
import { isWorkspaceId, keys } from "./keys";
import { storageCall } from "./storage-error";
import { conditionFailed, getItem } from "./table-ops";
import {
  checkGivenCredentials,
  type GivenCredentials,
  isSourceName,
  sourceCacheKey,
  sourceItemOf,
  sourceOf,
  writeKeyCacheKey,
  writeKeyItemOf,
} from "./workspace-items";

/** Another writer changed the source between our read and our conditional write. */
class SourceChanged extends Error {}

/** Optimistic updates of a source: read, change, write if unchanged; a few tries, briefly apart. */
const sourceUpdateRetry = {
  attempts: 3,
  baseDelayMs: 10,
  maxDelayMs: 50,
  retryable: (error: unknown) => error instanceof SourceChanged,
};

/**
 * Changes to a stored source (secrets, bearer token, write key), each an optimistic write on the
 * source's `version`; `forget` is told the credential cache keys a change makes stale.
 */
export class SourceWriter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date,
    private readonly forget: (cacheKeys: string[]) => void,
  ) {}

  async replaceCredentials(workspaceId: string, sourceName: string, given: GivenCredentials): Promise<Source> {
    checkGivenCredentials(given);
    return this.optimistically(sourceName, async () => {
      const current = await this.getSourceItem(workspaceId, sourceName);
      if (!current) {
        throw new NotFoundError("source.not_found", `No source ${sourceName} in workspace ${workspaceId}`);
      }
      const now = this.now().toISOString();
      const next: Source = { ...current.source };
      if (given.sharedSecret !== undefined) next.secrets = [{ value: given.sharedSecret, createdAt: now }];
      if (given.writeKey !== undefined) next.writeKeyHash = hashCredential(given.writeKey);
      const keyMoved = next.writeKeyHash !== current.source.writeKeyHash;
      const item = sourceItemOf(next, current.version + 1);
      try {
        await storageCall("source write", () =>
          this.db.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: this.tableName,
                    Item: item,
                    ConditionExpression: "version = :version",
                    ExpressionAttributeValues: { ":version": current.version },
                  },
                },
                ...(keyMoved
                  ? [
                      {
                        Put: {
                          TableName: this.tableName,
                          Item: writeKeyItemOf(workspaceId, sourceName, next.writeKeyHash, now),
                          ConditionExpression: "attribute_not_exists(pk)",
                        },
                      },
                      { Delete: { TableName: this.tableName, Key: keys.writeKey(current.source.writeKeyHash) } },
                    ]
                  : []),
              ],
            }),
          ),
        );
      } catch (error) {
        if (conditionFailed(error, 1)) {
          throw new ValidationError("credential.write_key_taken", "That write key belongs to another source", {
            cause: error,
          });
        }
        if (conditionFailed(error, 0)) throw new SourceChanged();
        throw error;
      }
      this.forget([
        sourceCacheKey(workspaceId, sourceName),
        writeKeyCacheKey(current.source.writeKeyHash),
        writeKeyCacheKey(next.writeKeyHash),
      ]);
      return next;
    });
  }

  async getSourceItem(
    workspaceId: string,
    sourceName: string,
  ): Promise<{ source: Source; version: number } | undefined> {
    if (!isWorkspaceId(workspaceId) || !isSourceName(sourceName)) return undefined;
    const item = await getItem(this.db, this.tableName, keys.source(workspaceId, sourceName), {
      consistent: true,
      operation: "source read",
    });
    if (!item) return undefined;
    return { source: sourceOf(item), version: Number(item.version ?? 0) };
  }

  /** Read, change, write back if nobody wrote in between (else try again, a few times). */
  async update(workspaceId: string, sourceName: string, change: (s: Source) => Source): Promise<Source> {
    return this.optimistically(sourceName, async () => {
      const current = await this.getSourceItem(workspaceId, sourceName);
      if (!current) {
        throw new NotFoundError("source.not_found", `No source ${sourceName} in workspace ${workspaceId}`);
      }
      const next = change(current.source);
      const item = sourceItemOf(next, current.version + 1);
      try {
        await storageCall("source write", () =>
          this.db.send(
            new PutCommand({
              TableName: this.tableName,
              Item: item,
              ConditionExpression: "version = :version",
              ExpressionAttributeValues: { ":version": current.version },
            }),
          ),
        );
      } catch (error) {
        throw conditionFailed(error) ? new SourceChanged() : error;
      }
      this.forget([sourceCacheKey(workspaceId, sourceName)]);
      return next;
    });
  }

  /** Runs an optimistic update under `sourceUpdateRetry`; still losing after that is a conflict. */
  private async optimistically(sourceName: string, update: () => Promise<Source>): Promise<Source> {
    try {
      return await retry(update, sourceUpdateRetry);
    } catch (error) {
      if (!(error instanceof SourceChanged)) throw error;
      throw new IngestError("source.update_conflict", `Source ${sourceName} changed while updating; try again`, {
        retryable: true,
      });
    }
  }
}
