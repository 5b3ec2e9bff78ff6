import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setStripeApiKey } from "../../../packages/aws/src/dynamo/stripe-sources";
import { runCli } from "../../../packages/cli/src/main";
import { price, stripeEvent, subscription } from "../../support/stripe-fixtures";
import { call } from "../api/api-stack";
import { type StripeStack, startStripeStack } from "./stripe-stack";

/**
 * With a restricted API key on the source, a verified webhook is a cue: ingest fetches the current
 * object with the official SDK (pointed at a local Stripe-shaped server) and queues that, so an old
 * event delivered late cannot bring back an old state. Without a key: event-time last-write-wins.
 */

const secret = "whsec_refetch_test_secret_0000000";
const apiKey = "rk_test_refetch0000";
const t0 = 1714521600;
const pro = price({ id: "price_pro", unitAmount: 4900, nickname: "Pro" });
const sub = (status: string, quantity: number) =>
  subscription({
    id: "sub_r1",
    customer: "cus_r1",
    status,
    items: [{ price: pro, quantity }],
    created: t0,
    metadata: { account_id: "acme" },
  });

/** The server's current objects by path; a missing one is Stripe's 404. */
const current = new Map<string, unknown>();
let requests: string[] = [];
let server: Server;
let apiBase = "";
let stack: StripeStack;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push(`${req.method} ${url.pathname}`);
    const body = current.get(url.pathname);
    const status = req.headers.authorization !== `Bearer ${apiKey}` ? 401 : body ? 200 : 404;
    res.writeHead(status, { "content-type": "application/json", "request-id": `req_${requests.length}` });
    res.end(
      JSON.stringify(
        status === 200
          ? body
          : { error: { type: "invalid_request_error", code: "resource_missing", message: "No such object" } },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stack = await startStripeStack({ stripeApiBase: apiBase });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function mrrOf(key: string) {
  const answer = await call(stack.api, "/v1/accounts/acme", { key });
  expect(answer.status).toBe(200);
  return answer.body;
}

describe("Stripe webhooks with an API key re-fetch the current object", () => {
  it("an old subscription event after a newer state: the account shows the server's current state", async () => {
    const { ws, key } = await stack.workspace(secret);
    await setStripeApiKey(stack.api.workspaces, ws, "stripe", apiKey);
    current.set("/v1/subscriptions/sub_r1", sub("active", 5));
    requests = [];
    // The newer event arrives first, then an old one (quantity 2) late.
    expect(
      (
        await stack.send(ws, stripeEvent("evt_r2", "customer.subscription.updated", t0 + 200, sub("active", 5)), {
          secret,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await stack.send(ws, stripeEvent("evt_r1", "customer.subscription.updated", t0 + 100, sub("active", 2)), {
          secret,
        })
      ).status,
    ).toBe(200);
    await stack.settle();
    expect(requests).toEqual(["GET /v1/subscriptions/sub_r1", "GET /v1/subscriptions/sub_r1"]);
    expect((await mrrOf(key)).mrr).toBe(245);
    // Only an old event, while the server has moved on: still the server's state.
    current.set("/v1/subscriptions/sub_r1", sub("canceled", 5));
    expect(
      (await stack.send(ws, stripeEvent("evt_r0", "customer.subscription.created", t0, sub("trialing", 1)), { secret }))
        .status,
    ).toBe(200);
    await stack.settle();
    const account = await mrrOf(key);
    expect(account.is_churned).toBe(true);
    expect(account.mrr).toBe(0);
  });

  it("a subscription Stripe answers 404 for counts as ended; a customer 404 as deleted", async () => {
    const { ws, key } = await stack.workspace(secret);
    await setStripeApiKey(stack.api.workspaces, ws, "stripe", apiKey);
    current.delete("/v1/subscriptions/sub_r1");
    const gone = { ...sub("active", 3), id: "sub_r1" };
    expect(
      (await stack.send(ws, stripeEvent("evt_g1", "customer.subscription.updated", t0, gone), { secret })).status,
    ).toBe(200);
    await stack.settle();
    expect((await mrrOf(key)).is_churned).toBe(true);
  });

  it("a fetch Stripe refuses is a 503 (Stripe retries), nothing queued", async () => {
    const { ws } = await stack.workspace(secret);
    await setStripeApiKey(stack.api.workspaces, ws, "stripe", "rk_test_wrongkey000");
    current.set("/v1/subscriptions/sub_r1", sub("active", 5));
    const answer = await stack.send(ws, stripeEvent("evt_f1", "customer.subscription.updated", t0, sub("active", 1)), {
      secret,
    });
    expect(answer.status).toBe(503);
    expect(await stack.settle()).toBe(0);
  });

  it("without a key: no fetch, event-time last-write-wins as before", async () => {
    const { ws, key } = await stack.workspace(secret);
    current.set("/v1/subscriptions/sub_r1", sub("canceled", 5));
    requests = [];
    await stack.send(ws, stripeEvent("evt_n2", "customer.subscription.updated", t0 + 200, sub("active", 5)), {
      secret,
    });
    await stack.send(ws, stripeEvent("evt_n1", "customer.subscription.updated", t0 + 100, sub("active", 2)), {
      secret,
    });
    await stack.settle();
    expect(requests).toEqual([]);
    expect((await mrrOf(key)).mrr).toBe(245);
  });

  it("stripe set-api-key reads the key from STRIPE_API_KEY, never prints it, and --clear removes it", async () => {
    const { ws } = await stack.workspace(secret);
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    const before = process.env.STRIPE_API_KEY;
    try {
      delete process.env.STRIPE_API_KEY;
      expect(await runCli(["stripe", "set-api-key", "--id", ws, "--json"], io)).not.toBe(0);
      process.env.STRIPE_API_KEY = apiKey;
      expect(await runCli(["stripe", "set-api-key", "--id", ws, "--json"], io)).toBe(0);
      expect((await stack.api.workspaces.getSource(ws, "stripe"))?.stripe?.apiKey).toBe(apiKey);
      expect(await runCli(["stripe", "set-api-key", "--id", ws, "--clear", "--json"], io)).toBe(0);
      expect((await stack.api.workspaces.getSource(ws, "stripe"))?.stripe?.apiKey).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env.STRIPE_API_KEY;
      else process.env.STRIPE_API_KEY = before;
    }
    expect(out.join("\n")).not.toContain(apiKey);
  });
});
