import type { Account, AccountMember, Event } from "../../../core/src/api/schemas";
import { apiOptions, apiTargetOf, callApi, listFromApi, listOptions, listUsage, moreHint } from "../api-client";
import { type CliCommand, type OptionValues, optionalString } from "../command";
import { cell, formatFields, formatTable } from "../output";

/** Accounts through the read API: list (by bucket), one account, its users, its events. */

const eventColumns = [
  { header: "TIME", value: (e: Event) => e.timestamp },
  { header: "EVENT", value: (e: Event) => cell(e.event_name) },
  { header: "TYPE", value: (e: Event) => e.type },
  { header: "USER", value: (e: Event) => cell(e.user_id ?? (e.anonymous_id && `anon:${e.anonymous_id}`)) },
  { header: "ACCOUNT", value: (e: Event) => cell(e.account_id) },
  { header: "EVENT ID", value: (e: Event) => cell(e.event_id) },
];

/** Events as a table (shared with `users events`). */
export function eventTable(events: readonly Event[]): string {
  return events.length === 0 ? "No events." : formatTable(events, eventColumns);
}

/** The time range options of event listings. */
export const rangeOptions = { from: { type: "string" }, to: { type: "string" } } as const;

export function rangeOf(values: OptionValues) {
  return { from: optionalString(values, "from"), to: optionalString(values, "to") };
}

/** The readable fields of a profile's custom traits and missing fields. */
export function profileExtras(profile: {
  traits: Record<string, unknown>;
  missing_required: string[];
  missing_recommended: string[];
}): [string, string][] {
  const traits = Object.entries(profile.traits);
  return [
    ["Missing (required)", cell(profile.missing_required)],
    ["Missing (recommended)", cell(profile.missing_recommended)],
    ["Traits", traits.length === 0 ? "-" : traits.map(([k, v]) => `${cell(k)}=${cell(v)}`).join("; ")],
  ];
}

const path = (accountId: string, rest = "") => `/v1/accounts/${encodeURIComponent(accountId)}${rest}`;

export const listAccounts: CliCommand = {
  path: ["accounts", "list"],
  summary: "List accounts, all or of one bucket (trial, subscribed, churned)",
  usage: `[--bucket B] ${listUsage}`,
  options: { ...listOptions, bucket: { type: "string" } },
  async run(values, context) {
    const page = await listFromApi<Account>(
      apiTargetOf(values, context.env),
      "/v1/accounts",
      { bucket: optionalString(values, "bucket") },
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
              { header: "PLAN", value: (a) => cell(a.plan_name) },
              { header: "MRR", value: (a) => cell(a.mrr) },
              { header: "LAST SEEN", value: (a) => cell(a.last_seen_at) },
            ]) + moreHint(page),
    };
  },
};

export const getAccount: CliCommand = {
  path: ["accounts", "get"],
  summary: "Show one account",
  usage: "ACCOUNT_ID [--url URL] [--api-key KEY]",
  options: apiOptions,
  positionals: ["ACCOUNT_ID"],
  async run(values, context, [accountId]) {
    const account = (await callApi(apiTargetOf(values, context.env), path(accountId as string))) as Account;
    return {
      data: account,
      text: formatFields([
        ["Account", cell(account.account_id)],
        ["Name", cell(account.name)],
        ["Bucket", account.bucket],
        ["Plan", cell(account.plan_name)],
        ["MRR", cell(account.mrr)],
        ["Website", cell(account.website)],
        ["Industry", cell(account.industry)],
        ["Signed up", cell(account.created_at)],
        ["Trial", `${cell(account.trial_start_date)} to ${cell(account.trial_expiry_date)}`],
        ["Next renewal", cell(account.next_renewal_date)],
        ["Last seen", cell(account.last_seen_at)],
        ...profileExtras(account),
      ]),
    };
  },
};

export const listAccountUsers: CliCommand = {
  path: ["accounts", "users"],
  summary: "List the users of an account",
  usage: `ACCOUNT_ID ${listUsage}`,
  options: listOptions,
  positionals: ["ACCOUNT_ID"],
  async run(values, context, [accountId]) {
    const page = await listFromApi<AccountMember>(
      apiTargetOf(values, context.env),
      path(accountId as string, "/users"),
      {},
      values,
    );
    return {
      data: page,
      text:
        page.items.length === 0
          ? "No users."
          : formatTable(page.items, [
              { header: "USER", value: (u) => cell(u.user_id) },
              { header: "NAME", value: (u) => cell(u.name) },
              { header: "EMAIL", value: (u) => cell(u.email) },
              { header: "STATUS", value: (u) => u.status },
              { header: "MEMBER SINCE", value: (u) => u.member_since },
              { header: "LAST SEEN", value: (u) => cell(u.last_seen_at) },
            ]) + moreHint(page),
    };
  },
};

export const listAccountEvents: CliCommand = {
  path: ["accounts", "events"],
  summary: "List the events of an account, newest first (--from inclusive, --to exclusive, with a zone)",
  usage: `ACCOUNT_ID [--from TIME] [--to TIME] ${listUsage}`,
  options: { ...listOptions, ...rangeOptions },
  positionals: ["ACCOUNT_ID"],
  async run(values, context, [accountId]) {
    const page = await listFromApi<Event>(
      apiTargetOf(values, context.env),
      path(accountId as string, "/events"),
      rangeOf(values),
      values,
    );
    return { data: page, text: eventTable(page.items) + moreHint(page) };
  },
};

export const accountCommands: readonly CliCommand[] = [listAccounts, getAccount, listAccountUsers, listAccountEvents];
