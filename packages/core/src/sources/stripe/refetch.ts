/**
 * With a restricted API key on the source, a verified customer or subscription webhook is a cue to
 * fetch the object's current state (docs/sources/stripe.md, "Re-fetching"): the queued event carries
 * that state, stamped with the fetch time, so a late or out-of-order event cannot bring back an old
 * one. Runs in ingest, before the event is queued: a failed fetch is a 503 and Stripe redelivers.
 */
import Stripe from "stripe";
import { DependencyError } from "../../errors";

/** Clients kept per key for the life of the function, so a warm Lambda reuses its connections. */
const clients = new Map<string, Stripe>();
const maxClients = 100;

/**
 * The SDK client of a key, with the SDK's own network retries; against Stripe's API. One client per
 * key is reused across requests (its keep-alive connection saves a TLS handshake inside the webhook's
 * answer); the oldest is dropped past `maxClients` keys.
 */
export function defaultStripeClient(apiKey: string): Stripe {
  let client = clients.get(apiKey);
  if (!client) {
    client = new Stripe(apiKey, { maxNetworkRetries: 2, timeout: 5_000 });
    if (clients.size >= maxClients) clients.delete(clients.keys().next().value as string);
    clients.set(apiKey, client);
  }
  return client;
}

/** Which object an event type is about, when it is one that is re-fetched. */
function refetchedKind(type: unknown): "customer" | "subscription" | undefined {
  if (typeof type !== "string") return undefined;
  if (type.startsWith("customer.subscription.")) return "subscription";
  if (type.startsWith("customer.") && type.split(".").length === 2) return "customer";
  return undefined;
}

/**
 * The event with its object replaced by the current one (and `created` by the fetch time), or the
 * event unchanged when its type is not re-fetched. A 404 is the deleted object: a customer as
 * `customer.deleted`, a subscription as ended (`canceled`). Any other failure is a `DependencyError`.
 */
export async function refetchedEvent(
  event: Record<string, unknown>,
  client: Stripe,
  now: Date,
): Promise<Record<string, unknown>> {
  const kind = refetchedKind(event.type);
  const sent = (event.data as { object?: Record<string, unknown> } | undefined)?.object;
  if (!kind || typeof sent?.id !== "string") return event;
  // Milliseconds (events.ts reads `created` as seconds, fractions kept): the later fetch wins.
  const fetchedAt = now.getTime() / 1000;
  let object: Record<string, unknown>;
  let type = event.type;
  try {
    const current =
      kind === "customer"
        ? await client.customers.retrieve(sent.id)
        : await client.subscriptions.retrieve(sent.id, { expand: ["items.data.price.product"] });
    object = current as unknown as Record<string, unknown>;
    if (kind === "customer" && object.deleted === true) type = "customer.deleted";
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError && error.statusCode === 404) {
      object = kind === "customer" ? { ...sent, deleted: true } : { ...sent, status: "canceled" };
      type = kind === "customer" ? "customer.deleted" : "customer.subscription.deleted";
    } else {
      throw new DependencyError("stripe.refetch_failed", `Fetching the current ${kind} from Stripe failed`, {
        cause: error,
        details: { status: error instanceof Stripe.errors.StripeError ? error.statusCode : undefined },
      });
    }
  }
  return {
    ...event,
    type,
    created: fetchedAt,
    data: { object },
    refetched: { created: event.created, type: event.type },
  };
}
