import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { ApiKeyStore } from "../../../packages/aws/src/dynamo/api-keys";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { provisionTestResources } from "../../support/local-resources";

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

/** Every request of the client is refused with DynamoDB's throttling error (outside the SDK's retries). */
function throttled(db: DynamoDBDocumentClient): DynamoDBDocumentClient {
  db.middlewareStack.add(
    () => async () => {
      throw Object.assign(new Error("Rate of requests exceeds the allowed throughput. (injected)"), {
        name: "ThrottlingException",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      });
    },
    { step: "initialize", name: "throttleEverything", priority: "high" },
  );
  return db;
}

const retryable = { code: "storage.unavailable", retryable: true };
const permanent = { code: "storage.rejected", retryable: false };

describe("the admin stores classify every storage failure", () => {
  it("throttling is a retryable storage.unavailable, for every kind of request", async () => {
    const db = throttled(createDocumentClient(config));
    const workspaces = new WorkspaceStore(db, config.entitiesTable);
    const apiKeys = new ApiKeyStore(db, config.entitiesTable);
    await expect(workspaces.createWorkspace({ id: "acme" })).rejects.toMatchObject(retryable);
    await expect(workspaces.getWorkspace("acme")).rejects.toMatchObject(retryable);
    await expect(workspaces.listWorkspaces()).rejects.toMatchObject(retryable);
    await expect(workspaces.listSources("acme")).rejects.toMatchObject(retryable);
    await expect(workspaces.rotateSecret("acme")).rejects.toMatchObject(retryable);
    await expect(apiKeys.issueApiKey("acme")).rejects.toMatchObject(retryable);
    await expect(apiKeys.listApiKeys("acme")).rejects.toMatchObject(retryable);
    await expect(apiKeys.revokeApiKey("acme", "key_1")).rejects.toMatchObject(retryable);
    db.destroy();
  });

  it("a request DynamoDB refuses on its merits (no such table) is a permanent storage.rejected", async () => {
    const db = createDocumentClient(config);
    const workspaces = new WorkspaceStore(db, `${config.entitiesTable}-missing`);
    const apiKeys = new ApiKeyStore(db, `${config.entitiesTable}-missing`);
    await expect(workspaces.createWorkspace({ id: "acme" })).rejects.toMatchObject(permanent);
    await expect(workspaces.listWorkspaces()).rejects.toMatchObject(permanent);
    await expect(apiKeys.listApiKeys("acme")).rejects.toMatchObject(permanent);
    db.destroy();
  });

  it("the conditions they rely on still answer in the store's own words", async () => {
    const db = createDocumentClient(config);
    const workspaces = new WorkspaceStore(db, config.entitiesTable);
    const apiKeys = new ApiKeyStore(db, config.entitiesTable);
    await workspaces.createWorkspace({ id: "taken" });
    await expect(workspaces.createWorkspace({ id: "taken" })).rejects.toMatchObject({ code: "workspace.exists" });
    await expect(workspaces.addSource("taken", "product")).rejects.toMatchObject({ code: "source.exists" });
    await expect(apiKeys.issueApiKey("nobody")).rejects.toMatchObject({ code: "workspace.not_found" });
    db.destroy();
  });
});
