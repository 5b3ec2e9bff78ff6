import { maximumMessageSizeBytes } from "../../../resources/src/definitions";

/**
 * Segment's own limits, which every Segment library already respects: 32 KB per event, 500 KB per
 * request, 2,500 events per batch. KB is 1,024 bytes here, as in Segment's libraries.
 */
export const ingestLimits = {
  maxRequestBytes: 500 * 1024,
  maxEventBytes: 32 * 1024,
  maxEventsPerBatch: 2500,
  /**
   * Arrays and objects nested deeper than this are refused before parsing. Ours, not Segment's:
   * V8's JSON.stringify (and any recursive walk) overflows the stack a few thousand levels down,
   * and no real call nests anywhere near this deep.
   */
  maxJsonDepth: 64,
} as const;

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
