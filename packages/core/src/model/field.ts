/**
 * What the account and user shapes are built from: the stored time, the custom value (spec 3.4),
 * and the known-field table entry that says which Segment traits fill a field. Imports nothing but
 * zod, so the browser Console can take these types too.
 */
import { z } from "zod";

/** A stored time: ISO-8601 UTC with milliseconds. */
export const Time = z.iso.datetime({ offset: false });
export const NullableTime = Time.nullable();

/** A custom trait or property value (spec 3.4). */
export const Value = z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.array(z.number())]);
export type Value = z.infer<typeof Value>;

/** The type a known field must have. `time` is a zoned ISO-8601 string, stored in UTC. */
export type KnownFieldType = "string" | "number" | "boolean" | "time";

/**
 * One known field of a profile: `from[0]` is the canonical trait name, the rest are aliases in
 * priority order. `Name` is a property of the shape the field belongs to.
 */
export interface KnownField<Name extends string = string> {
  readonly name: Name;
  readonly type: KnownFieldType;
  readonly from: readonly string[];
}

/** The value a known field of this type holds in a shape (null when absent). */
export type KnownFieldValue<T extends KnownFieldType> =
  | (T extends "number" ? number : T extends "boolean" ? boolean : string)
  | null;

/** A stored profile's fields as the shape rules read them: only each field's value matters here. */
export type StoredFields = Readonly<Record<string, { readonly v: unknown } | undefined>>;

/**
 * The stored value of a field when it has the type the field needs, else null (a value of the wrong
 * type, from an older rule or a hand edit, reads as absent rather than breaking the shape's types).
 *
 * @example
 * storedValue({ mrr: { v: 99 } }, "mrr", "number"); // 99
 */
export function storedValue<T extends KnownFieldType>(fields: StoredFields, name: string, type: T): KnownFieldValue<T> {
  const v = Object.hasOwn(fields, name) ? fields[name]?.v : null;
  const wanted = type === "time" ? "string" : type;
  return (typeof v === wanted ? v : null) as KnownFieldValue<T>;
}
