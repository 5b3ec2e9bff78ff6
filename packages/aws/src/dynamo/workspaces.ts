import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { NotFoundError, ValidationError } from "../../../core/src/errors";
import type { CredentialLookup } from "../../../core/src/ingest/receive";
import { generateCredential, hashCredential } from "../../../core/src/workspace/credentials";
import {
  primarySourceName,
  type Source,
  type SourceRef,
  type Workspace,
  withoutSecret,
  withRetiredSecret,
  withRotatedSecret,
} from "../../../core/src/workspace/workspace";
import { CredentialCache } from "./credential-cache";
import { isWorkspaceId, keys } from "./keys";
import { SourceWriter } from "./source-writer";
import { storageCall } from "./storage-error";
import { conditionFailed, getItem, queryAll } from "./table-ops";
import {
  type CreatedSource,
  type CreatedWorkspace,
  checkGivenCredentials,
  type GivenCredentials,
  isSourceName,
  sourceCacheKey,
  sourceItemOf,
  sourceOf,
  type WorkspaceStoreOptions,
  workspaceOf,
  writeKeyCacheKey,
  writeKeyItemOf,
} from "./workspace-items";

export type { CreatedSource, CreatedWorkspace, GivenCredentials, WorkspaceStoreOptions } from "./workspace-items";

/**
 * Workspaces, their sources and the sources' credentials in the Entities table.
 *
 * Items (keys from keys.ts):
 * - workspace `WS#<id> / WORKSPACE` and its entry in the `WORKSPACES` index partition;
 * - source `WS#<id> / SOURCE#<name>`: the shared secrets, the SHA-256 of the write key and of the
 *   optional bearer token, and a `version` for optimistic updates;
 * - write key look-up `WRITEKEY#<sha256> / WRITEKEY` → workspace and source (the tracking API
 *   knows only the key).
 *
 * Shared secrets are stored as they are, because verifying Segment's HMAC needs the key itself;
 * at rest they are protected by DynamoDB's encryption (AWS-owned or KMS key) and by IAM on the
 * table. Write keys and bearer tokens are stored only as SHA-256.
 */

/**
 * The workspace and credential store: administration (create, rotate, retire, list) and the cached
 * look-ups ingest needs (`CredentialLookup`).
 *
 * @example
 * const store = new WorkspaceStore(createDocumentClient(config), config.entitiesTable,
 *   { cacheSeconds: config.credentialCacheSeconds });
 * const { sharedSecret, writeKey } = await store.createWorkspace({ id: "acme", name: "Acme" });
 */
export class WorkspaceStore implements CredentialLookup {
  private readonly now: () => Date;
  private readonly cache: CredentialCache<Source | SourceRef>;
  private readonly writer: SourceWriter;

  constructor(
    /** Public for the stores of other source kinds over the same items (stripe-sources.ts). */
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    options: WorkspaceStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.cache = new CredentialCache({
      cacheSeconds: options.cacheSeconds ?? 0,
      now: () => this.now().getTime(),
      unavailable: {
        code: "credentials.unavailable",
        message: "Credentials could not be looked up: retry the request",
      },
    });
    this.writer = new SourceWriter(db, tableName, this.now, (cacheKeys) => {
      for (const key of cacheKeys) this.cache.forget(key);
    });
  }

  /**
   * Creates a workspace with its primary source `product`, a shared secret and a write key.
   * Throws `workspace.id_invalid` for a bad id and `workspace.exists` when the id is taken.
   */
  async createWorkspace(input: {
    id: string;
    name?: string;
    credentials?: GivenCredentials;
  }): Promise<CreatedWorkspace> {
    if (!isWorkspaceId(input.id)) {
      throw new ValidationError(
        "workspace.id_invalid",
        "A workspace id is 1-64 lowercase letters, digits and dashes, starting with a letter or digit",
      );
    }
    const createdAt = this.now().toISOString();
    const workspace: Workspace = { id: input.id, name: input.name ?? input.id, createdAt };
    const { source, item, writeKeyItem, sharedSecret, writeKey } = this.newSource(
      input.id,
      primarySourceName,
      input.credentials,
    );
    try {
      await this.send(
        "workspace write",
        () =>
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...keys.workspace(workspace.id), type: "workspace", ...workspace },
                  ConditionExpression: "attribute_not_exists(pk)",
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...keys.workspaceIndex(workspace.id), type: "workspaceIndex", ...workspace },
                },
              },
              { Put: { TableName: this.tableName, Item: item } },
              {
                Put: { TableName: this.tableName, Item: writeKeyItem, ConditionExpression: "attribute_not_exists(pk)" },
              },
            ],
          }),
      );
    } catch (error) {
      if (conditionFailed(error, 0)) {
        throw new ValidationError("workspace.exists", `Workspace ${workspace.id} already exists`, { cause: error });
      }
      throw error;
    }
    this.forget(workspace.id, primarySourceName);
    return { workspace, source, sharedSecret, writeKey };
  }

  /** Adds another source (for example a second Segment source) to an existing workspace. */
  async addSource(workspaceId: string, sourceName: string): Promise<CreatedSource> {
    if (!isSourceName(sourceName)) {
      throw new ValidationError(
        "source.name_invalid",
        "A source name is 1-64 lowercase letters, digits, dashes and underscores",
      );
    }
    if (!(await this.getWorkspace(workspaceId))) throw this.workspaceNotFound(workspaceId);
    const { source, item, writeKeyItem, sharedSecret, writeKey } = this.newSource(workspaceId, sourceName);
    try {
      await this.send(
        "source write",
        () =>
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" } },
              {
                Put: { TableName: this.tableName, Item: writeKeyItem, ConditionExpression: "attribute_not_exists(pk)" },
              },
            ],
          }),
      );
    } catch (error) {
      if (conditionFailed(error, 0)) {
        throw new ValidationError("source.exists", `Source ${sourceName} already exists in ${workspaceId}`, {
          cause: error,
        });
      }
      throw error;
    }
    this.forget(workspaceId, sourceName);
    return { source, sharedSecret, writeKey };
  }

  async getWorkspace(workspaceId: string): Promise<Workspace | undefined> {
    if (!isWorkspaceId(workspaceId)) return undefined;
    const item = await getItem(this.db, this.tableName, keys.workspace(workspaceId), {
      consistent: true,
      operation: "workspace read",
    });
    return item ? workspaceOf(item) : undefined;
  }

  /** Every workspace, ordered by id. */
  async listWorkspaces(): Promise<Workspace[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.workspaceIndexPartition().pk },
    });
    return items.map(workspaceOf);
  }

  /** The sources of a workspace, ordered by name. */
  async listSources(workspaceId: string): Promise<Source[]> {
    if (!isWorkspaceId(workspaceId)) return [];
    const prefix = keys.sourcePrefix(workspaceId);
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
      ExpressionAttributeValues: { ":pk": prefix.pk, ":sk": prefix.skPrefix },
    });
    return items.map(sourceOf);
  }

  /** The source as stored now (no cache). */
  async getSource(workspaceId: string, sourceName: string): Promise<Source | undefined> {
    return (await this.writer.getSourceItem(workspaceId, sourceName))?.source;
  }

  /**
   * Adds a new shared secret next to the current one; both verify until the old one is retired.
   * Returns the new secret (shown once). A Stripe source's secret is Stripe's (`given`), never generated.
   */
  async rotateSecret(
    workspaceId: string,
    sourceName = primarySourceName,
    given?: string,
  ): Promise<{ secret: string; source: Source }> {
    const secret = given ?? generateCredential();
    const source = await this.updateSource(workspaceId, sourceName, (current) =>
      withRotatedSecret(given === undefined ? requireSegmentSource(current) : current, {
        value: secret,
        createdAt: this.now().toISOString(),
      }),
    );
    return { secret, source };
  }

  /** Removes the oldest of two active shared secrets. */
  async retireSecret(workspaceId: string, sourceName = primarySourceName): Promise<Source> {
    return this.updateSource(workspaceId, sourceName, withRetiredSecret);
  }

  /** Withdraws a secret never handed to the sender (a rotation undone); the other stays active. */
  async withdrawSecret(workspaceId: string, sourceName: string, value: string): Promise<Source> {
    return this.updateSource(workspaceId, sourceName, (current) => withoutSecret(current, value));
  }

  /** Makes the webhook require `Authorization: Bearer <token>` and returns the new token (shown once). */
  async issueBearerToken(
    workspaceId: string,
    sourceName = primarySourceName,
  ): Promise<{ token: string; source: Source }> {
    const token = generateCredential();
    const source = await this.updateSource(workspaceId, sourceName, (current) => ({
      ...requireSegmentSource(current),
      bearerTokenHash: hashCredential(token),
    }));
    return { token, source };
  }

  /** Stops requiring a bearer token on the webhook. */
  async clearBearerToken(workspaceId: string, sourceName = primarySourceName): Promise<Source> {
    return this.updateSource(workspaceId, sourceName, (current) => {
      const { bearerTokenHash: _cleared, ...rest } = requireSegmentSource(current);
      return rest;
    });
  }

  /**
   * Replaces a source's credentials with given ones: the shared secret becomes the only active
   * secret, and the write key's look-up item moves to the new key (the old key stops working).
   * What is not given stays as it is. Meant for fixed development credentials; customers rotate.
   *
   * @example
   * await store.replaceCredentials("dev", "product", { sharedSecret: process.env.DEV_SHARED_SECRET });
   */
  async replaceCredentials(workspaceId: string, sourceName: string, given: GivenCredentials): Promise<Source> {
    return this.writer.replaceCredentials(workspaceId, sourceName, given);
  }

  /** `CredentialLookup`: the source, cached for `cacheSeconds`. */
  async findSource(workspaceId: string, sourceName: string): Promise<Source | undefined> {
    if (!isWorkspaceId(workspaceId) || !isSourceName(sourceName)) return undefined;
    return this.cache.get(sourceCacheKey(workspaceId, sourceName), () =>
      this.getSource(workspaceId, sourceName),
    ) as Promise<Source | undefined>;
  }

  /** `CredentialLookup`: the workspace and source of a write key, by its SHA-256, cached. */
  async findSourceByWriteKeyHash(writeKeyHash: string): Promise<SourceRef | undefined> {
    if (!/^[0-9a-f]{64}$/.test(writeKeyHash)) return undefined;
    return this.cache.get(writeKeyCacheKey(writeKeyHash), async () => {
      const item = await getItem(this.db, this.tableName, keys.writeKey(writeKeyHash), { operation: "write key read" });
      if (!item) return undefined;
      return { workspaceId: String(item.workspaceId), source: String(item.source) };
    }) as Promise<SourceRef | undefined>;
  }

  private newSource(workspaceId: string, name: string, given: GivenCredentials = {}) {
    checkGivenCredentials(given);
    const createdAt = this.now().toISOString();
    const sharedSecret = given.sharedSecret ?? generateCredential();
    const writeKey = given.writeKey ?? generateCredential();
    const source: Source = {
      workspaceId,
      name,
      secrets: [{ value: sharedSecret, createdAt }],
      writeKeyHash: hashCredential(writeKey),
      createdAt,
    };
    const item = sourceItemOf(source, 1);
    const writeKeyItem = writeKeyItemOf(workspaceId, name, source.writeKeyHash, createdAt);
    return { source, item, writeKeyItem, sharedSecret, writeKey };
  }

  private updateSource(workspaceId: string, sourceName: string, change: (s: Source) => Source): Promise<Source> {
    return this.writer.update(workspaceId, sourceName, change);
  }

  /** One request, its failure classified (`storageCall`). */
  private send(operation: string, command: () => TransactWriteCommand): Promise<unknown> {
    return storageCall(operation, () => this.db.send(command()));
  }

  private workspaceNotFound(workspaceId: string) {
    return new NotFoundError("workspace.not_found", `No workspace ${workspaceId}`);
  }

  private forget(workspaceId: string, sourceName: string) {
    this.cache.forget(sourceCacheKey(workspaceId, sourceName));
  }
}

/**
 * The source, when it is a Segment one: a generated shared secret or a bearer token means nothing
 * to a Stripe source (Stripe signs with its own whsec_ secret, `stripe rotate-secret`), and a
 * generated secret would push out the one Stripe signs with.
 */
export function requireSegmentSource(source: Source): Source {
  if (source.kind === "stripe") {
    throw new ValidationError(
      "source.kind_mismatch",
      `Source ${source.name} is a Stripe source: its signing secret is Stripe's (stripe rotate-secret), and it takes no Segment secret or bearer token`,
    );
  }
  return source;
}
