/**
 * The live feed. The read API has no workspace-wide event listing: events are read per account
 * (`GET /v1/accounts/{id}/events`, newest first), so the feed is the newest events of every
 * account, merged. Events attributed to no account are not in it (they show on their user's page).
 */
import type { Event } from "../../core/src/api/schemas";

/** The events of several listings as one list: newest first, each event once. */
export function mergeEvents(lists: readonly (readonly Event[])[], limit: number): Event[] {
  const byId = new Map<string, Event>();
  for (const list of lists) for (const event of list) byId.set(event.event_id, event);
  return [...byId.values()]
    .sort((a, b) =>
      a.timestamp === b.timestamp ? (a.event_id < b.event_id ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1,
    )
    .slice(0, limit);
}

export interface FeedFilter {
  /** Event name or type (track, page, screen), any part, any case. */
  type: string;
  user: string;
  account: string;
}

const contains = (value: string | null, wanted: string) =>
  wanted === "" || (value ?? "").toLowerCase().includes(wanted.trim().toLowerCase());

/** The events that match every non-empty part of the filter. */
export function filterEvents(events: readonly Event[], filter: FeedFilter): Event[] {
  return events.filter(
    (event) =>
      (contains(event.event_name, filter.type) || contains(event.type, filter.type)) &&
      contains(event.user_id, filter.user) &&
      contains(event.account_id, filter.account),
  );
}
