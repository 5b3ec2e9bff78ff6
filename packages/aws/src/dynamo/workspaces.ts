import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { DependencyError, IngestError, NotFoundError, ValidationError } from "../../../core/src/errors";
import type { CredentialLookup } from "../../../core/src/ingest/receive";
import { generateCredential, hashCredential } from "../../../core/src/workspace/credentials";
import {
  primarySourceName,
  type SharedSecret,
  type Source,
  type SourceRef,
  type Workspace,
  withRetiredSecret,
  withRotatedSecret,
} from "../../../core/src/workspace/workspace";
import { isWorkspaceId, keys, sourceNamePattern } from "./keys";

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

/** A newly created workspace with its primary source and the credentials, shown once. */
export interface CreatedWorkspace {
  workspace: Workspace;
  source: Source;
  sharedSecret: string;
  writeKey: string;
}

/**
 * Credentials to use instead of generated ones (the local stack's `dev` workspace takes them from
 * `DEV_SHARED_SECRET` / `DEV_WRITE_KEY`). A write key must fit HTTP Basic auth, so it has no `:`.
 */
export interface GivenCredentials {
  sharedSecret?: string;
  writeKey?: string;
}

/** A newly created source with its credentials, shown once. */
export interface CreatedSource {
  source: Source;
  sharedSecret: string;
  writeKey: string;
}

export interface WorkspaceStoreOptions {
  /** How long `findSource`/`findSourceByWriteKeyHash` reuse a result; 0 disables the cache. */
  cacheSeconds?: number;
  /** Clock, for tests of the cache and of timestamps. */
  now?: () => Date;
}

interface SourceItem {
  pk: string;
  sk: string;
  type: "source";
  workspaceId: string;
  name: string;
  secrets: SharedSecret[];
  writeKeyHash: string;
  bearerTokenHash?: string;
  kind?: Source["kind"];
  stripe?: Source["stripe"];
  createdAt: string;
  version: number;
}

interface CacheEntry<T> {
  value: T | undefined;
  expiresAt: number;
}

/** A source looked up once stays in a Lambda for `cacheSeconds`; a miss for at most this long. */
const missCacheSeconds = 5;
const maxCacheEntries = 1000;

function sourceOf(item: Record<string, unknown>): Source {
  const i = item as unknown as SourceItem;
  return {
    workspaceId: i.workspaceId,
    name: i.name,
    secrets: i.secrets,
    writeKeyHash: i.writeKeyHash,
    ...(i.bearerTokenHash ? { bearerTokenHash: i.bearerTokenHash } : {}),
    ...(i.kind ? { kind: i.kind } : {}),
    ...(i.stripe ? { stripe: i.stripe } : {}),
    createdAt: i.createdAt,
  };
}

function workspaceOf(item: Record<string, unknown>): Workspace {
  return { id: String(item.id), name: String(item.name), createdAt: String(item.createdAt) };
}

function isSourceName(name: string): boolean {
  return sourceNamePattern.test(name);
}

/** The look-up item that leads the tracking API from a write key's hash to its source. */
function writeKeyItemOf(workspaceId: string, source: string, writeKeyHash: string, createdAt: string) {
  return { ...keys.writeKey(writeKeyHash), type: "writeKey", workspaceId, source, createdAt };
}

function checkGivenCredentials(given: GivenCredentials): void {
  if (given.sharedSecret !== undefined && given.sharedSecret.length === 0) {
    throw new ValidationError("credential.invalid", "A shared secret cannot be empty");
  }
  if (given.writeKey !== undefined && (given.writeKey.length === 0 || given.writeKey.includes(":"))) {
    throw new ValidationError(
      "credential.invalid",
      "A write key is not empty and has no `:` (it is sent as HTTP Basic user)",
    );
  }
}

function conditionFailed(error: unknown, index?: number): boolean {
  if (!(error instanceof TransactionCanceledException)) return false;
  const reasons = error.CancellationReasons ?? [];
  return index === undefined
    ? reasons.some((r) => r.Code === "ConditionalCheckFailed")
    : reasons[index]?.Code === "ConditionalCheckFailed";
}

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
  private readonly cacheMs: number;
  private readonly now: () => Date;
  private readonly cache = new Map<string, CacheEntry<Source | SourceRef>>();

  constructor(
    /** Public for the stores of other source kinds over the same items (stripe-sources.ts). */
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    options: WorkspaceStoreOptions = {},
  ) {
    this.cacheMs = (options.cacheSeconds ?? 0) * 1000;
    this.now = options.now ?? (() => new Date());
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
      await this.db.send(
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
            { Put: { TableName: this.tableName, Item: writeKeyItem, ConditionExpression: "attribute_not_exists(pk)" } },
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
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" } },
            { Put: { TableName: this.tableName, Item: writeKeyItem, ConditionExpression: "attribute_not_exists(pk)" } },
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
    const got = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.workspace(workspaceId), ConsistentRead: true }),
    );
    return got.Item ? workspaceOf(got.Item) : undefined;
  }

  /** Every workspace, ordered by id. */
  async listWorkspaces(): Promise<Workspace[]> {
    const workspaces: Workspace[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.workspaceIndexPartition().pk },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) workspaces.push(workspaceOf(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return workspaces;
  }

  /** The sources of a workspace, ordered by name. */
  async listSources(workspaceId: string): Promise<Source[]> {
    if (!isWorkspaceId(workspaceId)) return [];
    const prefix = keys.sourcePrefix(workspaceId);
    const sources: Source[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
          ExpressionAttributeValues: { ":pk": prefix.pk, ":sk": prefix.skPrefix },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) sources.push(sourceOf(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return sources;
  }

  /** The source as stored now (no cache). */
  async getSource(workspaceId: string, sourceName: string): Promise<Source | undefined> {
    return (await this.getSourceItem(workspaceId, sourceName))?.source;
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
      withRotatedSecret(current, { value: secret, createdAt: this.now().toISOString() }),
    );
    return { secret, source };
  }

  /** Removes the oldest of two active shared secrets. */
  async retireSecret(workspaceId: string, sourceName = primarySourceName): Promise<Source> {
    return this.updateSource(workspaceId, sourceName, withRetiredSecret);
  }

  /** Makes the webhook require `Authorization: Bearer <token>` and returns the new token (shown once). */
  async issueBearerToken(
    workspaceId: string,
    sourceName = primarySourceName,
  ): Promise<{ token: string; source: Source }> {
    const token = generateCredential();
    const source = await this.updateSource(workspaceId, sourceName, (current) => ({
      ...current,
      bearerTokenHash: hashCredential(token),
    }));
    return { token, source };
  }

  /** Stops requiring a bearer token on the webhook. */
  async clearBearerToken(workspaceId: string, sourceName = primarySourceName): Promise<Source> {
    return this.updateSource(workspaceId, sourceName, ({ bearerTokenHash: _cleared, ...rest }) => rest);
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
    checkGivenCredentials(given);
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.getSourceItem(workspaceId, sourceName);
      if (!current) {
        throw new NotFoundError("source.not_found", `No source ${sourceName} in workspace ${workspaceId}`);
      }
      const now = this.now().toISOString();
      const next: Source = { ...current.source };
      if (given.sharedSecret !== undefined) next.secrets = [{ value: given.sharedSecret, createdAt: now }];
      if (given.writeKey !== undefined) next.writeKeyHash = hashCredential(given.writeKey);
      const keyMoved = next.writeKeyHash !== current.source.writeKeyHash;
      const item: SourceItem = {
        ...keys.source(workspaceId, sourceName),
        type: "source",
        ...next,
        version: current.version + 1,
      };
      try {
        await this.db.send(
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
        );
        this.forget(workspaceId, sourceName);
        this.cache.delete(`K#${current.source.writeKeyHash}`);
        this.cache.delete(`K#${next.writeKeyHash}`);
        return next;
      } catch (error) {
        if (conditionFailed(error, 1)) {
          throw new ValidationError("credential.write_key_taken", "That write key belongs to another source", {
            cause: error,
          });
        }
        if (!conditionFailed(error, 0)) throw error;
      }
    }
    throw new IngestError("source.update_conflict", `Source ${sourceName} changed while updating; try again`, {
      retryable: true,
    });
  }

  /** `CredentialLookup`: the source, cached for `cacheSeconds`. */
  async findSource(workspaceId: string, sourceName: string): Promise<Source | undefined> {
    if (!isWorkspaceId(workspaceId) || !isSourceName(sourceName)) return undefined;
    return this.cached(`S#${workspaceId}#${sourceName}`, () => this.getSource(workspaceId, sourceName)) as Promise<
      Source | undefined
    >;
  }

  /** `CredentialLookup`: the workspace and source of a write key, by its SHA-256, cached. */
  async findSourceByWriteKeyHash(writeKeyHash: string): Promise<SourceRef | undefined> {
    if (!/^[0-9a-f]{64}$/.test(writeKeyHash)) return undefined;
    return this.cached(`K#${writeKeyHash}`, async () => {
      const got = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.writeKey(writeKeyHash) }));
      if (!got.Item) return undefined;
      return { workspaceId: String(got.Item.workspaceId), source: String(got.Item.source) };
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
    const item: SourceItem = { ...keys.source(workspaceId, name), type: "source", ...source, version: 1 };
    const writeKeyItem = writeKeyItemOf(workspaceId, name, source.writeKeyHash, createdAt);
    return { source, item, writeKeyItem, sharedSecret, writeKey };
  }

  private async getSourceItem(
    workspaceId: string,
    sourceName: string,
  ): Promise<{ source: Source; version: number } | undefined> {
    if (!isWorkspaceId(workspaceId) || !isSourceName(sourceName)) return undefined;
    const got = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.source(workspaceId, sourceName), ConsistentRead: true }),
    );
    if (!got.Item) return undefined;
    return { source: sourceOf(got.Item), version: Number(got.Item.version ?? 0) };
  }

  /** Read, change, write back if nobody wrote in between (else try again, a few times). */
  private async updateSource(workspaceId: string, sourceName: string, change: (s: Source) => Source): Promise<Source> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.getSourceItem(workspaceId, sourceName);
      if (!current) {
        throw new NotFoundError("source.not_found", `No source ${sourceName} in workspace ${workspaceId}`);
      }
      const next = change(current.source);
      const item: SourceItem = {
        ...keys.source(workspaceId, sourceName),
        type: "source",
        ...next,
        version: current.version + 1,
      };
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: "version = :version",
            ExpressionAttributeValues: { ":version": current.version },
          }),
        );
        this.forget(workspaceId, sourceName);
        return next;
      } catch (error) {
        if ((error as { name?: string }).name !== "ConditionalCheckFailedException") throw error;
      }
    }
    throw new IngestError("source.update_conflict", `Source ${sourceName} changed while updating; try again`, {
      retryable: true,
    });
  }

  private workspaceNotFound(workspaceId: string) {
    return new NotFoundError("workspace.not_found", `No workspace ${workspaceId}`);
  }

  private forget(workspaceId: string, sourceName: string) {
    this.cache.delete(`S#${workspaceId}#${sourceName}`);
  }

  /** A look-up for ingest: cached, and a DynamoDB failure is a `DependencyError` (answered 503). */
  private async cached<T extends Source | SourceRef>(key: string, load: () => Promise<T | undefined>) {
    const now = this.now().getTime();
    const hit = this.cacheMs > 0 ? this.cache.get(key) : undefined;
    if (hit && hit.expiresAt > now) return hit.value;
    let value: T | undefined;
    try {
      value = await load();
    } catch (error) {
      throw new DependencyError("credentials.unavailable", "Credentials could not be looked up: retry the request", {
        cause: error,
      });
    }
    if (this.cacheMs <= 0) return value;
    const ttl = value === undefined ? Math.min(this.cacheMs, missCacheSeconds * 1000) : this.cacheMs;
    this.cache.delete(key);
    if (this.cache.size >= maxCacheEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { value, expiresAt: now + ttl });
    return value;
  }
}
