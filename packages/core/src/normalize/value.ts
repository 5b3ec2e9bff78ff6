/**
 * Typing of custom traits and event properties (spec 3.4): what may be stored, and the problem
 * recorded for what may not.
 */
import { originPath, type Problem, type ValueOrigin } from "./problem";
import { readTime } from "./time";

/** A value that may be stored in a custom trait or property. Times are stored as UTC ISO strings. */
export type Value = string | number | boolean | string[] | number[];

/** A value written to a field; `null` clears the field (spec 3.1). */
export type FieldValue = Value | null;

/** Largest string kept, in UTF-8 bytes: keeps profile and event items far from DynamoDB's 400 KB. */
export const MAX_STRING_BYTES = 8 * 1024;

/** Most custom traits one profile write may carry. */
export const MAX_CUSTOM_TRAITS = 200;

// Keys that could reach an object prototype if ever assigned. "" is refused too: it names nothing.
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype", ""]);

/** Whether a customer-supplied key is refused outright (prototype keys and the empty key). */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** The result of typing one value: the value to store, or the problem that kept it out. */
export type Typed = { ok: true; value: FieldValue } | { ok: false; problem: Problem };

/**
 * Types one custom trait or property value. Strings that are zoned ISO-8601 times are stored in UTC;
 * a date-looking string without a zone stays a plain string (it is a valid string).
 *
 * @example
 * typeCustomValue("trait", "seats", 12);          // { ok: true, value: 12 }
 * typeCustomValue("trait", "address", { a: 1 });  // { ok: false, problem: { code: "trait.nested_object", … } }
 */
export function typeCustomValue(origin: ValueOrigin, key: string, raw: unknown): Typed {
  const field = originPath(origin, key);
  const fail = (reason: string, message: string): Typed => ({
    ok: false,
    problem: { code: `${origin}.${reason}` as Problem["code"], field, message, value: raw },
  });
  if (raw === null) return { ok: true, value: null };
  if (typeof raw === "string") {
    if (isTooLarge(raw)) return fail("too_large", `strings are limited to ${MAX_STRING_BYTES} bytes`);
    const time = readTime(raw);
    return { ok: true, value: time.kind === "zoned" ? time.iso : raw };
  }
  if (typeof raw === "number") {
    return Number.isFinite(raw) ? { ok: true, value: raw } : fail("invalid_number", "numbers must be finite");
  }
  if (typeof raw === "boolean") return { ok: true, value: raw };
  if (Array.isArray(raw)) return typeArray(raw, fail);
  if (typeof raw === "object") return fail("nested_object", "nested objects are not allowed");
  return fail("invalid_type", `a ${typeof raw} cannot be stored`);
}

function typeArray(items: unknown[], fail: (reason: string, message: string) => Typed): Typed {
  if (items.every((item) => typeof item === "string")) {
    if (items.some((item) => isTooLarge(item))) {
      return fail("too_large", `strings are limited to ${MAX_STRING_BYTES} bytes`);
    }
    // Items are kept as sent, times included: an array is a list of labels, not a time series.
    return { ok: true, value: [...items] };
  }
  if (items.every((item) => typeof item === "number")) {
    if (!items.every(Number.isFinite)) return fail("invalid_number", "numbers must be finite");
    return { ok: true, value: [...items] };
  }
  return fail("invalid_array", "arrays must hold only strings or only numbers");
}

/** Whether a string is over the stored size limit (measured in UTF-8 bytes, as DynamoDB counts). */
export function isTooLarge(text: string): boolean {
  // Cheap bound first: a UTF-8 character is at most 3 bytes per UTF-16 unit.
  return text.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(text, "utf8") > MAX_STRING_BYTES;
}

/** Options of {@link typeCustomValues}. */
export interface CustomValueOptions {
  /** Keys handled elsewhere (known fields and their aliases, membership keys): not custom values. */
  skip?: ReadonlySet<string>;
  /** Most values kept; the rest are left out with one `*.too_large` problem naming them. */
  maxKeys?: number;
}

/**
 * Types every own key of a traits or properties object. Returns entries rather than an object so
 * the caller builds its output with define semantics (`Object.fromEntries`), which can never set a
 * prototype, whatever the key.
 *
 * @example
 * const { entries, problems } = typeCustomValues("property", { plan: "pro", items: [{ sku: 1 }] });
 * // entries: [["plan", "pro"]]; problems: [{ code: "property.invalid_array", field: "properties.items", … }]
 */
export function typeCustomValues(
  origin: ValueOrigin,
  source: Record<string, unknown>,
  options: CustomValueOptions = {},
): { entries: [string, FieldValue][]; problems: Problem[] } {
  const entries: [string, FieldValue][] = [];
  const problems: Problem[] = [];
  const overLimit: string[] = [];
  // Object.keys lists own keys only, so an inherited `constructor` is never read.
  for (const key of Object.keys(source)) {
    if (options.skip?.has(key)) continue;
    const raw = source[key];
    if (raw === undefined) continue;
    if (isForbiddenKey(key)) {
      problems.push(forbiddenKeyProblem(origin, key, raw));
      continue;
    }
    const typed = typeCustomValue(origin, key, raw);
    if (!typed.ok) problems.push(typed.problem);
    else if (options.maxKeys !== undefined && entries.length >= options.maxKeys) overLimit.push(key);
    else entries.push([key, typed.value]);
  }
  if (overLimit.length > 0) problems.push(overLimitProblem(origin, overLimit, options.maxKeys ?? 0));
  return { entries, problems };
}

function forbiddenKeyProblem(origin: ValueOrigin, key: string, value: unknown): Problem {
  return {
    code: `${origin}.forbidden_key`,
    field: originPath(origin, key),
    message: key === "" ? "an empty key names nothing" : `the key "${key}" is reserved`,
    value,
  };
}

function overLimitProblem(origin: ValueOrigin, keys: string[], max: number): Problem {
  return {
    code: `${origin}.too_large`,
    field: origin === "trait" ? "traits" : "properties",
    message: `${keys.length} values over the limit of ${max} per call were left out`,
    value: keys,
  };
}

/**
 * An own member of a customer object, or `undefined`. Never follows the prototype chain, so
 * `ownValue(traits, "constructor")` is not `Object` when the customer sent no such key.
 */
export function ownValue(source: Record<string, unknown> | null | undefined, key: string): unknown {
  return source != null && Object.hasOwn(source, key) ? source[key] : undefined;
}

/** Whether a value is a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
