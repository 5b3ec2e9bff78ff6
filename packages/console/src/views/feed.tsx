/**
 * The live feed: the newest events of the workspace, refreshed every few seconds. Built from the
 * accounts' and users' event listings (see feed.ts: the API has no workspace-wide event listing).
 */
import { useRef, useState } from "preact/hooks";
import { type Account, type AccountMember, type ApiClient, type Event, entityPath, type Page } from "../api";
import { EventTable } from "../event-table";
import { type FeedFilter, filterEvents, mergeEvents } from "../feed";
import { plural } from "../format";
import { EmptyState, ErrorNotice, Loading, ReplayHint } from "../notices";
import { useApi, useResource } from "../resource";

/** How often the feed reads the events again. */
export const feedRefreshMs = 5000;
/** How often it reads which accounts and users there are (a slower-moving list). */
const directoryRefreshMs = 60_000;
/** The accounts and users whose events are read, most recently active first, and the events kept. */
const maxAccounts = 25;
const maxUsers = 25;
const eventsPerListing = 50;
const maxEvents = 200;

interface Directory {
  accountIds: string[];
  userIds: string[];
  /** Accounts and users left out (beyond the caps). */
  skipped: number;
  readAt: number;
}

interface FeedData {
  events: Event[];
  accounts: number;
  users: number;
  skipped: number;
}

const byLastSeen = <T extends { last_seen_at: string | null }>(a: T, b: T) =>
  (b.last_seen_at ?? "").localeCompare(a.last_seen_at ?? "");

/** A few requests at a time: quick enough, and far under any throttle. */
async function inBatches<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return results;
}

/** The most recently active accounts, and the most recently active users of those accounts. */
async function readDirectory(api: ApiClient): Promise<Directory> {
  const { items: accounts } = await api.all<Account>("/v1/accounts", {}, 5);
  const recent = [...accounts].sort(byLastSeen).slice(0, maxAccounts);
  const members = await inBatches(recent, 6, (a) =>
    api.get<Page<AccountMember>>(entityPath("accounts", a.account_id, "/users"), { limit: 100 }),
  );
  const users = new Map<string, AccountMember>();
  for (const page of members) for (const user of page.items) users.set(user.user_id, user);
  const recentUsers = [...users.values()].sort(byLastSeen).slice(0, maxUsers);
  return {
    accountIds: recent.map((a) => a.account_id),
    userIds: recentUsers.map((u) => u.user_id),
    skipped: accounts.length - recent.length + (users.size - recentUsers.length),
    readAt: Date.now(),
  };
}

export function FeedView() {
  const api = useApi();
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState<FeedFilter>({ type: "", user: "", account: "" });

  const directory = useRef<Directory | undefined>(undefined);

  const feed = useResource<FeedData>(
    async () => {
      let known = directory.current;
      // An empty workspace is read again every time, so the first events show without waiting a minute.
      if (!known || known.accountIds.length === 0 || Date.now() - known.readAt > directoryRefreshMs) {
        known = await readDirectory(api);
        directory.current = known;
      }
      const { accountIds, userIds, skipped } = known;
      const listings = [
        ...accountIds.map((id) => entityPath("accounts", id, "/events")),
        ...userIds.map((id) => entityPath("users", id, "/events")),
      ];
      const pages = await inBatches(listings, 6, (path) => api.get<Page<Event>>(path, { limit: eventsPerListing }));
      return {
        events: mergeEvents(
          pages.map((p) => p.items),
          maxEvents,
        ),
        accounts: accountIds.length,
        users: userIds.length,
        skipped,
      };
    },
    [api],
    paused ? {} : { refreshMs: feedRefreshMs },
  );

  const events = feed.data ? filterEvents(feed.data.events, filter) : [];
  const names = feed.data ? [...new Set(feed.data.events.map((e) => e.event_name))].sort() : [];
  const users = feed.data ? [...new Set(feed.data.events.flatMap((e) => (e.user_id ? [e.user_id] : [])))].sort() : [];
  const accounts = feed.data
    ? [...new Set(feed.data.events.flatMap((e) => (e.account_id ? [e.account_id] : [])))].sort()
    : [];
  const filtering = filter.type !== "" || filter.user !== "" || filter.account !== "";
  const set = (name: keyof FeedFilter) => (e: { currentTarget: HTMLInputElement }) =>
    setFilter({ ...filter, [name]: e.currentTarget.value });

  return (
    <>
      <div class="page-head">
        <h1>Live feed</h1>
        <div class="toolbar">
          <span class="muted">
            {paused ? "Paused." : `Refreshes every ${feedRefreshMs / 1000} s.`}{" "}
            {feed.updatedAt && `Updated ${feed.updatedAt.toLocaleTimeString("en-GB")}.`}
          </span>
          <button type="button" class="secondary" aria-pressed={paused} onClick={() => setPaused(!paused)}>
            {paused ? "Resume" : "Pause"}
          </button>
        </div>
      </div>
      <p class="lead">
        The newest events of your most recently active accounts and their users, newest first. Calls with neither a
        known user nor an account (anonymous visitors) are not listed by the API.
      </p>
      <form class="filters" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for="filter-type">Event or type</label>
          <input
            id="filter-type"
            list="feed-names"
            value={filter.type}
            onInput={set("type")}
            placeholder="e.g. Report Exported"
          />
          <datalist id="feed-names">
            {names.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </div>
        <div>
          <label for="filter-user">User id</label>
          <input id="filter-user" list="feed-users" value={filter.user} onInput={set("user")} />
          <datalist id="feed-users">
            {users.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </div>
        <div>
          <label for="filter-account">Account id</label>
          <input id="filter-account" list="feed-accounts" value={filter.account} onInput={set("account")} />
          <datalist id="feed-accounts">
            {accounts.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </div>
        {filtering && (
          <button type="button" class="secondary" onClick={() => setFilter({ type: "", user: "", account: "" })}>
            Clear filters
          </button>
        )}
      </form>
      {feed.error !== undefined && <ErrorNotice error={feed.error} what="the feed" />}
      {feed.data === undefined && feed.error === undefined && <Loading what="events" />}
      {feed.data && feed.data.events.length === 0 && (
        <EmptyState title="No events yet">
          <p>
            Events appear here a second or two after Segment delivers them: <code>track</code>, <code>page</code> and{" "}
            <code>screen</code> calls of users who belong to an account.
          </p>
          <ReplayHint />
        </EmptyState>
      )}
      {feed.data && feed.data.events.length > 0 && events.length === 0 && (
        <EmptyState title="No event matches the filters">
          <p>Clear a filter, or wait for new events: the feed keeps refreshing.</p>
        </EmptyState>
      )}
      {events.length > 0 && feed.data && (
        <>
          <EventTable
            events={events}
            caption={`${plural(events.length, "event")}${filtering ? " matching the filters" : ""}, from ${plural(feed.data.accounts, "account")} and ${plural(feed.data.users, "user")}`}
          />
          {feed.data.skipped > 0 && (
            <p class="muted">
              {plural(feed.data.skipped, "less active account or user", "less active accounts or users")} not read: open
              an account or a user to see all its events.
            </p>
          )}
        </>
      )}
    </>
  );
}
