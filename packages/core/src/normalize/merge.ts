/**
 * Last-write-wins per field (spec 3.1). Every stored field carries the stamp of the write that set
 * it, so a late, older call cannot overwrite a newer value, and replays change nothing.
 */
import type { SourceKind } from "../sources/kinds";
import { canonicalJson } from "./message-id";
import type { FieldValue } from "./value";

/** The version of a write: event time, then messageId to order writes made at the same instant. */
export interface Stamp {
  /** Event time, ISO-8601 UTC with milliseconds (fixed width, so string order is time order). */
  t: string;
  /** messageId of the call that wrote. */
  m: string;
}

/**
 * Where a write came from: the source (by name) and its kind. Provenance only: it never orders
 * writes. Fields stored before it was recorded have none (read as source "unknown").
 */
export interface FieldOrigin {
  /** The name of the workspace source the call came in by (`product`, `stripe`). */
  s: string;
  /** That source's kind (`webhook`, `tracking`, `stripe`). */
  k?: SourceKind;
  /** Set on read only, on a derived field: the stored field it was derived from (`stripe.subscription.sub_…`). */
  d?: string;
}

/**
 * A stored field: its value (`null` is a tombstone: cleared), the stamp of the write that set it,
 * and (since provenance was recorded) that write's origin.
 */
export interface FieldVersion extends Stamp, Partial<FieldOrigin> {
  v: FieldValue;
}

/** A profile's stored fields, by canonical field name or `traits.<key>`. */
export type VersionedFields = Record<string, FieldVersion>;

/** The outcome of {@link mergeFields}. */
export interface MergeResult {
  fields: VersionedFields;
  /** Whether any field changed: when false, the adapter need not write. */
  changed: boolean;
  /** The fields that changed, in write order. */
  changedFields: string[];
}

/**
 * Orders two stamps: by time, then messageId. A total order, so every replica picks the same winner.
 *
 * @example
 * compareStamps({ t: "2024-05-01T00:00:00.000Z", m: "b" }, { t: "2024-05-01T00:00:00.000Z", m: "a" }); // 1
 */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.m !== b.m) return a.m < b.m ? -1 : 1;
  return 0;
}

/**
 * Applies one call's writes to stored fields: a write replaces a stored field only when its stamp is
 * greater. Applying any set of writes in any order, any number of times, gives the same map
 * (commutative and idempotent). `null` is kept as a versioned tombstone, so an older write cannot
 * bring a cleared value back. The input map is not modified. `origin` is stored with each field the
 * write wins (provenance); it takes no part in which write wins.
 *
 * @example
 * const stored = { plan_name: { v: "pro", t: "2024-05-02T00:00:00.000Z", m: "m2" } };
 * mergeFields(stored, { plan_name: "free", mrr: 10 }, { t: "2024-05-01T00:00:00.000Z", m: "m1" });
 * // plan_name stays "pro" (newer); mrr is added: { fields: {…}, changed: true, changedFields: ["mrr"] }
 */
export function mergeFields(
  stored: VersionedFields,
  writes: Readonly<Record<string, FieldValue>>,
  stamp: Stamp,
  origin?: FieldOrigin,
): MergeResult {
  // A Map, then Object.fromEntries: define semantics, so no field name can reach a prototype.
  const next = new Map(Object.entries(stored));
  const changedFields: string[] = [];
  for (const [name, value] of Object.entries(writes)) {
    const incoming: FieldVersion = { v: value, t: stamp.t, m: stamp.m, ...origin };
    const current = next.get(name);
    if (current !== undefined && !wins(incoming, current)) continue;
    next.set(name, incoming);
    changedFields.push(name);
  }
  return { fields: Object.fromEntries(next), changed: changedFields.length > 0, changedFields };
}

function wins(incoming: FieldVersion, current: FieldVersion): boolean {
  const order = compareStamps(incoming, current);
  if (order !== 0) return order > 0;
  // Same stamp: a replay (same value, no change), or two different calls sharing a messageId. Ordering
  // by value keeps even that case independent of delivery order.
  return canonicalJson(incoming.v) > canonicalJson(current.v);
}
