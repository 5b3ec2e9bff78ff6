/**
 * Reading a call's traits into the known profile fields. Which fields there are, and the trait
 * names each is read from, are tables beside their shapes: ACCOUNT_FIELDS (model/account.ts) and
 * USER_FIELDS (model/user.ts).
 */

import { ACCOUNT_FIELDS } from "../model/account";
import type { KnownField, KnownFieldType } from "../model/field";
import { USER_FIELDS } from "../model/user";
import { OLDEST_PLAUSIBLE_TIME } from "./event-time";
import type { Problem } from "./problem";
import { readTime } from "./time";
import { type FieldValue, isTooLarge, MAX_STRING_BYTES } from "./value";

/** The two kinds of profile. */
export type ProfileKind = "account" | "user";

/** The known fields of a profile kind. */
export function knownFields(kind: ProfileKind): readonly KnownField[] {
  return kind === "account" ? ACCOUNT_FIELDS : USER_FIELDS;
}

/** Every trait name a kind reads into a known field (canonical names and aliases). */
export function knownTraitNames(kind: ProfileKind): ReadonlySet<string> {
  return new Set(knownFields(kind).flatMap((field) => field.from));
}

/** Prefix of custom trait field names in a profile write: `traits.<key>`. */
export const CUSTOM_TRAIT_PREFIX = "traits.";

/**
 * Reads the known fields from traits. The first trait name of a field that is present decides it,
 * so a canonical name beats its aliases even when it is `null` (an explicit clear).
 *
 * @example
 * readKnownFields("account", { isTrial: "TRUE", trial_end: "2024-06-01T00:00:00Z" });
 * // entries: [["trial_expiry_date", "2024-06-01T00:00:00.000Z"], ["is_trial", true]]
 */
export function readKnownFields(
  kind: ProfileKind,
  traits: Record<string, unknown>,
): { entries: [string, FieldValue][]; problems: Problem[] } {
  const entries: [string, FieldValue][] = [];
  const problems: Problem[] = [];
  for (const field of knownFields(kind)) {
    const key = field.from.find((name) => Object.hasOwn(traits, name) && traits[name] !== undefined);
    if (key === undefined) continue;
    const typed = typeKnownValue(field.type, `traits.${key}`, traits[key]);
    if (typed.problem) problems.push(typed.problem);
    if (typed.value !== undefined) entries.push([field.name, typed.value]);
  }
  return { entries, problems };
}

/**
 * Types a value for a known field. Lenient where Segment sources commonly differ ("true" strings,
 * numeric strings for numbers, numbers for strings), strict where a guess could be wrong (times).
 */
export function typeKnownValue(
  type: KnownFieldType,
  path: string,
  raw: unknown,
): { value: FieldValue; problem?: Problem } | { value?: undefined; problem: Problem } {
  if (raw === null) return { value: null };
  const fail = (code: Problem["code"], message: string) => ({ problem: { code, field: path, message, value: raw } });
  switch (type) {
    case "string":
      if (typeof raw === "number" && Number.isFinite(raw)) return { value: String(raw) };
      if (typeof raw !== "string") return fail("trait.invalid_type", "expected a string");
      return isTooLarge(raw)
        ? fail("trait.too_large", `strings are limited to ${MAX_STRING_BYTES} bytes`)
        : { value: raw };
    case "number": {
      const n = toNumber(raw);
      if (n === undefined) return fail("trait.invalid_type", "expected a number");
      return Number.isFinite(n) ? { value: n } : fail("trait.invalid_number", "numbers must be finite");
    }
    case "boolean": {
      const b = toBoolean(raw);
      return b === undefined ? fail("trait.invalid_type", 'expected true or false (or "true"/"false")') : { value: b };
    }
    case "time":
      return typeTime(raw, fail);
  }
}

function typeTime(raw: unknown, fail: (code: Problem["code"], message: string) => { problem: Problem }) {
  if (typeof raw !== "string") return fail("time.invalid", "expected an ISO-8601 time string with a zone");
  const reading = readTime(raw);
  // Stored as sent, but not silently: a signup date before 2000 is almost always a default or a bug.
  if (reading.kind === "zoned" && reading.iso < OLDEST_PLAUSIBLE_TIME) {
    return { value: reading.iso, problem: fail("time.too_old", "the time is before 2000").problem };
  }
  if (reading.kind === "zoned") return { value: reading.iso };
  if (reading.kind === "no_zone") return fail("time.no_zone", "the time has no zone (add Z or ±hh:mm)");
  return fail("time.invalid", "expected an ISO-8601 time string with a zone");
}

// Plain decimal only: Number() would also accept "", "0x1f" and "Infinity".
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string" && DECIMAL.test(raw.trim())) return Number(raw.trim());
  return undefined;
}

function toBoolean(raw: unknown): boolean | undefined {
  if (typeof raw === "boolean") return raw;
  if (typeof raw !== "string") return undefined;
  const text = raw.trim().toLowerCase();
  return text === "true" ? true : text === "false" ? false : undefined;
}
