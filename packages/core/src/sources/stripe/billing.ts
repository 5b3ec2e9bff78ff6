/**
 * Stripe's billing objects read into what the account keeps of them (docs/sources/stripe.md). Pure.
 *
 * A subscription event carries one subscription, while `mrr` and `is_churned` are about all of a
 * customer's subscriptions. So each event stores a snapshot of the one object it carries, under its
 * own field (`stripe.subscription.<sub_id>`, `stripe.customer`), last-write-wins by the event's
 * `created` time like every field; the account's billing fields are derived from all snapshots
 * stored (`derive.ts`). A redelivered or late event then changes nothing, whatever the order.
 */

/** What the account keeps of one subscription. Amounts are in the currency's major unit, per month. */
export interface SubscriptionSnapshot {
  status: string;
  /** Sum of the items' price × quantity normalised to a month (see {@link monthlyAmount}). */
  mrr: number;
  currency: string | null;
  plan_name: string | null;
  /** Unix seconds, as Stripe sends them, or null. */
  created: number | null;
  trial_start: number | null;
  trial_end: number | null;
  /** When the current period ends (the subscription's, or the earliest of its items'). */
  period_end: number | null;
  cancel_at_period_end: boolean;
}

// Stripe's currencies without minor unit, and those with three decimals (docs.stripe.com/currencies).
const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

/** Digits of the currency's minor unit: 0 (JPY), 3 (KWD) or 2. */
export function currencyDecimals(currency: string): number {
  const c = currency.toLowerCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

// Months per interval unit; a day is a 365th of a year, a week 7 days.
const MONTHS_PER: Record<string, number> = { day: 12 / 365, week: (7 * 12) / 365, month: 1, year: 12 };

/**
 * One subscription item's amount per month, in minor units: unit amount × quantity, divided by the
 * months its interval spans (`interval_count` of `interval`). Metered prices and prices with no unit
 * amount (tiered) count 0: their amount is known only from invoices.
 *
 * @example
 * monthlyAmount({ quantity: 2, price: { unit_amount: 12000, recurring: { interval: "year", interval_count: 1 } } }); // 2000
 */
export function monthlyAmount(item: Obj): number {
  const price = obj(item.price) ?? obj(item.plan);
  if (!price) return 0;
  const recurring = obj(price.recurring) ?? price;
  if (recurring.usage_type === "metered") return 0;
  const decimal = typeof price.unit_amount_decimal === "string" ? Number(price.unit_amount_decimal) : Number.NaN;
  const unit = Number.isFinite(decimal) ? decimal : (num(price.unit_amount) ?? num(price.amount));
  const interval = str(recurring.interval);
  const count = num(recurring.interval_count) ?? 1;
  if (unit === null || interval === null || !(interval in MONTHS_PER) || count <= 0) return 0;
  const quantity = num(item.quantity) ?? 1;
  return (unit * quantity) / ((MONTHS_PER[interval] as number) * count);
}

function itemsOf(subscription: Obj): Obj[] {
  const data = obj(subscription.items)?.data;
  const items: Obj[] = [];
  if (Array.isArray(data)) for (const item of data) if (obj(item)) items.push(item as Obj);
  return items;
}

/** The name of a subscription item's plan: the price's nickname, its product's name (when expanded), its lookup key, its id. */
function planName(item: Obj | undefined): string | null {
  const price = obj(item?.price) ?? obj(item?.plan);
  if (!price) return null;
  return str(price.nickname) ?? str(obj(price.product)?.name) ?? str(price.lookup_key) ?? str(price.id);
}

/** A major-unit amount rounded to the currency's precision (so sums carry no float noise). */
export function roundToCurrency(major: number, currency: string | null): number {
  const scale = 10 ** (currency === null ? 2 : currencyDecimals(currency));
  return Math.round(major * scale) / scale;
}

/** A minor-unit amount (Stripe's `unit_amount`) in the major unit, at the currency's precision. */
export function toMajorUnit(minor: number, currency: string | null): number {
  return roundToCurrency(minor / 10 ** (currency === null ? 2 : currencyDecimals(currency)), currency);
}

/**
 * The snapshot of a Stripe subscription object, in either API shape of the billing period:
 * `current_period_end` on the subscription (API versions before 2025-03-31), or on each item (since).
 *
 * @example
 * subscriptionSnapshot(event.data.object).mrr; // 49 for one $49/month item
 */
export function subscriptionSnapshot(subscription: Obj): SubscriptionSnapshot {
  const items = itemsOf(subscription);
  const amounts = items.map((item) => monthlyAmount(item));
  const mainIndex = amounts.reduce((best, amount, i) => (amount > (amounts[best] ?? 0) ? i : best), 0);
  const currency = str(subscription.currency)?.toLowerCase() ?? null;
  const itemEnds = items.flatMap((item) => num(item.current_period_end) ?? []);
  const periodEnd = num(subscription.current_period_end) ?? (itemEnds.length > 0 ? Math.min(...itemEnds) : null);
  return {
    status: str(subscription.status) ?? "unknown",
    mrr: toMajorUnit(
      amounts.reduce((sum, a) => sum + a, 0),
      currency,
    ),
    currency,
    plan_name: planName(items[mainIndex]),
    created: num(subscription.created),
    trial_start: num(subscription.trial_start),
    trial_end: num(subscription.trial_end),
    period_end: periodEnd,
    cancel_at_period_end: subscription.cancel_at_period_end === true,
  };
}

/** A snapshot as stored: a field value is a JSON scalar, so the snapshot is kept as JSON text. */
export function storedSnapshot(snapshot: SubscriptionSnapshot): string {
  return JSON.stringify(snapshot);
}

/** Reads a stored snapshot back, or undefined for a value that is not one (an older rule, a hand edit). */
export function readSnapshot(value: unknown): SubscriptionSnapshot | undefined {
  let parsed: unknown;
  try {
    parsed = typeof value === "string" ? JSON.parse(value) : undefined;
  } catch {
    return undefined;
  }
  const o = obj(parsed);
  if (!o || typeof o.status !== "string" || typeof o.mrr !== "number") return undefined;
  return {
    status: o.status,
    mrr: o.mrr,
    currency: str(o.currency),
    plan_name: str(o.plan_name),
    created: num(o.created),
    trial_start: num(o.trial_start),
    trial_end: num(o.trial_end),
    period_end: num(o.period_end),
    cancel_at_period_end: o.cancel_at_period_end === true,
  };
}
