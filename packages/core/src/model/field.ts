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

export {
  type KnownField,
  type KnownFieldType,
  type KnownFieldValue,
  type StoredFields,
  storedValue,
} from "./known-field";
