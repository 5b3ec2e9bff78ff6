import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { ApiKeyStore } from "../../../packages/aws/src/dynamo/api-keys";
import { DynamoIdentityStore } from "../../../packages/aws/src/dynamo/identity-store";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { hashCredential } from "../../../packages/core/src/workspace/credentials";
import {
  type DevCredentials,
  devCredentialsPath,
  ensureDevWorkspace,
  readDevCredentials,
} from "../../../packages/local/src/dev-workspace";
import { startPendingSweep } from "../../../packages/local/src/pending-sweep";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace } from "../../support/normalize-harness";

/**
 * The dev workspace against DynamoDB Local. Each test uses fresh tables (the workspace id is
 * always `dev`) and a fresh data directory.
 */

let dataDir: string;
let db: ReturnType<typeof createDocumentClient>;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "dev-workspace-"));
});
afterAll(async () => {
  db?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

async function freshStores(): Promise<{
  config: Config;
  workspaces: WorkspaceStore;
  apiKeys: ApiKeyStore;
  dir: string;
}> {
  const { config } = await provisionTestResources();
  db = createDocumentClient(config);
  const dir = await mkdtemp(join(dataDir, "d"));
  return {
    config,
    workspaces: new WorkspaceStore(db, config.entitiesTable),
    apiKeys: new ApiKeyStore(db, config.entitiesTable),
    dir,
  };
}

/** The credentials work: the secret verifies, the write key and API key resolve to dev. */
async function expectValid(stores: { workspaces: WorkspaceStore; apiKeys: ApiKeyStore }, c: DevCredentials) {
  const source = await stores.workspaces.findSource("dev", "product");
  expect(source?.secrets.map((s) => s.value)).toContain(c.sharedSecret);
  expect(await stores.workspaces.findSourceByWriteKeyHash(hashCredential(c.writeKey))).toEqual({
    workspaceId: "dev",
    source: "product",
  });
  expect(await stores.apiKeys.authenticate(c.apiKey)).toMatchObject({ workspaceId: "dev" });
}

describe("ensureDevWorkspace", () => {
  it("creates dev with generated credentials once, saves them (mode 600), and reuses them on restart", async () => {
    const stores = await freshStores();
    const first = await ensureDevWorkspace({ ...stores, dataDir: stores.dir, env: {} });
    expect(first.created).toBe(true);
    expect(first.credentials).toMatchObject({ workspaceId: "dev", apiKey: expect.stringMatching(/^sk_/) });
    await expectValid(stores, first.credentials);
    expect(await readDevCredentials(stores.dir)).toEqual(first.credentials);
    expect((await stat(devCredentialsPath(stores.dir))).mode & 0o777).toBe(0o600);

    const again = await ensureDevWorkspace({ ...stores, dataDir: stores.dir, env: {} });
    expect(again).toEqual({ credentials: first.credentials, created: false, updated: [] });
  });

  it("uses DEV_* variables when set, also when they change after the first start", async () => {
    const stores = await freshStores();
    const env = {
      DEV_SHARED_SECRET: "local-secret-1",
      DEV_WRITE_KEY: "local-write-key-1",
      DEV_API_KEY: "local-api-key-1",
    };
    const first = await ensureDevWorkspace({ ...stores, dataDir: stores.dir, env });
    expect(first.credentials).toEqual({
      workspaceId: "dev",
      sharedSecret: "local-secret-1",
      writeKey: "local-write-key-1",
      apiKey: "local-api-key-1",
    });
    await expectValid(stores, first.credentials);

    const changed = {
      DEV_SHARED_SECRET: "local-secret-2",
      DEV_WRITE_KEY: "local-write-key-2",
      DEV_API_KEY: "local-api-key-2",
    };
    const second = await ensureDevWorkspace({ ...stores, dataDir: stores.dir, env: changed });
    expect(second.updated.sort()).toEqual(["apiKey", "sharedSecret", "writeKey"]);
    await expectValid(stores, second.credentials);
    const source = await stores.workspaces.getSource("dev", "product");
    expect(source?.secrets.map((s) => s.value)).toEqual(["local-secret-2"]);
    // The replaced write key no longer reaches the workspace.
    expect(await stores.workspaces.findSourceByWriteKeyHash(hashCredential("local-write-key-1"))).toBeUndefined();
    expect(JSON.parse(await readFile(devCredentialsPath(stores.dir), "utf8"))).toEqual(second.credentials);

    // Unset again: the saved (last used) credentials stay.
    const third = await ensureDevWorkspace({ ...stores, dataDir: stores.dir, env: {} });
    expect(third).toEqual({ credentials: second.credentials, created: false, updated: [] });
  });

  it("recreates the workspace from the saved file when the database was wiped", async () => {
    const stores = await freshStores();
    const first = await ensureDevWorkspace({ ...stores, dataDir: stores.dir, env: {} });
    const wiped = await freshStores();
    const again = await ensureDevWorkspace({ ...wiped, dataDir: stores.dir, env: {} });
    expect(again.created).toBe(true);
    expect(again.credentials).toEqual(first.credentials);
    await expectValid(wiped, again.credentials);
  });

  it("refuses a write key that cannot be sent as HTTP Basic user", async () => {
    const stores = await freshStores();
    await expect(
      ensureDevWorkspace({ ...stores, dataDir: stores.dir, env: { DEV_WRITE_KEY: "has:colon" } }),
    ).rejects.toMatchObject({ code: "credential.invalid" });
  });
});

describe("pending sweep", () => {
  it("expires calls held longer than the retention as id.unmapped rejects, in every workspace", async () => {
    const { config, workspaces } = await freshStores();
    const model = new DynamoModelStore(db, config);
    const identity = new DynamoIdentityStore(db, config, model);
    const reader = new DynamoModelReader(db, config);
    const old = freshWorkspace();
    const other = freshWorkspace();
    await workspaces.createWorkspace({ id: old });
    await workspaces.createWorkspace({ id: other });
    const hold = (ws: string, messageId: string, heldAt: string) =>
      model.holdPending(
        {
          workspaceId: ws,
          source: "crm",
          messageId,
          time: heldAt,
          heldAt,
          receivedAt: heldAt,
          call: { type: "identify", userId: "crm-7", messageId },
          missing: [{ source: "crm", kind: "user", externalId: "crm-7" }],
        },
        Math.floor(Date.parse("2030-01-01T00:00:00Z") / 1000),
      );
    await hold(old, "m-old", "2024-05-01T00:00:00.000Z");
    await hold(old, "m-new", "2024-05-20T00:00:00.000Z");
    await hold(other, "m-other", "2024-05-02T00:00:00.000Z");

    const lines: string[] = [];
    const sweep = startPendingSweep({
      workspaces,
      identity,
      retentionDays: 14,
      intervalMs: 3_600_000,
      now: () => new Date("2024-05-25T00:00:00.000Z"),
      log: (line) => lines.push(line),
    });
    // The first sweep runs at start; asking for one meanwhile joins it.
    expect(await sweep.sweep()).toBe(2);
    expect(await sweep.sweep()).toBe(0);
    await sweep.stop();

    expect((await reader.listRejects(old)).map((r) => [r.message_id, r.code])).toEqual([["m-old", "id.unmapped"]]);
    expect((await reader.listRejects(other)).map((r) => [r.message_id, r.code])).toEqual([["m-other", "id.unmapped"]]);
    expect((await identity.allPending(old)).map((p) => p.messageId)).toEqual(["m-new"]);
    expect(lines).toEqual(expect.arrayContaining([expect.stringContaining(`workspace ${old} expired`)]));
  });
});
