import { maximumMessageSizeBytes } from "../../../resources/src/definitions";

/**
 * Limits that hold on every ingest route. KB is 1,024 bytes here, as in Segment's libraries.
 */
export const ingestLimits = {
  /** Segment's own per-event limit, everywhere: 32 KB of the call's JSON. */
  maxEventBytes: 32 * 1024,
  /**
   * Arrays and objects nested deeper than this are refused before parsing. Ours, not Segment's:
   * V8's JSON.stringify (and any recursive walk) overflows the stack a few thousand levels down,
   * and no real call nests anywhere near this deep.
   */
  maxJsonDepth: 64,
} as const;

/** The size and count limits of one kind of ingest request. */
export interface RequestLimits {
  /** Body bytes, as received and again after any Content-Encoding is undone. */
  readonly maxRequestBytes: number;
  readonly maxEventsPerBatch: number;
}

/**
 * Per-route limits. The tracking API keeps Segment's HTTP API limits (500 KB a request, 2,500
 * events a batch), which every Segment library already respects. Webhook deliveries take what
 * Segment sends: an Actions batch of up to 4,000 events (1,000 by default), at ~0.9 KB an event
 * several MB, up to 4 MiB: what API Gateway (10 MB) and Lambda's synchronous payload (6 MB, the
 * body inside the event JSON with its escaping and headers) carry.
 */
export const requestLimits = {
  tracking: { maxRequestBytes: 500 * 1024, maxEventsPerBatch: 2500 },
  webhook: { maxRequestBytes: 4 * 1024 * 1024, maxEventsPerBatch: 4000 },
} as const satisfies Record<"tracking" | "webhook", RequestLimits>;

/**
 * Room left in each SQS message for its attributes, which count towards the message size: four
 * attributes of at most ~90 bytes each (name, type `String`, a value of at most 64 characters).
 */
export const messageAttributeHeadroomBytes = 1024;

/** The largest raw queue message body ingest writes. */
export const maxRawMessageBodyBytes = maximumMessageSizeBytes - messageAttributeHeadroomBytes;

/** Byte length of an event as the limit measures it: its JSON serialisation, UTF-8. */
export function eventBytes(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event) ?? "", "utf8");
}

/** A byte count as the answers name it: "500 KB (512000 bytes)", "5 MiB (5242880 bytes)". */
export function describeBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB (${bytes} bytes)`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KB (${bytes} bytes)`;
  return `${bytes} bytes`;
}
