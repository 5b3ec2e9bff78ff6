/**
 * ISO-8601 UTC times written by hand: `Date.prototype.toISOString` costs several times more, and
 * ingest writes three or four of them per request (the receive time, the delivery counters' time,
 * day and expiry). The same text as `toISOString` for every date (held to it by a unit test):
 * years outside 1000-9999, which it writes with a sign and six digits, and invalid dates, which
 * it refuses with a RangeError, are left to it.
 */

const twoDigits = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * `date.toISOString()`.
 *
 * @example
 * isoTime(new Date(Date.UTC(2024, 5, 1, 12, 0, 7, 5))); // "2024-06-01T12:00:07.005Z"
 */
export function isoTime(date: Date): string {
  const year = date.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return date.toISOString();
  const ms = date.getUTCMilliseconds();
  const millis = ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : `${ms}`;
  return `${isoDayOf(date, year)}T${twoDigits(date.getUTCHours())}:${twoDigits(date.getUTCMinutes())}:${twoDigits(date.getUTCSeconds())}.${millis}Z`;
}

/**
 * The UTC day of a date as `toISOString` writes it (`date.toISOString().slice(0, 10)`).
 *
 * @example
 * isoDay(new Date(Date.UTC(2024, 5, 1, 23, 59))); // "2024-06-01"
 */
export function isoDay(date: Date): string {
  const year = date.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return date.toISOString().slice(0, 10);
  return isoDayOf(date, year);
}

function isoDayOf(date: Date, year: number): string {
  return `${year}-${twoDigits(date.getUTCMonth() + 1)}-${twoDigits(date.getUTCDate())}`;
}
