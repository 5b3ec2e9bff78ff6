/** One account: profile, missing fields, users, events per day and recent events. */
import type { Account, AccountMember, AccountWithProvenance, Event, Page } from "../api";
import { entityPath } from "../api";
import { Avatar } from "../avatar";
import { EventTable } from "../event-table";
import { formatTime, formatValue, plural } from "../format";
import { EmptyState, ErrorNotice, Loading } from "../notices";
import { FieldList, MissingFields, Traits } from "../profile";
import { useApi, useResource } from "../resource";
import { Link, userHref } from "../router";
import { AccountChart, BucketTag } from "./accounts";

export function accountFields(a: Account) {
  return [
    { label: "Account id", name: "account_id", value: a.account_id },
    { label: "Name", name: "name", value: a.name },
    { label: "Bucket", name: "bucket", value: a.bucket },
    { label: "Plan", name: "plan_name", value: a.plan_name },
    { label: "MRR", name: "mrr", value: a.mrr },
    { label: "Website", name: "website", value: a.website },
    { label: "Industry", name: "industry", value: a.industry },
    { label: "Bio", name: "company_bio", value: a.company_bio },
    { label: "Signed up", name: "created_at", value: formatTime(a.created_at) },
    { label: "Trial start", name: "trial_start_date", value: formatTime(a.trial_start_date) },
    { label: "Trial expiry", name: "trial_expiry_date", value: formatTime(a.trial_expiry_date) },
    { label: "Next renewal", name: "next_renewal_date", value: formatTime(a.next_renewal_date) },
    { label: "Trial", name: "is_trial", value: a.is_trial },
    { label: "Churned", name: "is_churned", value: a.is_churned },
    { label: "Last seen", name: "last_seen_at", value: formatTime(a.last_seen_at) },
    { label: "Avatar", name: "avatar_url", value: `${a.avatar_url}${a.avatar_url_derived ? " (derived)" : ""}` },
  ];
}

export function AccountView({ accountId }: { accountId: string }) {
  const api = useApi();
  // With provenance: each field shows which source and call set it.
  const account = useResource(
    () => api.get<AccountWithProvenance>(entityPath("accounts", accountId), { provenance: true }),
    [api, accountId],
  );
  const users = useResource(
    () => api.all<AccountMember>(entityPath("accounts", accountId, "/users")),
    [api, accountId],
  );
  const events = useResource(
    () => api.get<Page<Event>>(entityPath("accounts", accountId, "/events"), { limit: 50 }),
    [api, accountId],
    { refreshMs: 10_000 },
  );

  if (account.error !== undefined) {
    return (
      <>
        <h1>Account {accountId}</h1>
        <ErrorNotice error={account.error} what="the account" />
        <p>
          <Link href="/accounts">All accounts</Link>
        </p>
      </>
    );
  }
  if (!account.data) return <Loading what="the account" />;
  const a = account.data;
  return (
    <>
      <div class="page-head">
        <Avatar src={a.avatar_url} label={a.name ?? a.account_id} />
        <div>
          <h1>{a.name ?? a.account_id}</h1>
          <p class="muted">
            <code>{a.account_id}</code> <BucketTag bucket={a.bucket} />
          </p>
        </div>
      </div>
      <MissingFields required={a.missing_required} recommended={a.missing_recommended} kind="account" />
      <section aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <FieldList fields={accountFields(a)} label="Account profile" provenance={a.provenance} />
        <Traits traits={a.traits} provenance={a.provenance} />
      </section>
      <section aria-labelledby="chart-heading">
        <h2 id="chart-heading">Events per day</h2>
        <AccountChart accountId={accountId} />
      </section>
      <section aria-labelledby="users-heading">
        <h2 id="users-heading">Users</h2>
        {users.error !== undefined && <ErrorNotice error={users.error} what="the account's users" />}
        {!users.data && users.error === undefined && <Loading what="users" />}
        {users.data && users.data.items.length === 0 && (
          <EmptyState level={3} title="No users in this account">
            <p>
              A user joins an account through a <code>group</code> call with both <code>userId</code> and{" "}
              <code>groupId</code>, or an <code>identify</code> with <code>context.groupId</code>.
            </p>
          </EmptyState>
        )}
        {users.data && users.data.items.length > 0 && (
          <div class="table-scroll">
            <table>
              <caption>{plural(users.data.items.length, "user")}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">User id</th>
                  <th scope="col">Email</th>
                  <th scope="col">Status</th>
                  <th scope="col">Member since (UTC)</th>
                  <th scope="col">Last seen (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {users.data.items.map((u) => (
                  <tr key={u.user_id}>
                    <td>
                      <Link href={userHref(u.user_id)}>{u.name ?? u.user_id}</Link>
                    </td>
                    <td>
                      <code>{u.user_id}</code>
                    </td>
                    <td>{formatValue(u.email)}</td>
                    <td>{u.status}</td>
                    <td class="nowrap">{formatTime(u.member_since)}</td>
                    <td class="nowrap">{formatTime(u.last_seen_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Recent events</h2>
        {events.error !== undefined && <ErrorNotice error={events.error} what="the account's events" />}
        {!events.data && events.error === undefined && <Loading what="events" />}
        {events.data && events.data.items.length === 0 && (
          <EmptyState level={3} title="No events yet">
            <p>
              <code>track</code>, <code>page</code> and <code>screen</code> calls land here when they carry{" "}
              <code>context.groupId</code>, or come from a user with exactly one account.
            </p>
          </EmptyState>
        )}
        {events.data && events.data.items.length > 0 && (
          <EventTable
            events={events.data.items}
            caption={`The newest ${plural(events.data.items.length, "event")} of ${a.name ?? a.account_id}`}
            hide={["account"]}
          />
        )}
      </section>
    </>
  );
}
