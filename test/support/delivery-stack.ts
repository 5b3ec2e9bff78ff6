import { createApiDependencies, createApiHandler } from "../../packages/aws/src/api/handler";
import { createDocumentClient } from "../../packages/aws/src/clients";
import type { Config } from "../../packages/aws/src/config";
import { ApiKeyStore } from "../../packages/aws/src/dynamo/api-keys";
import { WorkspaceStore } from "../../packages/aws/src/dynamo/workspaces";
import { localHttpHandlers } from "../../packages/local/src/handlers";
import { type HandlerServer, startHandlerServer } from "../../packages/local/src/http-adapter";
import { localRoutes } from "../../packages/local/src/routes";
import { provisionTestResources } from "./local-resources";

/**
 * The real ingest and API handlers behind one loopback server, as the local stack routes them, on
 * fresh tables and queues, with workspace `acme` (sources `product` and any others asked for) and
 * an API key of it: what delivery counters are written and read through.
 */
export interface DeliveryStack {
  config: Config;
  server: HandlerServer;
  workspaces: WorkspaceStore;
  apiKey: string;
  /** The shared secret of `acme/product`. */
  secret: string;
  close(): Promise<void>;
}

export async function startDeliveryStack(options: { moreSources?: string[] } = {}): Promise<DeliveryStack> {
  const { config } = await provisionTestResources();
  const db = createDocumentClient(config);
  const workspaces = new WorkspaceStore(db, config.entitiesTable);
  const created = await workspaces.createWorkspace({ id: "acme" });
  for (const source of options.moreSources ?? []) await workspaces.addSource("acme", source);
  const { apiKey } = await new ApiKeyStore(db, config.entitiesTable).issueApiKey("acme", { name: "tests" });
  const fresh = { ...config, credentialCacheSeconds: 0 };
  const server = await startHandlerServer(
    localRoutes({
      ...localHttpHandlers(fresh),
      api: createApiHandler(createApiDependencies({ ...fresh, version: "test-1" })),
    }),
  );
  return {
    config,
    server,
    workspaces,
    apiKey,
    secret: created.sharedSecret,
    async close() {
      await server.close();
      db.destroy();
    },
  };
}
