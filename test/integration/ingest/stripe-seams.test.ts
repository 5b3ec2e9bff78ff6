import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import { SourceStatus } from "../../../packages/core/src/api/source-schemas";
import { customer, price, stripeEvent, subscription } from "../../support/stripe-fixtures";
import { call } from "../api/api-stack";
import { type StripeStack, startStripeStack } from "./stripe-stack";

/**
 * Where the Stripe source meets the Segment connect work: the Sources answer (webhook URL and
 * delivery counters) and the Segment commands, for a source of kind `stripe`, on the real local
 * servers.
 */

let stripe: StripeStack;
beforeAll(async () => {
  stripe = await startStripeStack();
});
afterAll(async () => {
  await stripe?.close();
});

const secret = "whsec_test_secret_seams_aaaaaaaaaa";
const t0 = 1714521600;
const event = stripeEvent(
  "evt_seam1",
  "customer.created",
  t0,
  customer({ id: "cus_s", metadata: { account_id: "a" } }),
);

async function cli(...argv: string[]) {
  const out: string[] = [];
  const code = await runCli([...argv, "--json"], { stdout: (t) => out.push(t), stderr: (t) => out.push(t) });
  return { code, out: out.join("\n") };
}

describe("GET /v1/sources for a Stripe source", () => {
  it("gives the Stripe webhook path, counts a bad Stripe-Signature as a signature failure and a verified event as signed", async () => {
    const { ws, key } = await stripe.workspace(secret);
    const before = await call(stripe.api, "/v1/sources/stripe", { key });
    expect(before.status).toBe(200);
    expect(SourceStatus.parse(before.body).webhook_path).toBe(`/v1/webhooks/stripe/${ws}`);

    expect((await stripe.send(ws, event, { secret: "whsec_not_the_endpoint_secret" })).status).toBe(401);
    expect((await stripe.send(ws, event, { secret })).status).toBe(200);
    const after = SourceStatus.parse((await call(stripe.api, "/v1/sources/stripe", { key })).body);
    expect(after.delivery).toMatchObject({
      calls_accepted_today: 1,
      signature_failures_today: 1,
      refused_today_by_code: { "stripe.signature_invalid": 1 },
    });
    expect(after.delivery.last_signed_delivery_at).not.toBeNull();
    await stripe.settle();
  });
});

describe("Segment commands on a Stripe source", () => {
  it("refuse it with a code and leave its signing secret as it was", async () => {
    const { ws } = await stripe.workspace(secret);
    const connect = await cli(
      "segment",
      "connect",
      "--workspace",
      ws,
      "--source",
      "stripe",
      "--source-id",
      "src_1",
      "--token",
      "sgp_test",
      "--base-url",
      "http://127.0.0.1:9",
      "--api-url",
      "http://127.0.0.1:9",
      "--dry-run",
    );
    expect(connect.code).not.toBe(0);
    expect(connect.out).toContain("source.kind_mismatch");
    const rotate = await cli("workspaces", "rotate-secret", "--id", ws, "--source", "stripe");
    expect(rotate.code).not.toBe(0);
    expect(rotate.out).toContain("source.kind_mismatch");
    const bearer = await cli("workspaces", "bearer-token", "--id", ws, "--source", "stripe");
    expect(bearer.code).not.toBe(0);
    expect(bearer.out).toContain("source.kind_mismatch");
    // The Stripe source still verifies with its one signing secret.
    const source = await stripe.api.workspaces.getSource(ws, "stripe");
    expect(source?.secrets.map((s) => s.value)).toEqual([secret]);
    expect(source?.bearerTokenHash).toBeUndefined();
    expect((await stripe.send(ws, event, { secret })).status).toBe(200);
    await stripe.settle();
  });
});

describe("the bucket index after Stripe events", () => {
  const day = 86400;
  const pro = price({ id: "price_pro", unitAmount: 4900, nickname: "Pro" });
  const sub = (status: string, periodEnd: number) =>
    subscription({
      id: "sub_b",
      customer: "cus_b",
      status,
      items: [{ price: pro }],
      created: t0,
      trialStart: t0,
      trialEnd: t0 + 14 * day,
      periodEnd,
      metadata: { account_id: "bucketed" },
    });
  const listed = async (key: string, bucket: string) =>
    ((await call(stripe.api, `/v1/accounts?bucket=${bucket}`, { key })).body.items as { account_id: string }[]).map(
      (a) => a.account_id,
    );

  it("lists the account in the bucket its Stripe billing gives it: trial, then subscribed, then churned", async () => {
    const { ws, key } = await stripe.workspace(secret);
    const deliver = async (event: unknown) => {
      expect((await stripe.send(ws, event, { secret })).status).toBe(200);
      await stripe.settle();
    };
    await deliver(stripeEvent("evt_b1", "customer.subscription.created", t0, sub("trialing", t0 + 14 * day)));
    expect(await listed(key, "trial")).toEqual(["bucketed"]);
    await deliver(stripeEvent("evt_b2", "customer.subscription.updated", t0 + 14 * day, sub("active", t0 + 44 * day)));
    expect(await listed(key, "trial")).toEqual([]);
    expect(await listed(key, "subscribed")).toEqual(["bucketed"]);
    await deliver(
      stripeEvent("evt_b3", "customer.subscription.deleted", t0 + 20 * day, sub("canceled", t0 + 44 * day)),
    );
    expect(await listed(key, "subscribed")).toEqual([]);
    expect(await listed(key, "churned")).toEqual(["bucketed"]);
  });
});
