/**
 * Each source's decoder, by kind: the normalize half of the registry (`registry.ts` lists the
 * sources; this says how each kind's queued messages are decoded). Apart from the adapters so the
 * ingest function never loads the normalize rules; the type makes a registered kind without a
 * decoder a compile error.
 */
import type { SourceKind } from "./kinds";
import { decodeSegmentMessage } from "./segment/decode";
import type { SourceDecoder } from "./source";
import { decodeStripeMessage } from "./stripe/events";

export const decoders: Readonly<Record<SourceKind, SourceDecoder>> = {
  webhook: decodeSegmentMessage,
  tracking: decodeSegmentMessage,
  stripe: decodeStripeMessage,
};
