import type { ApiOperations } from "../../../core/src/api/routes";
import type { SourceStatus } from "../../../core/src/api/source-schemas";
import { NotFoundError } from "../../../core/src/errors";
import { deliveryStatus } from "../../../core/src/sources/delivery-status";
import { sourceWebhookPath } from "../../../core/src/sources/webhook-path";
import type { Source } from "../../../core/src/workspace/workspace";
import type { DeliveryStatusStore } from "../dynamo/delivery-status";
import type { WorkspaceStore } from "../dynamo/workspaces";

/** The operations this file implements (the others are in operations.ts). */
export type SourceOperation = "listSources" | "getSource";

/** What the sources operations read: the workspace's sources and their delivery counters. */
export interface SourceStores {
  workspaces: Pick<WorkspaceStore, "listSources" | "getSource">;
  deliveries: Pick<DeliveryStatusStore, "recentDays">;
  now: () => Date;
}

/**
 * `GET /v1/sources` and `GET /v1/sources/{name}`: each source with its delivery counters (two
 * small reads per source: the source item and its newest two counter items).
 *
 * @example
 * const operations = { ...createApiOperations(stores), ...createSourceOperations(sourceStores) };
 */
export function createSourceOperations(stores: SourceStores): Pick<ApiOperations, SourceOperation> {
  async function statusOf(source: Source): Promise<SourceStatus> {
    const days = await stores.deliveries.recentDays(source.workspaceId, source.name);
    return {
      name: source.name,
      webhook_path: sourceWebhookPath(source),
      active_secrets: source.secrets.length,
      bearer_token_required: source.bearerTokenHash !== undefined,
      created_at: source.createdAt,
      delivery: deliveryStatus(days, stores.now()),
    };
  }
  return {
    async listSources({ workspaceId }) {
      const sources = await stores.workspaces.listSources(workspaceId);
      const items = await Promise.all(sources.map(statusOf));
      return { status: 200, body: { items, next_cursor: null }, facts: { items: items.length } };
    },
    async getSource({ workspaceId, params }) {
      const name = params.name ?? "";
      const source = await stores.workspaces.getSource(workspaceId, name);
      if (!source) throw new NotFoundError("source.not_found", `No source ${name} in this workspace`);
      return { status: 200, body: await statusOf(source) };
    },
  };
}
