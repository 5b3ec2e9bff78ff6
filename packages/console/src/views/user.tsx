/** One user: profile, missing fields, accounts and recent events. */
import type { Event, MemberAccount, Page, UserWithAccounts } from "../api";
import { ApiError, entityPath } from "../api";
import { Avatar } from "../avatar";
import { EventTable } from "../event-table";
import { formatTime, formatValue, plural } from "../format";
import { EmptyState, ErrorNotice, Loading } from "../notices";
import { FieldList, MissingFields, Traits } from "../profile";
import { useApi, useResource } from "../resource";
import { accountHref, Link } from "../router";
import { BucketTag } from "./accounts";

function userFields(u: UserWithAccounts) {
  return [
    { label: "User id", name: "user_id", value: u.user_id },
    { label: "Name", name: "name", value: u.name },
    { label: "First name", name: "first_name", value: u.first_name },
    { label: "Last name", name: "last_name", value: u.last_name },
    { label: "Email", name: "email", value: u.email },
    { label: "Title", name: "title", value: u.title },
    { label: "Username", name: "username", value: u.username },
    { label: "Description", name: "description", value: u.description },
    { label: "Key user", name: "key_user", value: u.key_user },
    { label: "LinkedIn", name: "linkedin_url", value: u.linkedin_url },
    { label: "Status", name: "status", value: u.status },
    { label: "Signed up", name: "created_at", value: formatTime(u.created_at) },
    { label: "Last seen", name: "last_seen_at", value: formatTime(u.last_seen_at) },
  ];
}

export function UserView({ userId }: { userId: string }) {
  const api = useApi();
  const user = useResource(() => api.get<UserWithAccounts>(entityPath("users", userId)), [api, userId]);
  const accounts = useResource(() => api.all<MemberAccount>(entityPath("users", userId, "/accounts")), [api, userId]);
  const events = useResource(
    () => api.get<Page<Event>>(entityPath("users", userId, "/events"), { limit: 50 }),
    [api, userId],
    { refreshMs: 10_000 },
  );

  if (user.error !== undefined) {
    const deleted =
      user.error instanceof ApiError && user.error.code === "user.deleted"
        ? (user.error.body as { deleted_at?: string }).deleted_at
        : undefined;
    return (
      <>
        <h1>User {userId}</h1>
        {deleted ? (
          <p class="notice notice-warning" role="note">
            This user was deleted on {formatTime(deleted)} (a Segment <code>delete</code> call): their profile,
            memberships and events are gone.
          </p>
        ) : (
          <ErrorNotice error={user.error} what="the user" />
        )}
      </>
    );
  }
  if (!user.data) return <Loading what="the user" />;
  const u = user.data;
  return (
    <>
      <div class="page-head">
        <Avatar src={u.avatar} label={u.name ?? u.user_id} />
        <div>
          <h1>{u.name ?? u.user_id}</h1>
          <p class="muted">
            <code>{u.user_id}</code> · {u.status}
          </p>
        </div>
      </div>
      <MissingFields required={u.missing_required} recommended={u.missing_recommended} kind="user" />
      <section aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <FieldList fields={userFields(u)} label="User profile" />
        <Traits traits={u.traits} />
      </section>
      <section aria-labelledby="accounts-heading">
        <h2 id="accounts-heading">Accounts</h2>
        {accounts.error !== undefined && <ErrorNotice error={accounts.error} what="the user's accounts" />}
        {!accounts.data && accounts.error === undefined && <Loading what="accounts" />}
        {accounts.data && accounts.data.items.length === 0 && (
          <EmptyState level={3} title="Not in any account">
            <p>
              Send a <code>group</code> call with this <code>userId</code> and a <code>groupId</code>, or put{" "}
              <code>context.groupId</code> on an <code>identify</code>.
            </p>
          </EmptyState>
        )}
        {accounts.data && accounts.data.items.length > 0 && (
          <table>
            <caption>{plural(accounts.data.items.length, "account")}</caption>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Bucket</th>
                <th scope="col">Plan</th>
                <th scope="col">Member since (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.items.map((a) => (
                <tr key={a.account_id}>
                  <td>
                    <Link href={accountHref(a.account_id)}>{a.name ?? a.account_id}</Link>
                  </td>
                  <td>
                    <BucketTag bucket={a.bucket} />
                  </td>
                  <td>{formatValue(a.plan_name)}</td>
                  <td class="nowrap">{formatTime(a.member_since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Recent events</h2>
        {events.error !== undefined && <ErrorNotice error={events.error} what="the user's events" />}
        {!events.data && events.error === undefined && <Loading what="events" />}
        {events.data && events.data.items.length === 0 && (
          <EmptyState level={3} title="No events yet">
            <p>
              <code>track</code>, <code>page</code> and <code>screen</code> calls with this <code>userId</code> land
              here.
            </p>
          </EmptyState>
        )}
        {events.data && events.data.items.length > 0 && (
          <EventTable
            events={events.data.items}
            caption={`The newest ${plural(events.data.items.length, "event")} of ${u.name ?? u.user_id}`}
            hide={["user"]}
          />
        )}
      </section>
    </>
  );
}
