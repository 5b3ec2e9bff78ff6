import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addStripeSource } from "../../../packages/aws/src/dynamo/stripe-sources";
import { localHttpHandlers } from "../../../packages/local/src/handlers";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { localRoutes } from "../../../packages/local/src/routes";
import { proSubscriptionCreated, signed } from "../../support/stripe-fixtures";
import { type ApiStack, call, normalize, startApiStack, workspaceWithKey } from "../api/api-stack";
import { drainQueue, post } from "./ingest-stack";

/**
 * Stripe's webhooks reach their own function (functions/stripe-ingest.ts) through the local
 * stack's router, as API Gateway routes them on AWS: the event is verified and queued by it, the
 * real normalizer stores it, and the read API on the same server returns it. The Segment webhook
 * and tracking API function does not serve Stripe's paths at all.
 */

let stack: ApiStack;
let server: HandlerServer;
let ingestOnly: HandlerServer;
beforeAll(async () => {
  stack = await startApiStack();
  const handlers = localHttpHandlers({ ...stack.config, credentialCacheSeconds: 0 });
  server = await startHandlerServer(localRoutes(handlers));
  ingestOnly = await startHandlerServer([{ prefix: "/v1", handler: handlers.ingest }]);
});
afterAll(async () => {
  await ingestOnly?.close();
  await server?.close();
  await stack?.close();
});

const secret = "whsec_local_router_secret_aaaaaaa";
const t0 = 1714521600;

describe("Stripe webhooks through the local router", () => {
  it("are verified and queued by stripe-ingest, normalized, and read back", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    await addStripeSource(stack.workspaces, { workspaceId: ws, sourceName: "stripe", signingSecret: secret });
    const event = proSubscriptionCreated("evt_router_1", "acme", t0);
    const { body, header } = signed(event, secret);

    // The Segment/tracking function knows no such route: only stripe-ingest carries Stripe's receive.
    const refused = await post(`${ingestOnly.url}/v1/webhooks/stripe/${ws}`, body, { "stripe-signature": header });
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe("route.not_found");
    expect(await drainQueue(stack.sqs, stack.config.rawQueueUrl, 0)).toEqual([]);

    const answer = await post(`${server.url}/v1/webhooks/stripe/${ws}`, body, { "stripe-signature": header });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    const received = await drainQueue(stack.sqs, stack.config.rawQueueUrl, 0);
    expect(received.map((r) => [r.message.route, r.message.workspaceId, r.message.source])).toEqual([
      ["stripe", ws, "stripe"],
    ]);
    await normalize(
      stack.config,
      received.map((r) => r.message),
    );
    const account = await call(stack, "/v1/accounts/acme", { key });
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ workspace_id: ws, plan_name: "Pro", mrr: 49 });

    // The delivery was counted on the source, by stripe-ingest.
    const status = await fetch(`${server.url}/v1/sources/stripe`, { headers: { authorization: `Bearer ${key}` } });
    expect(status.status).toBe(200);
    const { delivery } = (await status.json()) as {
      delivery: { calls_accepted_today: number; signature_failures_today: number };
    };
    expect(delivery).toMatchObject({ calls_accepted_today: 1, signature_failures_today: 0 });
  });
});
