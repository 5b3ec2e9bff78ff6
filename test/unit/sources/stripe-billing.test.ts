import { describe, expect, it } from "vitest";
import { materializeAccount } from "../../../packages/core/src/normalize/materialize";
import type { VersionedFields } from "../../../packages/core/src/normalize/merge";
import { idsToTranslate } from "../../../packages/core/src/pipeline/identity";
import { monthlyAmount, subscriptionSnapshot } from "../../../packages/core/src/sources/stripe/billing";
import { stripeBilling } from "../../../packages/core/src/sources/stripe/derive";
import { stripeEventCall } from "../../../packages/core/src/sources/stripe/events";
import { customer, price, stripeEvent, subscription } from "../../support/stripe-fixtures";

const meta = { workspaceId: "w1", source: "stripe", receivedAt: "2024-06-01T00:00:00.000Z" };
const monthly = price({ id: "price_m", unitAmount: 4900, nickname: "Pro" });

function queued(event: Record<string, unknown>, accountIdMetadataKey = "account_id") {
  return { messageId: event.id, accountIdMetadataKey, event };
}

/** The stored fields after these events, applied as the pipeline applies writes (last write wins). */
function fieldsAfter(events: Record<string, unknown>[]): VersionedFields {
  const fields: VersionedFields = {};
  for (const e of events) {
    const decoded = stripeEventCall(queued(e), meta);
    if (!("call" in decoded)) throw new Error(JSON.stringify(decoded.reject));
    const { call } = decoded;
    for (const [name, v] of Object.entries(call.profiles[0]?.fields ?? {})) {
      const current = fields[name];
      if (!current || current.t < call.stamp.t || (current.t === call.stamp.t && current.m < call.stamp.m)) {
        fields[name] = { v, ...call.stamp };
      }
    }
  }
  return fields;
}

const subEvent = (
  id: string,
  created: number,
  o: Parameters<typeof subscription>[0],
  type = "customer.subscription.updated",
) => stripeEvent(id, type, created, subscription(o));

describe("Stripe billing: one subscription item's monthly amount", () => {
  it("normalises price × quantity by interval and interval_count", () => {
    expect(monthlyAmount({ quantity: 3, price: monthly })).toBe(14700);
    expect(monthlyAmount({ quantity: 1, price: price({ id: "y", unitAmount: 120000, interval: "year" }) })).toBe(10000);
    const quarterly = price({ id: "q", unitAmount: 30000, interval: "month", intervalCount: 3 });
    expect(monthlyAmount({ quantity: 1, price: quarterly })).toBe(10000);
    const weekly = price({ id: "w", unitAmount: 1000, interval: "week" });
    expect(monthlyAmount({ quantity: 1, price: weekly })).toBeCloseTo((1000 * 365) / 7 / 12, 6);
  });

  it("counts metered and amount-less prices as 0", () => {
    expect(monthlyAmount({ price: price({ id: "m", unitAmount: 5, usageType: "metered" }) })).toBe(0);
    expect(monthlyAmount({ price: { ...monthly, unit_amount: null, unit_amount_decimal: null } })).toBe(0);
  });
});

describe("Stripe billing: a subscription's snapshot", () => {
  it("reads the period end from the subscription (older API) or its items (2025 API versions)", () => {
    for (const apiShape of ["legacy", "basil"] as const) {
      const s = subscriptionSnapshot(
        subscription({
          id: "sub_1",
          customer: "cus_1",
          status: "active",
          items: [{ price: monthly }],
          periodEnd: 1717200000,
          apiShape,
        }),
      );
      expect(s.period_end).toBe(1717200000);
    }
  });

  it("gives mrr in the currency's major unit, zero-decimal currencies included", () => {
    const yen = price({ id: "jpy", unitAmount: 12000, currency: "jpy", interval: "year" });
    expect(
      subscriptionSnapshot(subscription({ id: "sub_y", customer: "c", status: "active", items: [{ price: yen }] })),
    ).toMatchObject({
      mrr: 1000,
      currency: "jpy",
    });
    const yearly = price({ id: "usd_y", unitAmount: 10000, interval: "year" });
    expect(
      subscriptionSnapshot(subscription({ id: "s", customer: "c", status: "active", items: [{ price: yearly }] })).mrr,
    ).toBe(8.33);
  });

  it("names the plan by the main item's price nickname, else its id", () => {
    const addon = price({ id: "price_addon", unitAmount: 500, nickname: "Add-on" });
    const s = subscription({ id: "s", customer: "c", status: "active", items: [{ price: addon }, { price: monthly }] });
    expect(subscriptionSnapshot(s).plan_name).toBe("Pro");
    const unnamed = subscription({
      id: "s",
      customer: "c",
      status: "active",
      items: [{ price: price({ id: "price_x", unitAmount: 1 }) }],
    });
    expect(subscriptionSnapshot(unnamed).plan_name).toBe("price_x");
  });
});

describe("Stripe billing: the account's fields from all its subscriptions", () => {
  it("sums mrr over active and past_due subscriptions; trialing ones count 0", () => {
    const fields = fieldsAfter([
      subEvent("evt_1", 1714521600, {
        id: "sub_a",
        customer: "cus_1",
        status: "active",
        items: [{ price: monthly, quantity: 2 }],
      }),
      subEvent("evt_2", 1714521700, {
        id: "sub_b",
        customer: "cus_1",
        status: "past_due",
        items: [{ price: monthly }],
      }),
      subEvent("evt_3", 1714521800, {
        id: "sub_c",
        customer: "cus_1",
        status: "trialing",
        items: [{ price: monthly }],
      }),
    ]);
    expect(stripeBilling(fields)?.fields).toMatchObject({ mrr: 147, "traits.mrr_currency": "usd", is_churned: false });
  });

  it("is a trial with its dates while the main subscription trials, and renews at its period end", () => {
    const fields = fieldsAfter([
      subEvent("evt_t", 1714521600, {
        id: "sub_t",
        customer: "cus_1",
        status: "trialing",
        items: [{ price: monthly }],
        trialStart: 1714521600,
        trialEnd: 1715731200,
        periodEnd: 1715731200,
      }),
    ]);
    expect(stripeBilling(fields)?.fields).toMatchObject({
      mrr: 0,
      is_trial: true,
      trial_start_date: "2024-05-01T00:00:00.000Z",
      trial_expiry_date: "2024-05-15T00:00:00.000Z",
      next_renewal_date: "2024-05-15T00:00:00.000Z",
      plan_name: "Pro",
    });
  });

  it("is churned once every subscription ended, and a deleted customer's subscriptions all count as ended", () => {
    const active = subEvent("evt_a", 1714521600, {
      id: "sub_a",
      customer: "cus_1",
      status: "active",
      items: [{ price: monthly }],
    });
    const canceled = subEvent(
      "evt_c",
      1714608000,
      { id: "sub_a", customer: "cus_1", status: "canceled", items: [{ price: monthly }] },
      "customer.subscription.deleted",
    );
    expect(stripeBilling(fieldsAfter([canceled, active]))?.fields).toMatchObject({
      mrr: 0,
      is_churned: true,
      next_renewal_date: null,
    });
    const gone = stripeEvent("evt_d", "customer.deleted", 1714608000, customer({ id: "cus_1", deleted: true }));
    expect(stripeBilling(fieldsAfter([active, gone]))?.fields).toMatchObject({ mrr: 0, is_churned: true });
  });

  it("owns the billing fields by default; with ownership off, last write wins against a group call", () => {
    const fields = fieldsAfter([
      subEvent("evt_1", 1714521600, { id: "sub_a", customer: "cus_1", status: "active", items: [{ price: monthly }] }),
    ]);
    const older = { ...fields, mrr: { v: 10, t: "2024-04-01T00:00:00.000Z", m: "seg-1" } };
    const newer = { ...fields, mrr: { v: 10, t: "2024-06-01T00:00:00.000Z", m: "seg-2" } };
    expect(materializeAccount("w1", "acme", older).mrr).toBe(49);
    expect(materializeAccount("w1", "acme", newer).mrr).toBe(49);
    const off = { v: false, t: "2024-05-01T00:00:00.000Z", m: "evt_1" };
    expect(materializeAccount("w1", "acme", { ...older, "stripe.owns_billing_fields": off }).mrr).toBe(49);
    expect(materializeAccount("w1", "acme", { ...newer, "stripe.owns_billing_fields": off }).mrr).toBe(10);
    expect(materializeAccount("w1", "acme", older).traits).toEqual({
      mrr_currency: "usd",
      stripe_customer_id: "cus_1",
    });
  });
});

describe("Stripe events: linking and refusals", () => {
  it("links by the metadata key (canonical) or else by the cus_ id (translated through the entity map)", () => {
    const linked = stripeEventCall(
      queued(
        stripeEvent("evt_l", "customer.created", 1714521600, customer({ id: "cus_9", metadata: { acct: "acme" } })),
        "acct",
      ),
      meta,
    );
    if (!("call" in linked)) throw new Error("refused");
    expect(linked.call.profiles[0]?.id).toBe("acme");
    expect(idsToTranslate(linked.call)).toEqual([]);
    const unlinked = stripeEventCall(
      queued(stripeEvent("evt_u", "customer.created", 1714521600, customer({ id: "cus_9" }))),
      meta,
    );
    if (!("call" in unlinked)) throw new Error("refused");
    expect(unlinked.call).toMatchObject({
      messageId: "evt_u",
      time: "2024-05-01T00:00:00.000Z",
      stamp: { t: "2024-05-01T00:00:00.000Z", m: "evt_u" },
    });
    expect(idsToTranslate(unlinked.call)).toEqual([{ source: "stripe", kind: "account", externalId: "cus_9" }]);
  });

  it("refuses a call that is not a handled Stripe event, or names no customer, with a stable code", () => {
    const notEvent = stripeEventCall({ messageId: "x", event: { id: "nope" } }, meta);
    expect(notEvent).toMatchObject({ reject: { code: "stripe.event_invalid" } });
    const noCustomer = stripeEventCall(
      queued(stripeEvent("evt_n", "invoice.paid", 1714521600, { id: "in_1", object: "invoice", customer: null })),
      meta,
    );
    expect(noCustomer).toMatchObject({ reject: { code: "stripe.customer_missing", messageId: "evt_n" } });
  });
});
