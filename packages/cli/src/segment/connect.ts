import type { DestinationSubscription, DestinationV1 } from "@segment/public-api-sdk-typescript";
import type { WorkspaceStore } from "../../../aws/src/dynamo/workspaces";
import { requireSegmentSource } from "../../../aws/src/dynamo/workspaces";
import { IngestError, NotFoundError } from "../../../core/src/errors";
import { primarySourceName, type Source } from "../../../core/src/workspace/workspace";
import { freshSecret } from "./fresh-secret";
import { type SegmentPublicApi, type SubscriptionInput, tierNote } from "./public-api";

/**
 * `segment connect`: puts a Webhooks (Actions) destination on the customer's Segment source that
 * delivers every identify, group, track, page and screen call to this workspace's webhook URL,
 * signed with a fresh shared secret, batched. Idempotent: it finds its own destination and
 * subscriptions by name and updates them, so running it twice leaves one of each.
 *
 * What it creates follows Segment's Webhooks (Actions) definition (`@segment/action-destinations`,
 * destination `webhook`, slug `actions-webhook`): the setting `sharedSecret`, and the `send` action's
 * fields `url`, `method`, `data` (the whole event: `{"@path": "$."}`) and `batch_size`, plus
 * `enable_batching`, the platform's switch for an action that has a batch form (`performBatch`).
 */

/** Segment's catalog slug of the Webhooks (Actions) destination, and its action. */
export const webhookCatalogSlug = "actions-webhook";
export const sendActionSlug = "send";

/** The call types a subscription is made for, one each. */
export const subscribedCallTypes = ["identify", "group", "track", "page", "screen"] as const;

/** Events per delivery: Segment's default for this destination (it allows up to 4,000). */
export const batchSize = 1000;

/** The mapping one subscription sends: the whole event, batched, to our URL. */
export function sendMapping(webhookUrl: string): Record<string, unknown> {
  return { url: webhookUrl, method: "POST", data: { "@path": "$." }, enable_batching: true, batch_size: batchSize };
}

/** Segment's FQL trigger for one call type. */
export function triggerFor(type: string): string {
  return `type = "${type}"`;
}

export interface ConnectOptions {
  workspaceId: string;
  /** Our source (default `product`). */
  sourceName: string;
  /** Segment's id of the customer's source. */
  segmentSourceId: string;
  /** Our webhook URL for the workspace and source. */
  webhookUrl: string;
  dryRun: boolean;
}

export interface PlannedStep {
  action: "create" | "update";
  kind: "destination" | "subscription";
  name: string;
  id?: string;
}

export interface ConnectResult {
  dryRun: boolean;
  segmentSource: { id: string; name: string };
  destination: { id?: string; name: string; metadataId: string };
  steps: PlannedStep[];
  webhookUrl: string;
  /** The shared secret now in Segment and active on our source (absent in a dry run). */
  sharedSecret?: string;
  /** The secret retired on our side before rotating (only when two were active). */
  retiredOlderSecret: boolean;
  tierNote: string;
}

/** The name that marks our destination on the customer's source. */
export function destinationName(workspaceId: string, sourceName: string): string {
  return `segment-ingest ${workspaceId}${sourceName === primarySourceName ? "" : `/${sourceName}`}`;
}

function subscriptionName(type: string): string {
  return `segment-ingest ${type}`;
}

/**
 * Looks everything up, then (unless a dry run) rotates our source's secret and writes the
 * destination and its subscriptions. Every Segment look-up happens before anything is changed.
 *
 * @example
 * const result = await connectSegment(options, { api: new SegmentPublicApi({ token }), workspaces });
 */
export async function connectSegment(
  options: ConnectOptions,
  deps: { api: SegmentPublicApi; workspaces: WorkspaceStore },
): Promise<ConnectResult> {
  const { api, workspaces } = deps;
  await ourSegmentSource(workspaces, options);

  const metadata = await api.findCatalogDestination(webhookCatalogSlug);
  if (!metadata) {
    throw new NotFoundError(
      "segment_api.catalog_missing",
      `Segment's catalog has no ${webhookCatalogSlug} destination`,
    );
  }
  const send = metadata.actions.find((a) => a.slug === sendActionSlug);
  if (!send) {
    throw new NotFoundError("segment_api.catalog_missing", `${metadata.name} has no "${sendActionSlug}" action`);
  }
  const segmentSource = await api.getSource(options.segmentSourceId);
  const name = destinationName(options.workspaceId, options.sourceName);
  const existing = (await api.connectedDestinations(segmentSource.id)).find(
    (d: DestinationV1) => d.metadata.id === metadata.id && d.name === name,
  );
  const existingSubscriptions = existing ? await api.subscriptions(existing.id) : [];
  const subscriptionOf = (type: string): DestinationSubscription | undefined =>
    existingSubscriptions.find((s) => s.name === subscriptionName(type));

  const steps: PlannedStep[] = [
    { action: existing ? "update" : "create", kind: "destination", name, id: existing?.id },
    ...subscribedCallTypes.map((type): PlannedStep => {
      const found = subscriptionOf(type);
      return { action: found ? "update" : "create", kind: "subscription", name: subscriptionName(type), id: found?.id };
    }),
  ];
  const result: ConnectResult = {
    dryRun: options.dryRun,
    segmentSource: { id: segmentSource.id, name: segmentSource.name },
    destination: { id: existing?.id, name, metadataId: metadata.id },
    steps,
    webhookUrl: options.webhookUrl,
    retiredOlderSecret: false,
    tierNote,
  };
  if (options.dryRun) return result;

  const { secret, retiredOlder } = await freshSecret(workspaces, options.workspaceId, options.sourceName);
  result.sharedSecret = secret;
  result.retiredOlderSecret = retiredOlder;

  const settings = { sharedSecret: secret };
  const destination = await writeDestinationOrWithdraw(workspaces, options, secret, () =>
    existing
      ? api.updateDestination(existing.id, { name, settings })
      : api.createDestination({ sourceId: segmentSource.id, metadataId: metadata.id, name, settings }),
  );
  result.destination.id = destination.id;
  steps[0] = { ...steps[0], id: destination.id } as PlannedStep;

  const mapping = sendMapping(options.webhookUrl);
  for (const [i, type] of subscribedCallTypes.entries()) {
    const input: SubscriptionInput = {
      name: subscriptionName(type),
      actionId: send.id,
      trigger: triggerFor(type),
      settings: mapping,
    };
    const found = subscriptionOf(type);
    const written = found
      ? await api.updateSubscription(destination.id, found.id, {
          name: input.name,
          trigger: input.trigger,
          settings: input.settings,
        })
      : await api.createSubscription(destination.id, input);
    steps[i + 1] = { ...(steps[i + 1] as PlannedStep), id: written.id };
  }
  return result;
}

/**
 * Writes the destination with the fresh secret; if Segment does not take it, the secret is withdrawn
 * here again, so the newest active secret stays the one Segment signs with (the next run retires
 * the other, never that one) and the error says so.
 */
async function writeDestinationOrWithdraw<T>(
  workspaces: Pick<WorkspaceStore, "withdrawSecret">,
  options: { workspaceId: string; sourceName: string },
  secret: string,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const code = error instanceof IngestError ? error.code : "segment_api.unreachable";
    const reason = error instanceof Error ? error.message : String(error);
    try {
      await workspaces.withdrawSecret(options.workspaceId, options.sourceName, secret);
    } catch (undo) {
      throw new IngestError(
        code,
        `${reason}. The new shared secret could not be withdrawn (${undo instanceof Error ? undo.message : String(undo)}): retire it by hand once you know which secret Segment signs with`,
        { cause: error },
      );
    }
    throw new IngestError(
      code,
      `${reason}. The new shared secret was withdrawn; Segment keeps signing with its current one`,
      {
        cause: error,
        retryable: error instanceof IngestError && error.retryable,
      },
    );
  }
}

/**
 * Our source that a Segment destination will deliver to: it must exist and be a Segment source
 * (Segment cannot deliver to a Stripe source, whose route refuses Segment and whose secret is Stripe's).
 */
export async function ourSegmentSource(
  workspaces: Pick<WorkspaceStore, "getSource">,
  options: { workspaceId: string; sourceName: string },
): Promise<Source> {
  const ours = await workspaces.getSource(options.workspaceId, options.sourceName);
  if (!ours) {
    throw new NotFoundError(
      "source.not_found",
      `Workspace ${options.workspaceId} has no source ${options.sourceName}: create it first (workspaces create / add-source)`,
    );
  }
  requireSegmentSource(ours);
  return ours;
}
