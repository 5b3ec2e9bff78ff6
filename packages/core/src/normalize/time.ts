/**
 * Time rules (spec 3 and 3.1): every stored time is ISO-8601 UTC with milliseconds. A string is a
 * time only if it carries a zone; without one its instant is unknown, so it is never guessed.
 */

/** How a string reads as a time. */
export type TimeReading =
  | { kind: "zoned"; iso: string }
  /** No zone: `asUtc` is the instant if the clock were UTC (what the event-time rule assumes). */
  | { kind: "no_zone"; asUtc: string }
  | { kind: "invalid" };

// Date, optional time (T or space, as RFC 3339 allows), optional fraction, optional zone.
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Reads a string as an ISO-8601 time. Components are checked for real (no 30 February, no hour 25)
 * rather than trusting `Date.parse`, which rolls invalid dates over and guesses zones.
 *
 * @example
 * readTime("2024-05-01T14:00:00+02:00"); // { kind: "zoned", iso: "2024-05-01T12:00:00.000Z" }
 * readTime("2024-05-01T14:00:00");       // { kind: "no_zone", asUtc: "2024-05-01T14:00:00.000Z" }
 * readTime("yesterday");                 // { kind: "invalid" }
 */
export function readTime(text: string): TimeReading {
  const m = ISO_TIME.exec(text.trim());
  if (!m) return { kind: "invalid" };
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const hasClock = h !== undefined;
  // A zone without a clock ("2024-05-01Z") is not ISO-8601.
  if (zone !== undefined && !hasClock) return { kind: "invalid" };
  const ms = fractionToMs(frac);
  const local = utcMillis(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), ms);
  if (local === undefined) return { kind: "invalid" };
  const offset = zone === undefined ? 0 : zoneOffsetMinutes(zone);
  if (offset === undefined) return { kind: "invalid" };
  const iso = new Date(local - offset * 60_000).toISOString();
  // Outside years 0000-9999 toISOString switches to ±YYYYYY, which would break string ordering.
  if (!/^\d{4}-/.test(iso)) return { kind: "invalid" };
  return zone === undefined ? { kind: "no_zone", asUtc: iso } : { kind: "zoned", iso };
}

/**
 * The UTC form of a zoned time string, or `undefined` when it has no zone or cannot be read.
 *
 * @example
 * toUtcTime("2024-05-01T12:00:00Z"); // "2024-05-01T12:00:00.000Z"
 */
export function toUtcTime(text: string): string | undefined {
  const reading = readTime(text);
  return reading.kind === "zoned" ? reading.iso : undefined;
}

function fractionToMs(frac: string | undefined): number {
  // Truncate below milliseconds: the stored precision; truncation keeps ordering stable.
  return frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"));
}

function utcMillis(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number) {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCDate() !== d) return undefined; // rolled over: the day does not exist in that month
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone.toUpperCase() === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}
