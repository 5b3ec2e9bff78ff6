import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../packages/aws/src/clients";
import { addStripeSource } from "../../packages/aws/src/dynamo/stripe-sources";
import { WorkspaceStore } from "../../packages/aws/src/dynamo/workspaces";
import { type LocalStack, startLocalStack } from "../../packages/local/src/stack";
import { eventually } from "../support/eventually";
import { proSubscriptionCreated, signed } from "../support/stripe-fixtures";

/**
 * The local stack as `npm start` builds it (`startLocalStack`: DynamoDB Local, fauxqs, the poller,
 * one HTTP server routing by the one route table): a Stripe webhook to its URL reaches the Stripe
 * function, the poller's normalizer stores it, and the read API returns the account.
 */

let root: string;
let stack: LocalStack | undefined;
const logs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stripe-local-stack-"));
  stack = await startLocalStack({
    dataDir: join(root, "data"),
    port: 0,
    env: { DEV_SHARED_SECRET: "e2e-shared-secret", DEV_WRITE_KEY: "e2e-write-key", DEV_API_KEY: "e2e-api-key-0002" },
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(root, { recursive: true, force: true });
});

describe("the local stack: Stripe webhooks", () => {
  it("routes a signed Stripe event to stripe-ingest; the account is stored and readable", async () => {
    const local = stack as LocalStack;
    const signingSecret = "whsec_e2e_local_stack_aaaaaaaaaa";
    const db = createDocumentClient(local.config);
    await addStripeSource(new WorkspaceStore(db, local.config.entitiesTable), {
      workspaceId: "dev",
      sourceName: "stripe",
      signingSecret,
    });
    db.destroy();
    const t0 = 1714521600;
    const event = proSubscriptionCreated("evt_local_stack_1", "stripe-account-1", t0);
    const { body, header } = signed(event, signingSecret);
    const answer = await fetch(`${local.url}/v1/webhooks/stripe/dev`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": header },
      body,
    });
    expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { success: true } });

    const auth = { authorization: `Bearer ${local.dev.credentials.apiKey}` };
    await eventually(
      async () => {
        const response = await fetch(`${local.url}/v1/accounts/stripe-account-1`, { headers: auth });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      },
      (r) => expect(r).toMatchObject({ status: 200, body: { plan_name: "Pro", mrr: 49 } }),
      { what: "the Stripe account through the local stack" },
    );
  });
});
