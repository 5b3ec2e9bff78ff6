/** Accounts by bucket, with counts, and the events per day of one of them. */
import { useState } from "preact/hooks";
import { type Account, type Bucket, buckets, type Event, entityPath, type Page } from "../api";
import { eventsPerDay } from "../daily-counts";
import { EventsChart } from "../events-chart";
import { formatTime, formatValue } from "../format";
import { EmptyState, ErrorNotice, Loading, ReplayHint } from "../notices";
import { useApi, useResource } from "../resource";
import { accountHref, Link } from "../router";

const bucketLabels: Record<Bucket, string> = { trial: "Trial", subscribed: "Subscribed", churned: "Churned" };
export const chartDays = 30;

export function BucketTag({ bucket }: { bucket: Bucket }) {
  return <span class={`tag tag-${bucket}`}>{bucketLabels[bucket]}</span>;
}

/** Events per day of one account, newest 500 events. */
export function AccountChart({ accountId }: { accountId: string }) {
  const api = useApi();
  const events = useResource(
    () => api.get<Page<Event>>(entityPath("accounts", accountId, "/events"), { limit: 500 }),
    [api, accountId],
  );
  if (events.error !== undefined) return <ErrorNotice error={events.error} what="the account's events" />;
  if (!events.data) return <Loading what="events per day" />;
  if (events.data.items.length === 0) return <p class="muted">No events for this account yet.</p>;
  return (
    <EventsChart
      counts={eventsPerDay(events.data.items, chartDays)}
      title={`Events per day of ${accountId}, ${chartDays} days to its newest event`}
    />
  );
}

export function AccountsView() {
  const api = useApi();
  const [bucket, setBucket] = useState<Bucket | "all">("all");
  const [charted, setCharted] = useState<string | undefined>(undefined);
  const accounts = useResource(() => api.all<Account>("/v1/accounts"), [api]);

  if (accounts.error !== undefined) return <ErrorNotice error={accounts.error} what="accounts" />;
  if (!accounts.data) return <Loading what="accounts" />;
  const { items, complete } = accounts.data;
  const more = complete ? "" : "+";
  const count = (b: Bucket) => items.filter((a) => a.bucket === b).length;
  const shown = bucket === "all" ? items : items.filter((a) => a.bucket === bucket);
  const mostRecent = [...items].sort((a, b) => (b.last_seen_at ?? "").localeCompare(a.last_seen_at ?? ""))[0];
  const chartAccount = charted ?? mostRecent?.account_id;

  return (
    <>
      <h1>Accounts</h1>
      {items.length === 0 ? (
        <EmptyState title="No accounts yet">
          <p>
            Accounts come from <code>group</code> calls: the <code>groupId</code> is the account id and the traits fill
            its profile.
          </p>
          <ReplayHint />
        </EmptyState>
      ) : (
        <>
          <section aria-labelledby="buckets-heading">
            <h2 id="buckets-heading" class="visually-hidden">
              Accounts by bucket
            </h2>
            <ul class="counts">
              {buckets.map((b) => (
                <li key={b}>
                  <button
                    type="button"
                    class={`count count-${b}`}
                    aria-pressed={bucket === b}
                    onClick={() => setBucket(bucket === b ? "all" : b)}
                  >
                    <span class="count-number">
                      {count(b)}
                      {more}
                    </span>
                    <span class="count-label">{bucketLabels[b]}</span>
                  </button>
                </li>
              ))}
              <li>
                <button type="button" class="count" aria-pressed={bucket === "all"} onClick={() => setBucket("all")}>
                  <span class="count-number">
                    {items.length}
                    {more}
                  </span>
                  <span class="count-label">All</span>
                </button>
              </li>
            </ul>
          </section>
          <section aria-labelledby="chart-heading">
            <h2 id="chart-heading">Events per day</h2>
            <label for="chart-account">Account</label>{" "}
            <select id="chart-account" value={chartAccount} onChange={(e) => setCharted(e.currentTarget.value)}>
              {items.map((a) => (
                <option key={a.account_id} value={a.account_id}>
                  {a.name ?? a.account_id} ({a.account_id})
                </option>
              ))}
            </select>
            {chartAccount && <AccountChart accountId={chartAccount} />}
          </section>
          <section aria-labelledby="list-heading">
            <h2 id="list-heading">{bucket === "all" ? "All accounts" : `${bucketLabels[bucket]} accounts`}</h2>
            {shown.length === 0 ? (
              <p class="muted">No {bucket} accounts.</p>
            ) : (
              <div class="table-scroll">
                <table>
                  <caption class="visually-hidden">Accounts</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Account id</th>
                      <th scope="col">Bucket</th>
                      <th scope="col">Plan</th>
                      <th scope="col" class="num">
                        MRR
                      </th>
                      <th scope="col">Last seen (UTC)</th>
                      <th scope="col">Missing required</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((a) => (
                      <tr key={a.account_id}>
                        <td>
                          <Link href={accountHref(a.account_id)}>{a.name ?? a.account_id}</Link>
                        </td>
                        <td>
                          <code>{a.account_id}</code>
                        </td>
                        <td>
                          <BucketTag bucket={a.bucket} />
                        </td>
                        <td>{formatValue(a.plan_name)}</td>
                        <td class="num">{formatValue(a.mrr)}</td>
                        <td class="nowrap">{formatTime(a.last_seen_at)}</td>
                        <td>{a.missing_required.length > 0 ? a.missing_required.join(", ") : "—"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {!complete && <p class="muted">Only the first {items.length} accounts are shown.</p>}
          </section>
        </>
      )}
    </>
  );
}
