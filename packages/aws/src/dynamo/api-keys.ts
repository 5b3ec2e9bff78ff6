import { randomBytes } from "node:crypto";
import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { NotFoundError, ValidationError } from "../../../core/src/errors";
import { generateCredential, hashCredential } from "../../../core/src/workspace/credentials";
import { CredentialCache } from "./credential-cache";
import { isWorkspaceId, keys } from "./keys";
import { storageCall } from "./storage-error";
import { conditionFailed, getItem, queryAll } from "./table-ops";

/**
 * Workspace API keys of the read and admin API (spec 5): issued by the admin CLI, shown once,
 * stored only as SHA-256, revocable.
 *
 * Items (keys from keys.ts):
 * - look-up `APIKEY#<sha256> / APIKEY` → workspace and key id (a request carries only the key);
 * - record `WS#<ws> / APIKEY#<keyId>`: name, creation time, a hint (the key's last characters)
 *   and the key's hash, so a key can be listed and revoked by id.
 */

/** An API key as listed: never the key itself. */
export interface ApiKeySummary {
  keyId: string;
  name: string;
  createdAt: string;
  /** The last characters of the key, to tell keys apart (`sk_…x7Qa`). */
  hint: string;
}

/** Who an API key belongs to. */
export interface ApiKeyOwner {
  workspaceId: string;
  keyId: string;
}

/** What the API handler needs of the key store. */
export interface ApiKeyAuthenticator {
  authenticate(apiKey: string): Promise<ApiKeyOwner | undefined>;
}

export interface ApiKeyStoreOptions {
  /** How long `authenticate` reuses a result; 0 (default) disables the cache. Misses: at most 5 s. */
  cacheSeconds?: number;
  now?: () => Date;
}

/** Prefix of generated keys, so a leaked key is recognisable (secret scanners, logs reviews). */
export const apiKeyPrefix = "sk_";

/** A given key (the local stack's DEV_API_KEY): printable ASCII without spaces, 8-256 characters. */
const givenKeyPattern = /^[\x21-\x7e]{8,256}$/;

function hintOf(apiKey: string): string {
  return apiKey.startsWith(apiKeyPrefix) ? `${apiKeyPrefix}…${apiKey.slice(-4)}` : `…${apiKey.slice(-4)}`;
}

/**
 * Issues, lists, revokes and authenticates workspace API keys.
 *
 * @example
 * const store = new ApiKeyStore(createDocumentClient(config), config.entitiesTable, { cacheSeconds: 30 });
 * const { keyId, apiKey } = await store.issueApiKey("acme", { name: "dashboard" });
 * await store.authenticate(apiKey); // { workspaceId: "acme", keyId }
 */
export class ApiKeyStore implements ApiKeyAuthenticator {
  private readonly now: () => Date;
  private readonly cache: CredentialCache<ApiKeyOwner>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: ApiKeyStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.cache = new CredentialCache({
      cacheSeconds: options.cacheSeconds ?? 0,
      now: () => this.now().getTime(),
      unavailable: {
        code: "credentials.unavailable",
        message: "API keys could not be looked up: retry the request",
      },
    });
  }

  /**
   * Issues an API key for a workspace and returns it (it is shown once: only its hash is stored).
   * With `key`, that key is stored (the local stack's fixed DEV_API_KEY); issuing the same key to
   * the same workspace again returns the existing key id.
   *
   * @throws NotFoundError `workspace.not_found`; ValidationError `api_key.invalid` (a given key that
   *   is too short or has spaces), `api_key.exists` (the given key belongs to another workspace).
   */
  async issueApiKey(
    workspaceId: string,
    options: { name?: string; key?: string } = {},
  ): Promise<{ keyId: string; apiKey: string }> {
    if (!isWorkspaceId(workspaceId)) throw new NotFoundError("workspace.not_found", `No workspace ${workspaceId}`);
    if (options.key !== undefined && !givenKeyPattern.test(options.key)) {
      throw new ValidationError("api_key.invalid", "An API key is 8-256 printable characters without spaces");
    }
    const apiKey = options.key ?? `${apiKeyPrefix}${generateCredential()}`;
    const keyHash = hashCredential(apiKey);
    const keyId = `key_${randomBytes(8).toString("hex")}`;
    const createdAt = this.now().toISOString();
    try {
      await storageCall("API key write", () =>
        this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: this.tableName,
                  Key: keys.workspace(workspaceId),
                  ConditionExpression: "attribute_exists(pk)",
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...keys.apiKey(keyHash), type: "apiKeyLookup", workspaceId, keyId, createdAt },
                  ConditionExpression: "attribute_not_exists(pk)",
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...keys.apiKeyRecord(workspaceId, keyId),
                    type: "apiKey",
                    workspaceId,
                    keyId,
                    name: options.name ?? keyId,
                    hint: hintOf(apiKey),
                    keyHash,
                    createdAt,
                  },
                  ConditionExpression: "attribute_not_exists(pk)",
                },
              },
            ],
          }),
        ),
      );
    } catch (error) {
      if (conditionFailed(error, 0)) {
        throw new NotFoundError("workspace.not_found", `No workspace ${workspaceId}`, { cause: error });
      }
      if (conditionFailed(error, 1)) {
        const existing = await this.lookUp(keyHash);
        if (existing?.workspaceId === workspaceId) return { keyId: existing.keyId, apiKey };
        throw new ValidationError("api_key.exists", "This API key is already in use", { cause: error });
      }
      throw error;
    }
    this.cache.forget(keyHash);
    return { keyId, apiKey };
  }

  /**
   * Revokes a key: it stops working at once in this process, and within the cache time
   * (`cacheSeconds`) in running API functions.
   *
   * @throws NotFoundError `api_key.not_found`
   */
  async revokeApiKey(workspaceId: string, keyId: string): Promise<void> {
    const notFound = () => new NotFoundError("api_key.not_found", `No API key ${keyId} in workspace ${workspaceId}`);
    if (!isWorkspaceId(workspaceId)) throw notFound();
    const record = await getItem(this.db, this.tableName, keys.apiKeyRecord(workspaceId, keyId), {
      consistent: true,
      operation: "API key read",
    });
    const keyHash = record?.keyHash as string | undefined;
    if (!keyHash) throw notFound();
    await storageCall("API key delete", () =>
      this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: { TableName: this.tableName, Key: keys.apiKey(keyHash) } },
            { Delete: { TableName: this.tableName, Key: keys.apiKeyRecord(workspaceId, keyId) } },
          ],
        }),
      ),
    );
    this.cache.forget(keyHash);
  }

  /** The API keys of a workspace (no secrets), oldest first. */
  async listApiKeys(workspaceId: string): Promise<ApiKeySummary[]> {
    if (!isWorkspaceId(workspaceId)) return [];
    const prefix = keys.apiKeyRecords(workspaceId);
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
      ExpressionAttributeValues: { ":pk": prefix.pk, ":sk": prefix.skPrefix },
    });
    const summaries: ApiKeySummary[] = items.map((item) => ({
      keyId: String(item.keyId),
      name: String(item.name),
      createdAt: String(item.createdAt),
      hint: String(item.hint),
    }));
    return summaries.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /**
   * The workspace and key id of an API key, or undefined for an unknown (or revoked) key. Cached
   * for `cacheSeconds` (an unknown key for at most 5 s).
   *
   * @throws DependencyError `credentials.unavailable` when DynamoDB cannot be read (answered 503).
   */
  async authenticate(apiKey: string): Promise<ApiKeyOwner | undefined> {
    if (apiKey.length === 0 || apiKey.length > 256) return undefined;
    const keyHash = hashCredential(apiKey);
    return this.cache.get(keyHash, () => this.lookUp(keyHash));
  }

  private async lookUp(keyHash: string): Promise<ApiKeyOwner | undefined> {
    const item = await getItem(this.db, this.tableName, keys.apiKey(keyHash), { operation: "API key read" });
    if (!item) return undefined;
    return { workspaceId: String(item.workspaceId), keyId: String(item.keyId) };
  }
}
