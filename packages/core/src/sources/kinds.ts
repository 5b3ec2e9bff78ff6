/**
 * The kinds of source a queued message can name (`RawQueueMessage.route`), as plain data: the
 * queue's envelope, stored pending calls and the normalize function read them without loading any
 * source adapter (the Stripe adapter carries the Stripe SDK). `registry.ts` checks at compile time
 * that this list and the registered sources' kinds are the same.
 */
export const sourceKinds = ["webhook", "tracking", "stripe"] as const;

/** The kind of a source: what a queued message carries as `route`. */
export type SourceKind = (typeof sourceKinds)[number];

/** The kind a queued message without `route` has: messages from before it existed are webhook deliveries. */
export const defaultSourceKind: SourceKind = "webhook";

/** True for the kind of a registered source. */
export function isSourceKind(kind: unknown): kind is SourceKind {
  return typeof kind === "string" && (sourceKinds as readonly string[]).includes(kind);
}
