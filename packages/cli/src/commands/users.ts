import type { Event, MemberAccount, UserWithAccounts } from "../../../core/src/api/schemas";
import { apiOptions, apiTargetOf, callApi, listFromApi, listOptions, listUsage, moreHint } from "../api-client";
import type { CliCommand } from "../command";
import { cell, formatFields, formatTable } from "../output";
import { eventTable, profileExtras, rangeOf, rangeOptions } from "./accounts";

/** Users through the read API: one user, their accounts, their events, and deletion. */

const path = (userId: string, rest = "") => `/v1/users/${encodeURIComponent(userId)}${rest}`;

export const getUser: CliCommand = {
  path: ["users", "get"],
  summary: "Show one user, with the accounts they belong to",
  usage: "USER_ID [--url URL] [--api-key KEY]",
  options: apiOptions,
  positionals: ["USER_ID"],
  async run(values, context, [userId]) {
    const user = (await callApi(apiTargetOf(values, context.env), path(userId as string))) as UserWithAccounts;
    return {
      data: user,
      text: formatFields([
        ["User", cell(user.user_id)],
        ["Name", cell(user.name)],
        ["Email", cell(user.email)],
        ["Status", user.status],
        ["Title", cell(user.title)],
        ["Key user", cell(user.key_user)],
        ["Accounts", cell(user.account_ids)],
        ["Signed up", cell(user.created_at)],
        ["Last seen", cell(user.last_seen_at)],
        ...profileExtras(user),
      ]),
    };
  },
};

export const listUserAccounts: CliCommand = {
  path: ["users", "accounts"],
  summary: "List the accounts of a user",
  usage: `USER_ID ${listUsage}`,
  options: listOptions,
  positionals: ["USER_ID"],
  async run(values, context, [userId]) {
    const page = await listFromApi<MemberAccount>(
      apiTargetOf(values, context.env),
      path(userId as string, "/accounts"),
      {},
      values,
    );
    return {
      data: page,
      text:
        page.items.length === 0
          ? "No accounts."
          : formatTable(page.items, [
              { header: "ACCOUNT", value: (a) => cell(a.account_id) },
              { header: "NAME", value: (a) => cell(a.name) },
              { header: "BUCKET", value: (a) => a.bucket },
              { header: "MEMBER SINCE", value: (a) => a.member_since },
              { header: "LAST SEEN", value: (a) => cell(a.last_seen_at) },
            ]) + moreHint(page),
    };
  },
};

export const listUserEvents: CliCommand = {
  path: ["users", "events"],
  summary: "List the events of a user, newest first (--from inclusive, --to exclusive, with a zone)",
  usage: `USER_ID [--from TIME] [--to TIME] ${listUsage}`,
  options: { ...listOptions, ...rangeOptions },
  positionals: ["USER_ID"],
  async run(values, context, [userId]) {
    const page = await listFromApi<Event>(
      apiTargetOf(values, context.env),
      path(userId as string, "/events"),
      rangeOf(values),
      values,
    );
    return { data: page, text: eventTable(page.items) + moreHint(page) };
  },
};

export const deleteUser: CliCommand = {
  path: ["users", "delete"],
  summary: "Delete a user: their profile, memberships, aliases, maps and events (queued, like Segment's delete)",
  usage: "USER_ID [--url URL] [--api-key KEY]",
  options: apiOptions,
  positionals: ["USER_ID"],
  async run(values, context, [userId]) {
    const answer = await callApi(apiTargetOf(values, context.env), path(userId as string), { method: "DELETE" });
    return {
      data: answer,
      text: `Deletion of user ${cell(userId)} is queued. Once it is done, \`users get ${cell(userId)}\` answers user.deleted with the time.`,
    };
  },
};

export const userCommands: readonly CliCommand[] = [getUser, listUserAccounts, listUserEvents, deleteUser];
