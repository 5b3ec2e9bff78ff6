/**
 * The account's billing fields derived from the Stripe snapshots it stores (`billing.ts`): the one
 * place that looks at all of a customer's subscriptions at once. Pure.
 */
import {
  compareStamps,
  type FieldOrigin,
  type FieldVersion,
  mergeFields,
  type Stamp,
  type VersionedFields,
} from "../../normalize/merge";
import type { FieldValue } from "../../normalize/value";
import { readSnapshot, roundToCurrency, type SubscriptionSnapshot } from "./billing";

/** Field of one subscription's snapshot: `stripe.subscription.<sub_id>`. */
export const SUBSCRIPTION_FIELD_PREFIX = "stripe.subscription.";
/** Field of the customer's snapshot (`{ id, deleted }`). */
export const CUSTOMER_FIELD = "stripe.customer";
/**
 * Whether the Stripe source owns the billing fields (its setting, carried by each of its writes):
 * absent or true, Segment `group` traits do not overwrite what Stripe says; false, the newest write
 * wins, whichever source made it.
 */
export const OWNERSHIP_FIELD = "stripe.owns_billing_fields";

/** Statuses whose price counts towards `mrr`. */
const PAYING = new Set(["active", "past_due"]);
/** Statuses of a subscription that is over for good. */
const ENDED = new Set(["canceled", "incomplete_expired"]);

function isoOf(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

function customerDeleted(stored: string): boolean {
  try {
    return (JSON.parse(stored) as { deleted?: unknown } | null)?.deleted === true;
  } catch {
    return false;
  }
}

/** The subscription that names the plan: the newest one not ended, else the newest one. */
function mainSubscription(subs: readonly SubscriptionSnapshot[]): SubscriptionSnapshot | undefined {
  const newestFirst = [...subs].sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
  return newestFirst.find((s) => !ENDED.has(s.status)) ?? newestFirst[0];
}

/**
 * The billing fields the Stripe snapshots say, with the stamp of the newest snapshot and its origin
 * (its source, and the snapshot field as `d`: the provenance of every derived field), or undefined
 * when the account has none. `mrr` sums the paying (active, past_due) subscriptions in the main
 * subscription's currency (a customer pays in one currency in Stripe); trialing, paused, unpaid and
 * ended ones count 0, and discounts are not subtracted (list price × quantity).
 *
 * @example
 * stripeBilling(fields)?.fields.mrr; // 98 for two $49/month subscriptions
 */
export function stripeBilling(
  fields: VersionedFields,
): { fields: Record<string, FieldValue>; stamp: Stamp; origin: FieldOrigin } | undefined {
  const subs: SubscriptionSnapshot[] = [];
  let stamp: Stamp | undefined;
  let origin: FieldOrigin = { s: "unknown" };
  const newer = (s: FieldVersion, name: string) => {
    if (stamp !== undefined && compareStamps(s, stamp) <= 0) return;
    stamp = { t: s.t, m: s.m };
    origin = { s: s.s ?? "unknown", ...(s.k === undefined ? {} : { k: s.k }), d: name };
  };
  for (const [name, version] of Object.entries(fields)) {
    if (!name.startsWith(SUBSCRIPTION_FIELD_PREFIX)) continue;
    const snapshot = readSnapshot(version.v);
    if (!snapshot) continue;
    subs.push(snapshot);
    newer(version, name);
  }
  const customer = Object.hasOwn(fields, CUSTOMER_FIELD) ? fields[CUSTOMER_FIELD] : undefined;
  const deleted = typeof customer?.v === "string" && customerDeleted(customer.v);
  if (customer && deleted) newer(customer, CUSTOMER_FIELD);
  if (stamp === undefined) return undefined;
  // A deleted customer's subscriptions are all cancelled by Stripe, whatever their last event said.
  const status = (s: SubscriptionSnapshot) => (deleted ? "canceled" : s.status);
  const main = mainSubscription(subs);
  const currency = main?.currency ?? null;
  const mrr = subs.filter((s) => PAYING.has(status(s)) && s.currency === currency).reduce((sum, s) => sum + s.mrr, 0);
  const mainLive = main !== undefined && !ENDED.has(status(main));
  const trialing = mainLive && status(main) === "trialing";
  const renews = mainLive && !main.cancel_at_period_end && status(main) !== "paused";
  const derived: Record<string, FieldValue> = {
    mrr: roundToCurrency(mrr, currency),
    "traits.mrr_currency": currency,
    is_churned: subs.length > 0 && subs.every((s) => ENDED.has(status(s))),
  };
  if (main) {
    derived.plan_name = main.plan_name;
    derived.is_trial = trialing;
    derived.trial_start_date = isoOf(main.trial_start);
    derived.trial_expiry_date = isoOf(main.trial_end);
    derived.next_renewal_date = renews ? isoOf(main.period_end) : null;
  }
  return { fields: derived, stamp, origin };
}

/**
 * The stored fields with the Stripe-derived billing fields applied, stamped with the newest
 * snapshot's stamp (and its origin, for provenance). While the Stripe source owns them (its default) they replace what other sources
 * sent; with ownership off they are one more write under the same last-write-wins rule as any call,
 * so a `group` call newer than Stripe's newest event wins and an older one does not.
 *
 * @example
 * materializeAccount(ws, id, withStripeBilling(item.f));
 */
export function withStripeBilling(fields: VersionedFields): VersionedFields {
  const billing = stripeBilling(fields);
  if (!billing) return fields;
  const owned = !Object.hasOwn(fields, OWNERSHIP_FIELD) || fields[OWNERSHIP_FIELD]?.v !== false;
  if (!owned) return mergeFields(fields, billing.fields, billing.stamp, billing.origin).fields;
  const derived = Object.entries(billing.fields).map(
    ([name, v]) => [name, { v, ...billing.stamp, ...billing.origin }] as const,
  );
  return { ...fields, ...Object.fromEntries(derived) };
}
