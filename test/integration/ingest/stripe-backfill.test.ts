import { existsSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import { customer, price, stripeEvent, subscription } from "../../support/stripe-fixtures";
import { call } from "../api/api-stack";
import { type StripeStack, startStripeStack } from "./stripe-stack";

/**
 * `stripe backfill` runs the official SDK (auto-pagination, its own retries) against a local
 * server that serves Stripe-shaped list pages (`{ object: "list", data, has_more, url }`, objects in
 * the shapes of Stripe's published fixtures) two objects a page, with a 429 once; the accounts it
 * makes must equal those the same final objects make when sent as webhooks.
 */

const secret = "whsec_backfill_test_secret_000000";
const t0 = 1714521600;
const day = 86400;
const pro = price({ id: "price_pro", unitAmount: 4900, nickname: "Pro" });
const yearly = price({ id: "price_y", unitAmount: 120000, interval: "year", nickname: "Pro yearly" });

const customers = ["acme", "globex", "initech"].map((account, i) =>
  customer({ id: `cus_b${i}`, metadata: { account_id: account } }),
);
const meta = (account: string) => ({ account_id: account });
const subscriptions = [
  subscription({
    id: "sub_b0",
    customer: "cus_b0",
    status: "active",
    items: [{ price: pro, quantity: 3 }],
    created: t0,
    metadata: meta("acme"),
  }),
  subscription({
    id: "sub_b1",
    customer: "cus_b1",
    status: "trialing",
    items: [{ price: pro }],
    created: t0,
    trialStart: t0,
    trialEnd: t0 + 14 * day,
    metadata: meta("globex"),
  }),
  subscription({
    id: "sub_b2",
    customer: "cus_b2",
    status: "canceled",
    items: [{ price: pro }],
    created: t0,
    metadata: meta("initech"),
  }),
  subscription({
    id: "sub_b3",
    customer: "cus_b0",
    status: "active",
    items: [{ price: yearly }],
    created: t0 + day,
    periodEnd: t0 + 366 * day,
    metadata: meta("acme"),
    apiShape: "basil",
  }),
  subscription({
    id: "sub_b4",
    customer: "cus_b2",
    status: "incomplete_expired",
    items: [{ price: pro }],
    created: t0 + 2 * day,
    metadata: meta("initech"),
  }),
];

interface FakeStripe {
  url: string;
  requests: string[];
  /** Answer this request number (1-based) with a 500 Stripe says not to retry: an interruption. */
  failAt?: number;
  close(): Promise<void>;
}

/** Stripe's list endpoints as the SDK reads them, two objects a page, the first subscriptions request rate-limited. */
async function fakeStripe(): Promise<FakeStripe> {
  const state: FakeStripe = { url: "", requests: [], close: async () => {} };
  let limited = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    state.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        "content-type": "application/json",
        "request-id": `req_${state.requests.length}`,
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== "Bearer rk_test_backfill") {
      send(401, { error: { type: "invalid_request_error", message: "Invalid API Key provided" } });
      return;
    }
    if (state.failAt === state.requests.length) {
      send(500, { error: { type: "api_error", message: "interrupted" } }, { "stripe-should-retry": "false" });
      return;
    }
    const all =
      url.pathname === "/v1/customers" ? customers : url.pathname === "/v1/subscriptions" ? subscriptions : undefined;
    if (!all) {
      send(404, { error: { type: "invalid_request_error", message: "Unrecognized request URL" } });
      return;
    }
    if (url.pathname === "/v1/subscriptions" && !limited) {
      limited = true;
      send(
        429,
        { error: { type: "invalid_request_error", code: "rate_limit", message: "Too many requests" } },
        { "stripe-should-retry": "true" },
      );
      return;
    }
    const after = url.searchParams.get("starting_after");
    const start = after ? all.findIndex((o) => o.id === after) + 1 : 0;
    const data = all.slice(start, start + 2);
    send(200, { object: "list", data, has_more: start + 2 < all.length, url: url.pathname });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

let stack: StripeStack;
let stripe: FakeStripe;
beforeAll(async () => {
  stack = await startStripeStack();
});
afterAll(async () => {
  await stripe?.close();
  await stack?.close();
});

async function accountsOf(ws: string, key: string) {
  const out: Record<string, unknown> = {};
  for (const id of ["acme", "globex", "initech"]) {
    const { status, body } = await call(stack.api, `/v1/accounts/${id}`, { key });
    expect(status).toBe(200);
    const { workspace_id: workspace, ...fields } = body;
    expect(workspace).toBe(ws);
    out[id] = fields;
  }
  return out;
}

async function cli(...argv: string[]) {
  const out: string[] = [];
  const code = await runCli([...argv, "--json"], { stdout: (t) => out.push(t), stderr: (t) => out.push(t) });
  return { code, out: out.join("\n") };
}

/** The backfill command line for a workspace, against the fake Stripe, with a fresh state file. */
function backfill(ws: string) {
  const stateFile = join(mkdtempSync(join(tmpdir(), "stripe-backfill-")), "state.json");
  const args = ["stripe", "backfill", "--workspace", ws, "--api-key", "rk_test_backfill", "--api-base", stripe.url];
  return { args: [...args, "--state", stateFile], stateFile };
}

describe("stripe backfill", () => {
  it("pulls every page through the SDK (a 429 retried) and makes the accounts the same history makes as webhooks", async () => {
    stripe = await fakeStripe();
    const viaWebhooks = await stack.workspace(secret);
    const events = [
      ...customers.map((c, i) => stripeEvent(`evt_wc${i}`, "customer.created", t0 + i, c)),
      ...subscriptions.map((s, i) => stripeEvent(`evt_ws${i}`, "customer.subscription.updated", t0 + 10 * day + i, s)),
    ];
    for (const event of events) {
      expect((await stack.send(viaWebhooks.ws, event, { secret })).status).toBe(200);
    }
    await stack.settle();

    const viaBackfill = await stack.workspace(secret);
    const { args, stateFile } = backfill(viaBackfill.ws);
    const run = await cli(...args);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ customers: 3, subscriptions: 5, resumed: false });
    expect(existsSync(stateFile)).toBe(false);
    // Two a page: customers 2 pages, subscriptions 3 pages plus the rate-limited try.
    expect(stripe.requests.filter((r) => r.startsWith("GET /v1/customers"))).toHaveLength(2);
    expect(stripe.requests.filter((r) => r.startsWith("GET /v1/subscriptions"))).toHaveLength(4);
    expect(stripe.requests).toContain("GET /v1/subscriptions?limit=100&status=all&starting_after=sub_b1");
    await stack.settle();

    const expected = await accountsOf(viaWebhooks.ws, viaWebhooks.key);
    expect(expected).toMatchObject({ acme: { mrr: 247 }, globex: { is_trial: true }, initech: { is_churned: true } });
    expect(await accountsOf(viaBackfill.ws, viaBackfill.key)).toEqual(expected);
  });

  it("resumes an interrupted run after the last page it queued", async () => {
    await stripe?.close();
    stripe = await fakeStripe();
    stripe.failAt = 4; // customers 1, customers 2, subscriptions (429), subscriptions: fails
    const { ws, key } = await stack.workspace(secret);
    const { args, stateFile } = backfill(ws);
    const first = await cli(...args);
    expect(first.code).not.toBe(0);
    expect(existsSync(stateFile)).toBe(true);
    expect((await cli(...args)).out).toContain("--resume");
    stripe.failAt = undefined;
    const resumed = await cli(...args, "--resume");
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.out)).toMatchObject({ customers: 3, subscriptions: 5, resumed: true });
    // The customers were not pulled again.
    expect(stripe.requests.filter((r) => r.startsWith("GET /v1/customers"))).toHaveLength(2);
    await stack.settle();
    expect(await accountsOf(ws, key)).toMatchObject({
      acme: { mrr: 247 },
      globex: { is_trial: true },
      initech: { is_churned: true },
    });
  });
});
