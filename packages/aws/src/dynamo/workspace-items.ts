import { ValidationError } from "../../../core/src/errors";
import type { Source, Workspace } from "../../../core/src/workspace/workspace";
import { keys, sourceNamePattern } from "./keys";

/** Item shapes and conversions of workspaces and sources (workspaces.ts stores them). */

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

export type SourceItem = Source & { pk: string; sk: string; type: "source"; version: number };

/** The stored item of a source at a version. */
export function sourceItemOf(source: Source, version: number): SourceItem {
  return { ...keys.source(source.workspaceId, source.name), type: "source", ...source, version };
}

export function sourceOf(item: Record<string, unknown>): Source {
  const i = item as unknown as SourceItem;
  return {
    workspaceId: i.workspaceId,
    name: i.name,
    secrets: i.secrets,
    writeKeyHash: i.writeKeyHash,
    ...(i.bearerTokenHash ? { bearerTokenHash: i.bearerTokenHash } : {}),
    createdAt: i.createdAt,
  };
}

export function workspaceOf(item: Record<string, unknown>): Workspace {
  return { id: String(item.id), name: String(item.name), createdAt: String(item.createdAt) };
}

export function isSourceName(name: string): boolean {
  return sourceNamePattern.test(name);
}

/** The look-up item that leads the tracking API from a write key's hash to its source. */
export function writeKeyItemOf(workspaceId: string, source: string, writeKeyHash: string, createdAt: string) {
  return { ...keys.writeKey(writeKeyHash), type: "writeKey", workspaceId, source, createdAt };
}

export function checkGivenCredentials(given: GivenCredentials): void {
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

/** The credential cache's key of a source… */
export const sourceCacheKey = (workspaceId: string, sourceName: string) => `S#${workspaceId}#${sourceName}`;
/** …and of a write key's look-up. */
export const writeKeyCacheKey = (writeKeyHash: string) => `K#${writeKeyHash}`;
