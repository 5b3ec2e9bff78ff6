/**
 * The Stripe source: a Stripe account's webhook endpoint POSTs one event per request to the
 * workspace's URL, signed with `Stripe-Signature` (docs/sources/stripe.md). The event is verified
 * with the official `stripe` library against each of the source's signing secrets (two while one is
 * rotated), then queued as it is; normalize reads it into an account write (`events.ts`).
 */
import Stripe from "stripe";
import { AuthError, NotFoundError, ValidationError } from "../../errors";
import type { HttpRequest } from "../../http/request";
import type { Source } from "../../workspace/workspace";
import type { ReceivePorts, SourceAdapter } from "../source";
import { defaultStripeSourceName } from "../webhook-path";
import { isHandledEventType, type QueuedStripeEvent } from "./events";
import { defaultStripeClient, refetchedEvent } from "./refetch";
import { type StripeRoute, stripeWebhookRoutes } from "./routes";

/** The source name a URL without one means (defined beside the webhook paths, which the API reads without the SDK). */
export { defaultStripeSourceName };

/** How old a signature's timestamp may be (Stripe's libraries' default: five minutes). */
export const signatureToleranceSeconds = 300;

/** The metadata key that names the account when a source does not set another. */
export const defaultAccountIdMetadataKey = "account_id";

/**
 * The event, verified against any of the source's signing secrets: the signature's timestamp within
 * the tolerance, and any of its `v1` signatures matching (the library compares in constant time).
 */
async function verifiedEvent(request: HttpRequest, source: Source, now: Date): Promise<Record<string, unknown>> {
  const header = request.headers["stripe-signature"];
  if (!header) throw new AuthError("stripe.signature_missing", "Stripe-Signature header is missing");
  // The raw bytes: the signature is over them, not over a re-encoding.
  const payload = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  let stale = false;
  for (const secret of source.secrets) {
    try {
      const event = await Stripe.webhooks.constructEventAsync(
        payload,
        header,
        secret.value,
        signatureToleranceSeconds,
        undefined,
        // Milliseconds: the library divides by 1000.
        now.getTime(),
      );
      return event as unknown as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) {
        throw new ValidationError("body.invalid_json", "The body is not a Stripe event (JSON)");
      }
      if (/tolerance/i.test(error.message)) stale = true;
    }
  }
  if (stale) {
    throw new AuthError(
      "stripe.signature_expired",
      `Stripe-Signature's timestamp is more than ${signatureToleranceSeconds} s from now`,
    );
  }
  throw new AuthError("stripe.signature_invalid", "Stripe-Signature does not match the body and the signing secret");
}

async function receive(request: HttpRequest, route: StripeRoute, { credentials, facts, stripeClient }: ReceivePorts) {
  facts.workspaceId = route.workspaceId;
  facts.source = route.source;
  const source = await credentials.findSource(route.workspaceId, route.source);
  if (source?.kind !== "stripe") {
    throw new NotFoundError("workspace.not_found", "Unknown workspace or Stripe source");
  }
  const verified = await verifiedEvent(request, source, request.receivedAt);
  facts.events = 1;
  const apiKey = source.stripe?.apiKey;
  const event =
    apiKey && isHandledEventType(verified.type) && typeof verified.id === "string" && verified.id.startsWith("evt_")
      ? await refetchedEvent(verified, (stripeClient ?? defaultStripeClient)(apiKey), request.receivedAt)
      : verified;
  // Other types are acknowledged (so Stripe does not retry them for days) and counted, not queued.
  if (!isHandledEventType(event.type)) {
    facts.ignored = 1;
    return { workspaceId: route.workspaceId, source: route.source, calls: [], refused: [] };
  }
  if (typeof event.id !== "string" || !event.id.startsWith("evt_")) {
    throw new ValidationError("stripe.event_invalid", "The body is not a Stripe event: it has no evt_ id");
  }
  const call: QueuedStripeEvent = {
    messageId: event.id,
    accountIdMetadataKey: source.stripe?.accountIdMetadataKey ?? defaultAccountIdMetadataKey,
    ...(source.stripe?.ownsBillingFields === false ? { ownsBillingFields: false } : {}),
    event,
  };
  return { workspaceId: route.workspaceId, source: route.source, calls: [call], refused: [] };
}

/** The Stripe source: its routes (`routes.ts`) and their receive. */
export const stripeWebhook: SourceAdapter<StripeRoute> = { ...stripeWebhookRoutes, receive };
