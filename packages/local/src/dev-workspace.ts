import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiKeyStore, apiKeyPrefix } from "../../aws/src/dynamo/api-keys";
import type { WorkspaceStore } from "../../aws/src/dynamo/workspaces";
import { ValidationError } from "../../core/src/errors";
import { generateCredential, hashCredential } from "../../core/src/workspace/credentials";
import { primarySourceName } from "../../core/src/workspace/workspace";

/**
 * The local stack's `dev` workspace and the file that remembers its credentials, so a restart
 * (and `npm run replay`, and the CLI) reaches the same workspace with no flags.
 */

/** The workspace the local stack creates on first start. */
export const devWorkspaceId = "dev";

/** What `.data/dev-credentials.json` holds (read by the replay tool and the CLI). */
export interface DevCredentials {
  workspaceId: string;
  sharedSecret: string;
  writeKey: string;
  apiKey: string;
}

/** Environment variables that fix the dev credentials (else they are generated once). */
export const DevCredentialEnv = {
  sharedSecret: "DEV_SHARED_SECRET",
  writeKey: "DEV_WRITE_KEY",
  apiKey: "DEV_API_KEY",
} as const;

/** The repository root (this file is packages/local/src/dev-workspace.ts). */
const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * Where the local stack keeps its data: `DATA_DIR` (relative to the working directory) when set,
 * else `.data` at the repository root.
 *
 * @example
 * dataDirectory({ DATA_DIR: "/tmp/stack" }); // "/tmp/stack"
 */
export function dataDirectory(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.DATA_DIR ? resolve(env.DATA_DIR) : join(repositoryRoot, ".data");
}

export function devCredentialsPath(dataDir: string): string {
  return join(dataDir, "dev-credentials.json");
}

/** The saved dev credentials, or undefined when the stack has not been started with this data dir. */
export async function readDevCredentials(dataDir: string): Promise<DevCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(devCredentialsPath(dataDir), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<DevCredentials>;
  const fields = ["workspaceId", "sharedSecret", "writeKey", "apiKey"] as const;
  if (fields.some((f) => typeof parsed[f] !== "string" || parsed[f] === "")) {
    throw new ValidationError(
      "local.credentials_invalid",
      `${devCredentialsPath(dataDir)} is not a dev credentials file (${fields.join(", ")}): delete it to get new credentials`,
    );
  }
  return parsed as DevCredentials;
}

/** Saves the credentials, readable by this user only. */
export async function writeDevCredentials(dataDir: string, credentials: DevCredentials): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const path = devCredentialsPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** The API key operations the dev workspace needs. */
export type DevApiKeys = Pick<ApiKeyStore, "issueApiKey" | "authenticate">;

/** What `ensureDevWorkspace` did, for the start-up message. */
export interface DevWorkspace {
  credentials: DevCredentials;
  /** The workspace did not exist and was created. */
  created: boolean;
  /** Credentials that were (re)written to the store: `sharedSecret`, `writeKey`, `apiKey`. */
  updated: string[];
}

/** True when the API key is valid and belongs to the workspace. */
async function apiKeyWorks(apiKeys: DevApiKeys, apiKey: string, workspaceId: string): Promise<boolean> {
  return (await apiKeys.authenticate(apiKey))?.workspaceId === workspaceId;
}

/**
 * Makes sure workspace `dev` exists with source `product` and that its shared secret, write key
 * and an API key are the wanted ones: `DEV_SHARED_SECRET`, `DEV_WRITE_KEY`, `DEV_API_KEY` when set,
 * else those saved in `<dataDir>/dev-credentials.json`, else new random ones. The store is only
 * written where it differs, and the file is rewritten with what is now valid. Safe on every start.
 *
 * @example
 * const { credentials } = await ensureDevWorkspace({ workspaces, apiKeys, dataDir, env: process.env });
 */
export async function ensureDevWorkspace(input: {
  workspaces: Pick<WorkspaceStore, "getWorkspace" | "getSource" | "createWorkspace" | "replaceCredentials">;
  apiKeys: DevApiKeys;
  dataDir: string;
  env: Readonly<Record<string, string | undefined>>;
}): Promise<DevWorkspace> {
  const { workspaces, apiKeys, dataDir, env } = input;
  const saved = await readDevCredentials(dataDir);
  const wanted: DevCredentials = {
    workspaceId: devWorkspaceId,
    sharedSecret: env[DevCredentialEnv.sharedSecret] || saved?.sharedSecret || generateCredential(),
    writeKey: env[DevCredentialEnv.writeKey] || saved?.writeKey || generateCredential(),
    apiKey: env[DevCredentialEnv.apiKey] || saved?.apiKey || `${apiKeyPrefix}${generateCredential()}`,
  };
  const updated: string[] = [];
  let created = false;

  if (!(await workspaces.getWorkspace(devWorkspaceId))) {
    try {
      await workspaces.createWorkspace({
        id: devWorkspaceId,
        name: "Development",
        credentials: { sharedSecret: wanted.sharedSecret, writeKey: wanted.writeKey },
      });
      created = true;
    } catch (error) {
      // Another process created it in between: check its credentials below like any existing one.
      if (!(error instanceof ValidationError && error.code === "workspace.exists")) throw error;
    }
  }
  if (!created) {
    const source = await workspaces.getSource(devWorkspaceId, primarySourceName);
    const change: { sharedSecret?: string; writeKey?: string } = {};
    if (!source?.secrets.some((s) => s.value === wanted.sharedSecret)) change.sharedSecret = wanted.sharedSecret;
    if (source?.writeKeyHash !== hashCredential(wanted.writeKey)) change.writeKey = wanted.writeKey;
    if (Object.keys(change).length > 0) {
      await workspaces.replaceCredentials(devWorkspaceId, primarySourceName, change);
      updated.push(...Object.keys(change));
    }
  }
  if (!(await apiKeyWorks(apiKeys, wanted.apiKey, devWorkspaceId))) {
    await apiKeys.issueApiKey(devWorkspaceId, { name: "local stack", key: wanted.apiKey });
    if (!created) updated.push("apiKey");
  }

  if (JSON.stringify(saved) !== JSON.stringify(wanted)) await writeDevCredentials(dataDir, wanted);
  return { credentials: wanted, created, updated };
}
