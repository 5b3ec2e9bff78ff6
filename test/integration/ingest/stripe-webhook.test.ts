import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateStripeSigningSecret, setStripeOwnership } from "../../../packages/aws/src/dynamo/stripe-sources";
import { runCli } from "../../../packages/cli/src/main";
import { customer, invoice, price, signed, stripeEvent, subscription } from "../../support/stripe-fixtures";
import { type ApiStack, call, deliver, workspaceWithKey } from "../api/api-stack";
import { post } from "./ingest-stack";
import { type StripeStack, startStripeStack } from "./stripe-stack";

/**
 * The Stripe source end to end on the real local servers: events signed by the official `stripe`
 * library's `generateTestHeaderString` POSTed to the real ingest handler, the queued messages run
 * through the real normalize handler, the account read back through the real read API.
 */

let stripe: StripeStack;
let stack: ApiStack;
beforeAll(async () => {
  stripe = await startStripeStack();
  stack = stripe.api;
});
afterAll(async () => {
  await stripe?.close();
});

const secretA = "whsec_test_secret_aaaaaaaaaaaaaaaa";
const secretB = "whsec_test_secret_bbbbbbbbbbbbbbbb";
const pro = price({ id: "price_pro", unitAmount: 4900, nickname: "Pro" });
const business = price({ id: "price_business", unitAmount: 9900, nickname: "Business" });
const yearly = price({ id: "price_pro_yearly", unitAmount: 120000, interval: "year", nickname: "Pro yearly" });
const day = 86400;
const t0 = 1714521600; // 2024-05-01T00:00:00Z
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

const stripeWorkspace = (accountIdMetadataKey?: string) => stripe.workspace(secretA, accountIdMetadataKey);

/** POSTs one event as Stripe would (signed with the first secret unless told). */
const send = (ws: string, event: unknown, options: { secret?: string; timestamp?: number; path?: string } = {}) =>
  stripe.send(ws, event, { ...options, secret: options.secret ?? secretA });

const settle = () => stripe.settle();

async function account(ws: string, key: string, id: string) {
  const answer = await call(stack, `/v1/accounts/${id}`, { key });
  expect(answer.status).toBe(200);
  expect(answer.body.workspace_id).toBe(ws);
  return answer.body;
}

const sub = (o: Partial<Parameters<typeof subscription>[0]> & { status: string }) =>
  subscription({
    id: "sub_1",
    customer: "cus_1",
    items: [{ price: pro }],
    created: t0,
    metadata: { account_id: "acme" },
    ...o,
  });

/** A trial that converts: customer, subscription created trialing, then active after 14 days. */
const trialHistory = () => [
  stripeEvent("evt_c1", "customer.created", t0, customer({ id: "cus_1", metadata: { account_id: "acme" } })),
  stripeEvent(
    "evt_s1",
    "customer.subscription.created",
    t0 + 1,
    sub({ status: "trialing", trialStart: t0, trialEnd: t0 + 14 * day, periodEnd: t0 + 14 * day }),
  ),
  stripeEvent(
    "evt_s2",
    "customer.subscription.trial_will_end",
    t0 + 11 * day,
    sub({ status: "trialing", trialStart: t0, trialEnd: t0 + 14 * day, periodEnd: t0 + 14 * day }),
  ),
  stripeEvent(
    "evt_s3",
    "customer.subscription.updated",
    t0 + 14 * day,
    sub({ status: "active", trialStart: t0, trialEnd: t0 + 14 * day, periodEnd: t0 + 44 * day }),
  ),
  stripeEvent("evt_i1", "invoice.paid", t0 + 14 * day + 5, {
    ...invoice({ id: "in_1", customer: "cus_1", subscription: "sub_1", paid: true }),
    subscription_details: { metadata: { account_id: "acme" } },
  }),
];

async function sendAll(ws: string, events: unknown[]) {
  for (const event of events) expect((await send(ws, event)).status).toBe(200);
  await settle();
}

describe("Stripe webhook: billing fields", () => {
  it("a trial that converts: trialing with its dates, then active with its mrr and renewal", async () => {
    const { ws, key } = await stripeWorkspace();
    const [created, trialing, ...rest] = trialHistory();
    await sendAll(ws, [created, trialing]);
    expect(await account(ws, key, "acme")).toMatchObject({
      is_trial: true,
      mrr: 0,
      plan_name: "Pro",
      trial_start_date: iso(t0),
      trial_expiry_date: iso(t0 + 14 * day),
      bucket: "trial",
      traits: { stripe_customer_id: "cus_1", mrr_currency: "usd" },
    });
    await sendAll(ws, rest);
    expect(await account(ws, key, "acme")).toMatchObject({
      is_trial: false,
      is_churned: false,
      mrr: 49,
      plan_name: "Pro",
      next_renewal_date: iso(t0 + 44 * day),
      bucket: "subscribed",
      traits: { stripe_customer_id: "cus_1", mrr_currency: "usd", stripe_last_invoice_status: "paid" },
    });
  });

  it("a plan change, then a quantity change, on the 2025 API shape (period end on the items)", async () => {
    const { ws, key } = await stripeWorkspace();
    const basil = { apiShape: "basil" as const, periodEnd: t0 + 30 * day };
    await sendAll(ws, [
      stripeEvent("evt_p1", "customer.subscription.created", t0, sub({ status: "active", ...basil })),
    ]);
    expect(await account(ws, key, "acme")).toMatchObject({
      mrr: 49,
      plan_name: "Pro",
      next_renewal_date: iso(t0 + 30 * day),
    });
    await sendAll(ws, [
      stripeEvent(
        "evt_p2",
        "customer.subscription.updated",
        t0 + day,
        sub({ status: "active", items: [{ price: business }], ...basil }),
      ),
    ]);
    expect(await account(ws, key, "acme")).toMatchObject({ mrr: 99, plan_name: "Business" });
    await sendAll(ws, [
      stripeEvent(
        "evt_p3",
        "customer.subscription.updated",
        t0 + 2 * day,
        sub({ status: "active", items: [{ price: business, quantity: 5 }], ...basil }),
      ),
    ]);
    expect(await account(ws, key, "acme")).toMatchObject({ mrr: 495, plan_name: "Business" });
  });

  it("a yearly plan counts a twelfth a month and renews at the year's end", async () => {
    const { ws, key } = await stripeWorkspace();
    await sendAll(ws, [
      stripeEvent(
        "evt_y1",
        "customer.subscription.created",
        t0,
        sub({ status: "active", items: [{ price: yearly }], periodEnd: t0 + 365 * day }),
      ),
    ]);
    expect(await account(ws, key, "acme")).toMatchObject({
      mrr: 100,
      plan_name: "Pro yearly",
      next_renewal_date: iso(t0 + 365 * day),
    });
  });

  it("a cancellation churns the account; a deleted customer too", async () => {
    const { ws, key } = await stripeWorkspace();
    await sendAll(ws, [
      stripeEvent("evt_x1", "customer.subscription.created", t0, sub({ status: "active" })),
      stripeEvent("evt_x2", "customer.subscription.deleted", t0 + 40 * day, sub({ status: "canceled" })),
    ]);
    expect(await account(ws, key, "acme")).toMatchObject({
      mrr: 0,
      is_churned: true,
      next_renewal_date: null,
      bucket: "churned",
    });

    const other = await stripeWorkspace();
    await sendAll(other.ws, [
      stripeEvent("evt_d1", "customer.subscription.created", t0, sub({ status: "active" })),
      stripeEvent("evt_d2", "customer.deleted", t0 + 3 * day, {
        ...customer({ id: "cus_1", metadata: { account_id: "acme" } }),
        deleted: true,
      }),
    ]);
    expect(await account(other.ws, other.key, "acme")).toMatchObject({ mrr: 0, is_churned: true, bucket: "churned" });
  });

  it("a payment failure: past_due still counts towards mrr, and the failed invoice is recorded", async () => {
    const { ws, key } = await stripeWorkspace();
    await sendAll(ws, [
      stripeEvent("evt_f1", "customer.subscription.created", t0, sub({ status: "active" })),
      stripeEvent("evt_f2", "invoice.payment_failed", t0 + 30 * day, {
        ...invoice({ id: "in_2", customer: "cus_1", subscription: "sub_1", paid: false }),
        subscription_details: { metadata: { account_id: "acme" } },
      }),
      stripeEvent("evt_f3", "customer.subscription.updated", t0 + 30 * day + 1, sub({ status: "past_due" })),
    ]);
    expect(await account(ws, key, "acme")).toMatchObject({
      mrr: 49,
      is_churned: false,
      traits: { stripe_last_invoice_status: "payment_failed", stripe_last_invoice_at: iso(t0 + 30 * day) },
    });
  });

  it("events delivered out of order and twice give the account they give in order", async () => {
    const inOrder = await stripeWorkspace();
    await sendAll(inOrder.ws, trialHistory());
    const shuffled = await stripeWorkspace();
    const history = trialHistory();
    await sendAll(shuffled.ws, [...history].reverse());
    await sendAll(shuffled.ws, [history[1], history[3], history[0]]);
    const expected = { ...(await account(inOrder.ws, inOrder.key, "acme")), workspace_id: shuffled.ws };
    expect(await account(shuffled.ws, shuffled.key, "acme")).toEqual(expected);
  });

  it("owns the billing fields: a group call's mrr sent after Stripe's does not overwrite it; with ownership off it does", async () => {
    const group = (messageId: string, timestamp: string) => ({
      type: "group",
      messageId,
      groupId: "acme",
      timestamp,
      traits: { name: "Acme", mrr: 10 },
    });
    const owned = await stripeWorkspace();
    await sendAll(owned.ws, [stripeEvent("evt_g1", "customer.subscription.created", t0, sub({ status: "active" }))]);
    await deliver(stack.config, owned.ws, [group("seg-old", iso(t0 - day)), group("seg-new", iso(t0 + day))]);
    expect(await account(owned.ws, owned.key, "acme")).toMatchObject({ name: "Acme", mrr: 49 });

    const shared = await stripeWorkspace();
    await setStripeOwnership(stack.workspaces, shared.ws, "stripe", false);
    await sendAll(shared.ws, [stripeEvent("evt_g2", "customer.subscription.created", t0, sub({ status: "active" }))]);
    await deliver(stack.config, shared.ws, [group("seg-old", iso(t0 - day))]);
    expect(await account(shared.ws, shared.key, "acme")).toMatchObject({ name: "Acme", mrr: 49 });
    await deliver(stack.config, shared.ws, [group("seg-new", iso(t0 + day))]);
    expect(await account(shared.ws, shared.key, "acme")).toMatchObject({ mrr: 10 });
  });
});

describe("Stripe webhook: verification", () => {
  const event = stripeEvent("evt_v1", "customer.subscription.created", t0, sub({ status: "active" }));

  it("refuses a stale timestamp, a wrong secret and a missing header with 401 and a code; nothing is queued", async () => {
    const { ws, key } = await stripeWorkspace();
    const stale = await send(ws, event, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale).toMatchObject({ status: 401, body: { code: "stripe.signature_expired" } });
    const wrong = await send(ws, event, { secret: secretB });
    expect(wrong).toMatchObject({ status: 401, body: { code: "stripe.signature_invalid" } });
    const tampered = signed(event, secretA);
    const altered = await post(`${stripe.ingest.url}/v1/webhooks/stripe/${ws}`, tampered.body.replace("4900", "1"), {
      "stripe-signature": tampered.header,
    });
    expect(altered).toMatchObject({ status: 401, body: { code: "stripe.signature_invalid" } });
    const noId = await send(ws, { ...event, id: "not-an-event" });
    expect(noId).toMatchObject({ status: 400, body: { code: "stripe.event_invalid" } });
    const missing = await post(`${stripe.ingest.url}/v1/webhooks/stripe/${ws}`, JSON.stringify(event));
    expect(missing).toMatchObject({ status: 401, body: { code: "stripe.signature_missing" } });
    expect(await settle()).toBe(0);
    expect((await call(stack, "/v1/accounts/acme", { key })).status).toBe(404);
  });

  it("accepts either of two secrets while one is rotated, and only the new one once the old is retired", async () => {
    const { ws } = await stripeWorkspace();
    await rotateStripeSigningSecret(stack.workspaces, ws, "stripe", secretB);
    expect((await send(ws, event, { secret: secretA })).status).toBe(200);
    expect((await send(ws, event, { secret: secretB })).status).toBe(200);
    await stack.workspaces.retireSecret(ws, "stripe");
    expect((await send(ws, event, { secret: secretA })).body.code).toBe("stripe.signature_invalid");
    expect((await send(ws, event, { secret: secretB })).status).toBe(200);
    await settle();
  });

  it("acknowledges an event type it does not handle without queueing it", async () => {
    const { ws } = await stripeWorkspace();
    const other = stripeEvent("evt_o1", "charge.succeeded", t0, { id: "ch_1", object: "charge", customer: "cus_1" });
    expect(await send(ws, other)).toMatchObject({ status: 200 });
    expect(await settle()).toBe(0);
  });

  it("serves only Stripe sources on its route, and Segment's route refuses a Stripe source", async () => {
    const { ws } = await stripeWorkspace();
    expect((await send(ws, event, { path: `/v1/webhooks/stripe/${ws}/product` })).status).toBe(404);
    const segment = await post(
      `${stripe.ingest.url}/v1/webhooks/segment/${ws}/stripe`,
      JSON.stringify({ type: "track" }),
      {
        "x-signature": "0".repeat(40),
      },
    );
    expect(segment.status).toBe(404);
  });
});

describe("Stripe CLI", () => {
  async function cli(...argv: string[]) {
    const out: string[] = [];
    const code = await runCli([...argv, "--json"], { stdout: (t) => out.push(t), stderr: (t) => out.push(t) });
    return { code, out: out.join("\n") };
  }
  const event = stripeEvent(
    "evt_cli",
    "customer.created",
    t0,
    customer({ id: "cus_c", metadata: { account_id: "acme" } }),
  );

  it("adds a Stripe source, rotates its signing secret and sets its ownership, never printing a secret", async () => {
    const { ws } = await workspaceWithKey(stack);
    const added = await cli(
      "stripe",
      "add-source",
      "--id",
      ws,
      "--signing-secret",
      secretA,
      "--base-url",
      "https://in.example",
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({
      source: "stripe",
      kind: "stripe",
      activeSecrets: 1,
      ownsBillingFields: true,
      webhookUrl: `https://in.example/v1/webhooks/stripe/${ws}`,
    });
    expect((await send(ws, event)).status).toBe(200);
    expect((await cli("stripe", "rotate-secret", "--id", ws, "--signing-secret", secretB)).code).toBe(0);
    expect((await cli("workspaces", "retire-secret", "--id", ws, "--source", "stripe")).code).toBe(0);
    expect((await send(ws, event, { secret: secretA })).status).toBe(401);
    expect((await send(ws, event, { secret: secretB })).status).toBe(200);
    const off = await cli("stripe", "ownership", "--id", ws, "--set", "off");
    expect(JSON.parse(off.out)).toMatchObject({ ownsBillingFields: false, activeSecrets: 1 });
    const refused = await cli("stripe", "add-source", "--id", ws, "--signing-secret", "sk_live_not_a_signing_secret");
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain("credential.invalid");
    for (const output of [added.out, off.out, refused.out]) {
      expect(output).not.toContain(secretA);
      expect(output).not.toContain("sk_live_not_a_signing_secret");
    }
    await settle();
  });
});

describe("Stripe webhook: linking", () => {
  it("an unmapped customer waits as pending and is released when its entity map row is uploaded", async () => {
    const { ws, key } = await stripeWorkspace();
    const unlinked = subscription({
      id: "sub_9",
      customer: "cus_9",
      status: "active",
      items: [{ price: pro }],
      created: t0,
    });
    await sendAll(ws, [stripeEvent("evt_u1", "customer.subscription.created", t0, unlinked)]);
    const pending = await call(stack, "/v1/pending", { key });
    expect(pending.body.items).toEqual([expect.objectContaining({ message_id: "evt_u1", source: "stripe" })]);
    const upload = await call(stack, "/v1/entity-maps", {
      key,
      method: "PUT",
      contentType: "text/csv",
      body: "source,kind,external_id,canonical_id\nstripe,account,cus_9,globex\n",
    });
    expect(upload).toMatchObject({ status: 200, body: { released: 1 } });
    await settle();
    expect(await account(ws, key, "globex")).toMatchObject({
      mrr: 49,
      plan_name: "Pro",
      traits: { stripe_customer_id: "cus_9" },
    });
    expect((await call(stack, "/v1/pending", { key })).body.items).toEqual([]);
  });

  it("reads the account id from the metadata key the source names", async () => {
    const { ws, key } = await stripeWorkspace("product_account");
    const linked = subscription({
      id: "sub_m",
      customer: "cus_m",
      status: "active",
      items: [{ price: pro }],
      created: t0,
      metadata: { product_account: "initech", account_id: "not-this" },
    });
    await sendAll(ws, [stripeEvent("evt_m1", "customer.subscription.created", t0, linked)]);
    expect(await account(ws, key, "initech")).toMatchObject({ mrr: 49 });
  });
});
