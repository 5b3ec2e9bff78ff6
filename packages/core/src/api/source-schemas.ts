import { z } from "zod";
import { pageOf } from "./schemas";

/**
 * The bodies of `GET /v1/sources` and `GET /v1/sources/{name}`: each source of the caller's
 * workspace with where Segment delivers to it and its delivery counters
 * (`packages/core/src/sources/delivery-status.ts`). Never a secret or a hash.
 */

const Time = z.iso.datetime({ offset: false });

export const DeliveryStatus = z.object({
  last_delivery_at: Time.nullable().describe("The last request whose calls were queued (webhook or tracking API)"),
  last_signed_delivery_at: Time.nullable().describe(
    "The last accepted webhook delivery (signed: Segment's shared secret, Stripe's signing secret)",
  ),
  last_refused_at: Time.nullable(),
  calls_accepted_today: z.number().int().describe("Calls queued since 00:00 UTC"),
  calls_accepted_last_hour: z.number().int().describe("Calls queued in the last hour (in five-minute steps)"),
  signature_failures_today: z
    .number()
    .int()
    .describe("Webhook requests refused for a missing or wrong X-Signature (or Stripe-Signature)"),
  refused_today_by_code: z
    .record(z.string(), z.number().int())
    .describe("Refused requests since 00:00 UTC, by error code"),
  rejected_calls_today: z.number().int().describe("Calls refused on their own inside accepted requests"),
});
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const SourceStatus = z.object({
  name: z.string(),
  webhook_path: z
    .string()
    .describe(
      "The webhook path the source is delivered to (Segment's, or Stripe's for a Stripe source), relative to the API's base URL",
    ),
  active_secrets: z.number().int(),
  bearer_token_required: z.boolean(),
  created_at: Time,
  delivery: DeliveryStatus,
});
export type SourceStatus = z.infer<typeof SourceStatus>;

export const SourceStatusPage = pageOf(SourceStatus);
