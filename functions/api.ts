import { createApiDependencies, createApiHandler } from "../packages/aws/src/api/handler";
import { loadConfig } from "../packages/aws/src/config";

/** The read and admin API: /health, /openapi.json, /v1/accounts, /v1/users, /v1/entity-maps, /v1/rejects, /v1/pending. */
export const handler = createApiHandler(async () => createApiDependencies(await loadConfig()));
