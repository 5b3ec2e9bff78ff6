import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import { ValidationError } from "../../../core/src/errors";
import { maxRawMessageBodyBytes } from "../../../core/src/ingest/limits";
import type { RawQueueSender } from "../../../core/src/ingest/receive";
import { type RawMessageMeta, splitBatch } from "../../../core/src/ingest/split-batch";
import { defaultAccountIdMetadataKey } from "../../../core/src/sources/stripe";
import type { QueuedStripeEvent } from "../../../core/src/sources/stripe/events";
import type { Source } from "../../../core/src/workspace/workspace";

/**
 * Backfill of a Stripe source: its customers and subscriptions pulled with the official SDK's
 * auto-pagination and queued as the webhook's calls would be, each as an event of the pull's time
 * (`customer.updated`, `customer.subscription.updated`), so the same rules make the same accounts
 * and a webhook newer than the pull still wins. Resumable: after each page the last id of each list
 * is saved, and a resumed run starts after it with the same pull time.
 */

/** Where a run is: saved after every page, read back by `--resume`. */
export interface BackfillState {
  /** Unix seconds: the time every backfilled event carries. */
  pulledAt: number;
  /** Last object queued of each list, and whether the list is done. */
  customers: { after?: string; done: boolean; queued: number };
  subscriptions: { after?: string; done: boolean; queued: number };
}

export interface BackfillPorts {
  stripe: Stripe;
  queue: RawQueueSender;
  /** Persists the state (a file for the CLI). */
  save(state: BackfillState): Promise<void>;
  /** Told after every page. */
  progress?(state: BackfillState): void;
  now?: () => Date;
}

const pageSize = 100;

/** The SDK client for a restricted key; `apiBase` points it elsewhere (a test's local server). */
export function stripeClient(apiKey: string, apiBase?: string): Stripe {
  if (apiBase === undefined) return new Stripe(apiKey, { maxNetworkRetries: 5 });
  const url = new URL(apiBase);
  return new Stripe(apiKey, {
    host: url.hostname,
    port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
    protocol: url.protocol === "https:" ? "https" : "http",
    maxNetworkRetries: 5,
  });
}

/** One pulled object as the queued call a webhook of it would be. */
export function backfillCall(
  object: { id: string },
  type: "customer.updated" | "customer.subscription.updated",
  pulledAt: number,
  source: Source,
): QueuedStripeEvent {
  const id = `evt_backfill_${pulledAt}_${object.id}`;
  return {
    messageId: id,
    accountIdMetadataKey: source.stripe?.accountIdMetadataKey ?? defaultAccountIdMetadataKey,
    ...(source.stripe?.ownsBillingFields === false ? { ownsBillingFields: false } : {}),
    event: { id, object: "event", type, created: pulledAt, livemode: false, data: { object } },
  };
}

/**
 * Runs (or resumes, given its saved state) a backfill of one Stripe source.
 *
 * @example
 * const state = await runStripeBackfill(source, { stripe: stripeClient(key), queue, save });
 */
export async function runStripeBackfill(
  source: Source,
  ports: BackfillPorts,
  resumed?: BackfillState,
): Promise<BackfillState> {
  if (source.kind !== "stripe") {
    throw new ValidationError("source.not_stripe", `Source ${source.name} is not a Stripe source`);
  }
  const state: BackfillState = resumed ?? {
    pulledAt: Math.floor((ports.now?.() ?? new Date()).getTime() / 1000),
    customers: { done: false, queued: 0 },
    subscriptions: { done: false, queued: 0 },
  };
  const meta = (): RawMessageMeta => ({
    workspaceId: source.workspaceId,
    source: source.name,
    receivedAt: (ports.now?.() ?? new Date()).toISOString(),
    requestId: `backfill-${randomUUID()}`,
    route: "stripe",
  });
  const lists = [
    {
      list: state.customers,
      type: "customer.updated" as const,
      pages: (after?: string) =>
        ports.stripe.customers.list({ limit: pageSize, ...(after ? { starting_after: after } : {}) }),
    },
    {
      list: state.subscriptions,
      type: "customer.subscription.updated" as const,
      pages: (after?: string) =>
        ports.stripe.subscriptions.list({
          limit: pageSize,
          status: "all",
          ...(after ? { starting_after: after } : {}),
        }),
    },
  ];
  for (const { list, type, pages } of lists) {
    if (list.done) continue;
    let page: { id: string }[] = [];
    const flush = async () => {
      if (page.length === 0) return;
      const calls = page.map((o) => backfillCall(o, type, state.pulledAt, source));
      const m = meta();
      await ports.queue.send(splitBatch(calls, m, maxRawMessageBodyBytes), m);
      list.queued += page.length;
      list.after = page[page.length - 1]?.id;
      page = [];
      await ports.save(state);
      ports.progress?.(state);
    };
    // The SDK's auto-pagination: `starting_after` the last object of each page, with its own
    // retries (and backoff) of rate-limited and failed requests.
    for await (const object of pages(list.after)) {
      page.push(object);
      if (page.length >= pageSize) await flush();
    }
    await flush();
    list.done = true;
    await ports.save(state);
  }
  return state;
}
