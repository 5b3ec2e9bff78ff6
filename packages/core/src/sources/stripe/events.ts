/**
 * Queued Stripe events decoded into normalized calls (docs/sources/stripe.md). Each event becomes
 * one account write stamped with the event's `created` time and its `evt_` id (the call's
 * messageId, so a redelivery is the same call). Pure.
 */
import { canonicalId } from "../../ids";
import type { NormalizedCall } from "../../normalize/call";
import { queueTime } from "../../normalize/event-time";
import { callContentHash } from "../../normalize/message-id";
import type { FieldValue } from "../../normalize/value";
import type { RejectRecord } from "../../pipeline/model-store";
import type { RawQueueMessage } from "../../queue-message";
import type { DecodedCall, DecodedMessage, DecodedReject } from "../source";
import { storedSnapshot, subscriptionSnapshot } from "./billing";
import { CUSTOMER_FIELD, OWNERSHIP_FIELD, SUBSCRIPTION_FIELD_PREFIX } from "./derive";

/** The events that change an account; every other type is acknowledged at ingest and not queued. */
export const handledEventTypes = [
  "customer.created",
  "customer.updated",
  "customer.deleted",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.trial_will_end",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "invoice.paid",
  "invoice.payment_failed",
] as const;

const handled: ReadonlySet<string> = new Set(handledEventTypes);

/** Whether an event type changes an account. */
export function isHandledEventType(type: unknown): boolean {
  return typeof type === "string" && handled.has(type);
}

/** A queued Stripe call: the verified event as Stripe sent it, and how the source links customers. */
export interface QueuedStripeEvent extends Record<string, unknown> {
  messageId: string;
  /** The customer (or subscription) metadata key that names the product's account id. */
  accountIdMetadataKey: string;
  /** The source's ownership setting when the event came (absent: owned). */
  ownsBillingFields?: boolean;
  event: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

/** The customer id an object names: its own (a customer), or its `customer` (an id or an expanded customer). */
function customerIdOf(type: string, object: Obj): string | undefined {
  if (type.startsWith("customer.") && !type.startsWith("customer.subscription.")) return canonicalId(object.id);
  return canonicalId(object.customer) ?? canonicalId(obj(object.customer)?.id);
}

/**
 * The account id an event's object names under the metadata key: its own metadata (a customer's, a
 * subscription's), else an invoice's subscription's (`subscription_details`, since 2025 under `parent`).
 */
function linkedAccountId(object: Obj, key: string): string | undefined {
  const subscriptionDetails = obj(object.subscription_details) ?? obj(obj(object.parent)?.subscription_details);
  return canonicalId(obj(object.metadata)?.[key]) ?? canonicalId(obj(subscriptionDetails?.metadata)?.[key]);
}

/** The fields one event writes to its account. */
function eventFields(type: string, object: Obj, customerId: string, created: string): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = { "traits.stripe_customer_id": customerId };
  if (type === "customer.deleted") {
    fields[CUSTOMER_FIELD] = JSON.stringify({ id: customerId, deleted: true });
  } else if (type.startsWith("customer.subscription.")) {
    const id = canonicalId(object.id);
    if (id !== undefined) fields[SUBSCRIPTION_FIELD_PREFIX + id] = storedSnapshot(subscriptionSnapshot(object));
  } else if (type.startsWith("customer.")) {
    fields[CUSTOMER_FIELD] = JSON.stringify({ id: customerId, deleted: false });
  } else if (type.startsWith("invoice.")) {
    fields["traits.stripe_last_invoice_status"] = type === "invoice.paid" ? "paid" : "payment_failed";
    fields["traits.stripe_last_invoice_at"] = created;
  }
  return fields;
}

/** Why a queued call is not a usable Stripe event, or undefined when it is one. */
function eventProblem(raw: Obj): string | undefined {
  const event = obj(raw.event);
  if (!event || typeof event.id !== "string" || !event.id.startsWith("evt_")) return "not a Stripe event (no evt_ id)";
  if (!isHandledEventType(event.type)) return `event type ${String(event.type)} is not one this source handles`;
  if (typeof event.created !== "number" || !Number.isFinite(event.created)) return "event.created is not a time";
  if (!obj(obj(event.data)?.object)) return "event.data.object is missing";
  return undefined;
}

/**
 * One Stripe event as a normalized call: an account write (the id from the object's metadata, which
 * is canonical; else the `cus_` id, which the pipeline translates through the source's entity map,
 * holding the call as pending until the map has it), or a reject.
 */
export function stripeEventCall(
  raw: Obj,
  meta: { workspaceId: string; source: string; receivedAt: string },
): { call: NormalizedCall } | { reject: Omit<RejectRecord, "workspaceId" | "source"> } {
  const problem = eventProblem(raw);
  const event = obj(raw.event) as Obj;
  const messageId = typeof event?.id === "string" ? event.id : `stripe-${callContentHash(raw).slice(0, 32)}`;
  if (problem !== undefined) {
    return { reject: { messageId, code: "stripe.event_invalid", field: "event", message: problem, value: raw } };
  }
  const type = event.type as string;
  const object = obj(obj(event.data)?.object) as Obj;
  const customerId = customerIdOf(type, object);
  if (customerId === undefined) {
    return {
      reject: {
        messageId,
        code: "stripe.customer_missing",
        field: "event.data.object.customer",
        message: `a ${type} event without a customer id: it names no account`,
        value: raw,
      },
    };
  }
  const key = typeof raw.accountIdMetadataKey === "string" ? raw.accountIdMetadataKey : "account_id";
  const linked = linkedAccountId(object, key);
  const time = new Date((event.created as number) * 1000).toISOString();
  const fields = { ...eventFields(type, object, customerId, time), [OWNERSHIP_FIELD]: raw.ownsBillingFields !== false };
  return {
    call: {
      workspaceId: meta.workspaceId,
      source: meta.source,
      type: "group",
      messageId,
      time,
      fromDelivery: false,
      stamp: { t: time, m: messageId },
      receivedAt: queueTime(meta.receivedAt),
      profiles: [{ kind: "account", id: linked ?? customerId, fields }],
      memberships: [],
      event: null,
      aliases: [],
      deletion: null,
      problems: [],
      ...(linked !== undefined ? { canonicalIds: true } : {}),
    },
  };
}

/**
 * Decodes a queued message of Stripe events: each one call or one reject.
 *
 * @example
 * const { units, rejects } = decodeStripeMessage(message);
 */
export function decodeStripeMessage(message: RawQueueMessage): DecodedMessage {
  const meta = { workspaceId: message.workspaceId, source: message.source, receivedAt: message.receivedAt };
  const { calls, ...origin } = message;
  const units: DecodedCall[] = [];
  const rejects: DecodedReject[] = [];
  calls.forEach((raw, index) => {
    const decoded = stripeEventCall(raw, meta);
    if ("reject" in decoded) {
      rejects.push({ index, reject: { ...meta, ...decoded.reject } });
      return;
    }
    const call = decoded.call;
    units.push({
      index,
      origin,
      call,
      raw,
      // A Stripe event's time is its own `created`, never the delivery's: nothing to fix.
      renormalize: () => call,
      contentHash: () => callContentHash(raw),
    });
  });
  return { units, rejects };
}
