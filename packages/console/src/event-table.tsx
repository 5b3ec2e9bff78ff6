/** A table of events, newest first. */
import type { Event } from "./api";
import { formatTime, formatValue } from "./format";
import { accountHref, Link, userHref } from "./router";

function Properties({ properties }: { properties: Event["properties"] }) {
  const entries = Object.entries(properties);
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="props">
      {entries.map(([name, value]) => (
        <li key={name}>
          <code>{name}</code>: {formatValue(value)}
        </li>
      ))}
    </ul>
  );
}

export function EventTable({
  events,
  caption,
  hide = [],
}: {
  events: readonly Event[];
  caption: string;
  /** Columns that would repeat the page's subject. */
  hide?: readonly ("user" | "account")[];
}) {
  return (
    <div class="table-scroll">
      <table class="events">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Event</th>
            {!hide.includes("user") && <th scope="col">User</th>}
            {!hide.includes("account") && <th scope="col">Account</th>}
            <th scope="col">Properties</th>
            <th scope="col">Source</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.event_id}>
              <td class="nowrap">
                <time dateTime={event.timestamp}>{formatTime(event.timestamp)}</time>
              </td>
              <td>
                <span class="event-name">{event.event_name}</span>{" "}
                <span class={`tag tag-${event.type}`}>{event.type}</span>
              </td>
              {!hide.includes("user") && (
                <td>
                  {event.user_id ? (
                    <Link href={userHref(event.user_id)}>{event.user_id}</Link>
                  ) : (
                    <span class="muted">anonymous {event.anonymous_id ?? ""}</span>
                  )}
                </td>
              )}
              {!hide.includes("account") && (
                <td>
                  {event.account_id ? (
                    <Link href={accountHref(event.account_id)}>{event.account_id}</Link>
                  ) : (
                    <span class="muted">none ({event.account_resolution})</span>
                  )}
                </td>
              )}
              <td>
                <Properties properties={event.properties} />
              </td>
              <td>{event.source}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
