/**
 * Stripe objects and events for tests, in the shapes Stripe publishes: the `subscription`,
 * `subscription_item`, `price` and `customer` resources of github.com/stripe/openapi
 * `openapi/fixtures3.json` (fields and nesting as there, ids and amounts varied per test), wrapped in
 * the `event` envelope of the `stripe` package's types (`Stripe.Event`: id, object, api_version,
 * created, data.object, data.previous_attributes, livemode, pending_webhooks, request, type).
 * `apiShape: "basil"` moves `current_period_start/end` from the subscription onto its items, as the
 * API does since 2025-03-31.basil.
 */
import Stripe from "stripe";

/** A Stripe price (fixtures3.json `price`), recurring. */
export function price(options: {
  id: string;
  unitAmount: number;
  currency?: string;
  interval?: "day" | "week" | "month" | "year";
  intervalCount?: number;
  nickname?: string | null;
  usageType?: "licensed" | "metered";
}): Record<string, unknown> {
  return {
    active: true,
    billing_scheme: "per_unit",
    created: 1679492997,
    currency: options.currency ?? "usd",
    custom_unit_amount: null,
    id: options.id,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: options.nickname ?? null,
    object: "price",
    product: "prod_NZbFOV0OmNHxwl",
    recurring: {
      aggregate_usage: null,
      interval: options.interval ?? "month",
      interval_count: options.intervalCount ?? 1,
      usage_type: options.usageType ?? "licensed",
    },
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: "recurring",
    unit_amount: options.unitAmount,
    unit_amount_decimal: String(options.unitAmount),
  };
}

export interface SubscriptionOptions {
  id: string;
  customer: string;
  status: string;
  items: { price: Record<string, unknown>; quantity?: number }[];
  created?: number;
  periodEnd?: number;
  trialStart?: number | null;
  trialEnd?: number | null;
  cancelAtPeriodEnd?: boolean;
  metadata?: Record<string, string>;
  apiShape?: "legacy" | "basil";
}

/** A Stripe subscription (fixtures3.json `subscription`, with its `subscription_item`s). */
export function subscription(o: SubscriptionOptions): Record<string, unknown> {
  const created = o.created ?? 1714521600;
  const periodEnd = o.periodEnd ?? created + 30 * 86400;
  const basil = o.apiShape === "basil";
  const period = { current_period_start: periodEnd - 30 * 86400, current_period_end: periodEnd };
  return {
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false, liability: null },
    billing_cycle_anchor: created,
    cancel_at: null,
    cancel_at_period_end: o.cancelAtPeriodEnd ?? false,
    canceled_at: o.status === "canceled" ? periodEnd : null,
    collection_method: "charge_automatically",
    created,
    currency: (o.items[0]?.price.currency as string) ?? "usd",
    ...(basil ? {} : period),
    customer: o.customer,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discount: null,
    ended_at: o.status === "canceled" ? periodEnd : null,
    id: o.id,
    items: {
      data: o.items.map((item, i) => ({
        billing_thresholds: null,
        created,
        ...(basil ? period : {}),
        id: `si_${o.id.slice(4)}${i}`,
        metadata: {},
        object: "subscription_item",
        price: item.price,
        quantity: item.quantity ?? 1,
        subscription: o.id,
        tax_rates: [],
      })),
      has_more: false,
      object: "list",
      url: `/v1/subscription_items?subscription=${o.id}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata: o.metadata ?? {},
    next_pending_invoice_item_invoice: null,
    object: "subscription",
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: null },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: created,
    status: o.status,
    test_clock: null,
    transfer_data: null,
    trial_end: o.trialEnd ?? null,
    trial_settings: { end_behavior: { missing_payment_method: "create_invoice" } },
    trial_start: o.trialStart ?? null,
  };
}

/** A Stripe customer (fixtures3.json `customer`); `deleted` gives the deleted-customer shape. */
export function customer(o: { id: string; metadata?: Record<string, string>; deleted?: boolean }) {
  if (o.deleted) return { id: o.id, object: "customer", deleted: true };
  return {
    address: null,
    balance: 0,
    created: 1680893993,
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: "jennyrosen@example.com",
    id: o.id,
    invoice_prefix: "0759376C",
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: o.metadata ?? {},
    name: "Jenny Rosen",
    next_invoice_sequence: 1,
    object: "customer",
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

/** A Stripe invoice (fixtures3.json `invoice`, the fields this source reads), of a subscription. */
export function invoice(o: { id: string; customer: string; subscription: string; paid: boolean }) {
  return {
    id: o.id,
    object: "invoice",
    customer: o.customer,
    subscription: o.subscription,
    status: o.paid ? "paid" : "open",
    amount_due: 2000,
    amount_paid: o.paid ? 2000 : 0,
    currency: "usd",
    attempted: true,
    billing_reason: "subscription_cycle",
    livemode: false,
    metadata: {},
  };
}

/** A Stripe event (`Stripe.Event`) around an object. */
export function stripeEvent(id: string, type: string, created: number, object: Record<string, unknown>) {
  return {
    id,
    object: "event",
    api_version: "2024-06-20",
    created,
    data: { object, previous_attributes: {} },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/**
 * `customer.subscription.created` for an active monthly Pro subscription (49 a month) of the account
 * `accountId` (metadata `account_id`), created at `created`: the one event the routing tests send.
 */
export function proSubscriptionCreated(eventId: string, accountId: string, created: number) {
  return stripeEvent(
    eventId,
    "customer.subscription.created",
    created,
    subscription({
      id: `sub_${eventId}`,
      customer: `cus_${eventId}`,
      status: "active",
      items: [{ price: price({ id: "price_pro", unitAmount: 4900, nickname: "Pro" }) }],
      created,
      periodEnd: created + 30 * 86400,
      metadata: { account_id: accountId },
    }),
  );
}

/** The body and `Stripe-Signature` header of a delivery, signed by the official library. */
export function signed(event: unknown, secret: string, timestamp?: number): { body: string; header: string } {
  const body = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
  return { body, header };
}
