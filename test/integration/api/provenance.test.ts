import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account, AccountWithProvenance } from "../../../packages/core/src/api/schemas";
import { price, stripeEvent, subscription } from "../../support/stripe-fixtures";
import { type StripeStack, startStripeStack } from "../ingest/stripe-stack";
import { call, conforms, deliver } from "./api-stack";

/**
 * Field provenance through the real handlers: a Segment `group` (normalize) sets `name`, a Stripe
 * event signed by the official library (ingest, normalize) sets `mrr`; `?provenance=true` names the
 * source and the call of each field, and without the flag the answer is as it always was.
 */

let stripe: StripeStack;
beforeAll(async () => {
  stripe = await startStripeStack();
});
afterAll(async () => {
  await stripe?.close();
});

const secret = "whsec_test_provenance_secret_aaaa";
const t0 = 1714521600; // 2024-05-01T00:00:00Z
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const group = (messageId: string, timestamp: string, traits: Record<string, unknown>) => ({
  type: "group",
  messageId,
  groupId: "acme",
  userId: "u1",
  timestamp,
  traits,
});
const active = subscription({
  id: "sub_1",
  customer: "cus_1",
  items: [{ price: price({ id: "price_pro", unitAmount: 4900, nickname: "Pro" }) }],
  created: t0,
  metadata: { account_id: "acme" },
  status: "active",
});

describe("GET /v1/accounts/{accountId}?provenance=true", () => {
  it("names the source, call and time of each field: name from Segment, mrr from the Stripe snapshot", async () => {
    const { ws, key } = await stripe.workspace(secret);
    await deliver(stripe.api.config, ws, [group("seg-1", iso(t0 + 60), { name: "Acme", industry: "Retail" })]);
    const sent = await stripe.send(ws, stripeEvent("evt_prov_1", "customer.subscription.created", t0 + 120, active), {
      secret,
    });
    expect(sent.status).toBe(200);
    await stripe.settle();

    const plain = await call(stripe.api, "/v1/accounts/acme", { key });
    expect(plain.status).toBe(200);
    conforms(Account, plain.body);
    expect(plain.body).not.toHaveProperty("provenance");

    const answer = await call(stripe.api, "/v1/accounts/acme?provenance=true", { key });
    expect(answer.status).toBe(200);
    conforms(AccountWithProvenance, answer.body);
    const { provenance, ...rest } = answer.body;
    // The flag adds provenance and changes nothing else.
    expect(rest).toEqual(plain.body);
    expect(provenance.name).toEqual({
      source: "product",
      source_kind: "webhook",
      message_id: "seg-1",
      time: iso(t0 + 60),
      derived_from: null,
    });
    expect(provenance.mrr).toEqual({
      source: "stripe",
      source_kind: "stripe",
      message_id: "evt_prov_1",
      time: iso(t0 + 120),
      derived_from: "stripe.subscription.sub_1",
    });
    expect(provenance.plan_name).toMatchObject({ source: "stripe", message_id: "evt_prov_1" });
    expect(provenance["traits.stripe_customer_id"]).toMatchObject({ source: "stripe", message_id: "evt_prov_1" });
    // Stripe's snapshots are not fields of the answer, so they have no entry of their own.
    expect(Object.keys(provenance).filter((name) => name.startsWith("stripe."))).toEqual([]);

    // A later delivery of an older group call: it wins no field, so no provenance moves.
    await deliver(stripe.api.config, ws, [group("seg-0", iso(t0), { name: "Old name", mrr: 1, industry: "Retail" })]);
    const after = await call(stripe.api, "/v1/accounts/acme?provenance=true", { key });
    expect(after.body).toMatchObject({ name: "Acme", mrr: 49 });
    expect(after.body.provenance).toEqual(provenance);

    // A newer one wins name (its provenance moves) but not mrr, which Stripe owns.
    await deliver(stripe.api.config, ws, [group("seg-2", iso(t0 + 600), { name: "Acme Inc", mrr: 2 })]);
    const newer = await call(stripe.api, "/v1/accounts/acme?provenance=true", { key });
    expect(newer.body).toMatchObject({ name: "Acme Inc", mrr: 49 });
    expect(newer.body.provenance.name).toMatchObject({ source: "product", message_id: "seg-2", time: iso(t0 + 600) });
    expect(newer.body.provenance.mrr).toEqual(provenance.mrr);
    expect(newer.body.provenance.industry).toEqual(provenance.industry);
  });

  it("refuses a provenance value other than true or false; provenance=false is the plain answer", async () => {
    const { ws, key } = await stripe.workspace(secret);
    await deliver(stripe.api.config, ws, [group("seg-1", iso(t0), { name: "Acme" })]);
    const bad = await call(stripe.api, "/v1/accounts/acme?provenance=yes", { key });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("query.invalid");
    const off = await call(stripe.api, "/v1/accounts/acme?provenance=false", { key });
    expect(off.body).toEqual((await call(stripe.api, "/v1/accounts/acme", { key })).body);
  });

  it("users too: each field's source and call", async () => {
    const { ws, key } = await stripe.workspace(secret);
    await deliver(stripe.api.config, ws, [
      { type: "identify", messageId: "id-1", userId: "u1", timestamp: iso(t0), traits: { email: "ada@example.com" } },
    ]);
    const answer = await call(stripe.api, "/v1/users/u1?provenance=true", { key });
    expect(answer.status).toBe(200);
    expect(answer.body.provenance.email).toEqual({
      source: "product",
      source_kind: "webhook",
      message_id: "id-1",
      time: iso(t0),
      derived_from: null,
    });
    expect((await call(stripe.api, "/v1/users/u1", { key })).body).not.toHaveProperty("provenance");
  });
});
