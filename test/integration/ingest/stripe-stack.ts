import { addStripeSource } from "../../../packages/aws/src/dynamo/stripe-sources";
import { createIngestDependencies, createIngestHandler } from "../../../packages/aws/src/ingest/handler";
import { stripeClient } from "../../../packages/aws/src/stripe/backfill";
import { stripeFunctionSources } from "../../../packages/core/src/sources/stripe-registry";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { signed } from "../../support/stripe-fixtures";
import { type ApiStack, normalize, startApiStack, workspaceWithKey } from "../api/api-stack";
import { drainQueue, post } from "./ingest-stack";

/**
 * The Stripe source's tests on the real local servers: the read API stack (tables, queues, the
 * real API handler) and the real ingest handler over the same tables and queue.
 */
export interface StripeStack {
  api: ApiStack;
  ingest: HandlerServer;
  /** A fresh workspace with an API key and a Stripe source `stripe` with this signing secret. */
  workspace(signingSecret: string, accountIdMetadataKey?: string): Promise<{ ws: string; key: string }>;
  /** POSTs one event signed by the official library, as Stripe would. */
  send(
    ws: string,
    event: unknown,
    options: { secret: string; timestamp?: number; path?: string },
  ): ReturnType<typeof post>;
  /** Runs everything queued through the real normalizer; how many messages there were. */
  settle(): Promise<number>;
  close(): Promise<void>;
}

export async function startStripeStack(options: { stripeApiBase?: string } = {}): Promise<StripeStack> {
  const api = await startApiStack();
  // Stripe's webhooks are served by their own function (functions/stripe-ingest.ts).
  const dependencies = createIngestDependencies(
    { ...api.config, credentialCacheSeconds: 0 },
    { sources: stripeFunctionSources, caller: "stripe-ingest" },
  );
  const { stripeApiBase } = options;
  if (stripeApiBase) dependencies.stripeClient = (apiKey) => stripeClient(apiKey, stripeApiBase);
  const ingest = await startHandlerServer([{ prefix: "/v1", handler: createIngestHandler(dependencies) }]);
  return {
    api,
    ingest,
    async workspace(signingSecret, accountIdMetadataKey) {
      const { ws, key } = await workspaceWithKey(api);
      await addStripeSource(api.workspaces, {
        workspaceId: ws,
        sourceName: "stripe",
        signingSecret,
        accountIdMetadataKey,
      });
      return { ws, key };
    },
    send(ws, event, options) {
      const { body, header } = signed(event, options.secret, options.timestamp);
      return post(`${ingest.url}${options.path ?? `/v1/webhooks/stripe/${ws}`}`, body, { "stripe-signature": header });
    },
    async settle() {
      const received = await drainQueue(api.sqs, api.config.rawQueueUrl, 0);
      if (received.length > 0)
        await normalize(
          api.config,
          received.map((r) => r.message),
        );
      return received.length;
    },
    async close() {
      await ingest.close();
      await api.close();
    },
  };
}
