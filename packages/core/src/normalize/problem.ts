/**
 * Data-quality problems found while normalizing one call (spec 3.6). A problem never stops the rest
 * of the call from being stored: the offending value is left out and the problem is kept, with the
 * value, so the adapter can store it as a reject the customer can see and fix.
 */

/** Why a value was left out. `trait.*` is a profile trait, `property.*` an event property. */
export type ProblemCode =
  | "trait.nested_object"
  | "trait.invalid_array"
  | "trait.invalid_number"
  | "trait.invalid_type"
  | "trait.forbidden_key"
  | "trait.too_large"
  | "property.nested_object"
  | "property.invalid_array"
  | "property.invalid_number"
  | "property.invalid_type"
  | "property.forbidden_key"
  | "property.too_large"
  | "time.no_zone"
  | "time.invalid"
  | "time.future"
  | "time.too_old"
  | "id.invalid"
  /** An identify without a userId: nothing of it can be kept (its trait names are recorded). */
  | "identify.anonymous";

/** One value that could not be stored as sent. `field` is its path in the call, e.g. `traits.address`. */
export interface Problem {
  code: ProblemCode;
  field: string;
  message: string;
  value: unknown;
}

/** Where a custom value came from; decides the problem code prefix and the field path. */
export type ValueOrigin = "trait" | "property";

/** The path prefix of a custom value in the Segment call: `traits.` or `properties.`. */
export function originPath(origin: ValueOrigin, key: string): string {
  return `${origin === "trait" ? "traits" : "properties"}.${key}`;
}
