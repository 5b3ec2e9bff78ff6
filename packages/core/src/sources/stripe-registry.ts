/**
 * The Stripe function's sources (`functions/stripe-ingest.ts`): only the Stripe webhook, whose
 * receive verifies and re-fetches with the `stripe` SDK. Kept apart from `registry.ts` so that the
 * Segment webhook and tracking API function, the route table and the API never bundle the SDK.
 */
import type { FunctionSources } from "./registry";
import { registerSource } from "./source";
import { stripeWebhook } from "./stripe";

export const stripeFunctionSources: FunctionSources = [registerSource(stripeWebhook)];
