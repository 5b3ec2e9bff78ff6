/** Events per day for the account chart. */
import type { Event } from "../../core/src/api/schemas";

export interface DayCount {
  /** `YYYY-MM-DD` (UTC) */
  day: string;
  count: number;
}

const dayMs = 24 * 60 * 60 * 1000;

/**
 * Counts per UTC day over the `days` days that end on the newest event's day (not today: an
 * account replayed from old payloads still gets a useful chart). Empty when there are no events.
 *
 * @example
 * eventsPerDay(events, 30); // [{ day: "2024-04-02", count: 0 }, …, { day: "2024-05-01", count: 3 }]
 */
export function eventsPerDay(events: readonly Pick<Event, "timestamp">[], days: number): DayCount[] {
  if (events.length === 0) return [];
  let newest = "";
  for (const event of events) if (event.timestamp > newest) newest = event.timestamp;
  const lastDay = Date.parse(`${newest.slice(0, 10)}T00:00:00.000Z`);
  const counts = new Map<string, number>();
  for (const event of events)
    counts.set(event.timestamp.slice(0, 10), (counts.get(event.timestamp.slice(0, 10)) ?? 0) + 1);
  const result: DayCount[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(lastDay - i * dayMs).toISOString().slice(0, 10);
    result.push({ day, count: counts.get(day) ?? 0 });
  }
  return result;
}
