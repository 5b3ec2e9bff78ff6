import { createDocumentClient } from "../clients";
import { type Config, loadConfig } from "../config";
import { DynamoIdentityStore } from "../dynamo/identity-store";
import { DynamoModelStore } from "../dynamo/model-store";
import { WorkspaceStore } from "../dynamo/workspaces";
import { logger } from "../logger";
import { onFirstUse } from "./first-use";

export interface SweepDependencies {
  workspaces: { listWorkspaces(): Promise<{ id: string }[]> };
  identity: Pick<DynamoIdentityStore, "expirePending">;
  retentionDays: number;
  now?: () => string;
  /** Told of each workspace where calls expired. */
  onExpired?: (workspaceId: string, count: number) => void;
}

/** The sweep's dependencies for a configuration. */
export function createSweepDependencies(config: Config): SweepDependencies {
  const db = createDocumentClient(config, "sweep");
  return {
    workspaces: new WorkspaceStore(db, config.entitiesTable),
    identity: new DynamoIdentityStore(db, config, new DynamoModelStore(db, config)),
    retentionDays: config.pendingRetentionDays,
  };
}

/**
 * Expires pending calls (held for an entity map that never came) in every workspace, recording each
 * as an `id.unmapped` reject. Runs hourly on AWS and every minute in the local stack. A workspace
 * that fails is logged and the others still run; the error is rethrown at the end so the failure
 * is visible (Lambda errors alarm) and the next run tries again.
 *
 * @example
 * const expired = await sweepPendingCalls(createSweepDependencies(await loadConfig()));
 */
export async function sweepPendingCalls(deps: SweepDependencies): Promise<number> {
  const now = deps.now?.() ?? new Date().toISOString();
  let expired = 0;
  let failure: unknown;
  for (const workspace of await deps.workspaces.listWorkspaces()) {
    try {
      const count = await deps.identity.expirePending(workspace.id, now, deps.retentionDays);
      if (count > 0) deps.onExpired?.(workspace.id, count);
      expired += count;
    } catch (error) {
      failure ??= error;
      logger.error("pending sweep failed for a workspace", { workspaceId: workspace.id, error: String(error) });
    }
  }
  logger.info("pending sweep", { expired });
  if (failure) throw failure;
  return expired;
}

/** The scheduled Lambda handler. */
export function createSweepHandler() {
  const deps = onFirstUse(async () => createSweepDependencies(await loadConfig()));
  return async (): Promise<{ expired: number }> => ({ expired: await sweepPendingCalls(await deps()) });
}
