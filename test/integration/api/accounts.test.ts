import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import { Account, AccountMemberPage, AccountPage, ErrorBody, EventPage } from "../../../packages/core/src/api/schemas";
import { type ApiStack, allPages, call, conforms, deliver, startApiStack, workspaceWithKey } from "./api-stack";

let stack: ApiStack;
beforeAll(async () => {
  stack = await startApiStack();
});
afterAll(async () => {
  await stack?.close();
});

const group = (groupId: string, traits: Record<string, unknown>, userId?: string) => ({
  type: "group",
  messageId: `g-${groupId}-${userId ?? ""}`,
  groupId,
  ...(userId ? { userId } : {}),
  timestamp: "2024-02-01T00:00:00Z",
  traits,
});

describe("accounts", () => {
  it("lists every account across the three buckets, page by page, none lost or repeated", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    const ids = {
      trial: ["t1", "t2", "t3", "t4", "t5"],
      subscribed: ["s1", "s2", "s3", "s4"],
      churned: ["c1", "c2", "c3"],
    };
    await deliver(stack.config, ws, [
      ...ids.trial.map((id) => group(id, { name: id, is_trial: true })),
      ...ids.subscribed.map((id) => group(id, { name: id, plan: "Pro" })),
      ...ids.churned.map((id) => group(id, { name: id, is_churned: "true" })),
    ]);

    for (const limit of ["1", "5", "12", "500"]) {
      const { items, pages } = await allPages(stack, "/v1/accounts", key, { limit });
      expect(items.map((a) => a.account_id)).toEqual([...ids.trial, ...ids.subscribed, ...ids.churned]);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(12 / Number(limit)));
    }
    const trial = await allPages(stack, "/v1/accounts", key, { bucket: "trial", limit: "2" });
    expect(trial.items.map((a) => [a.account_id, a.bucket])).toEqual(ids.trial.map((id) => [id, "trial"]));
    expect(trial.pages).toBe(3);
    const churned = await call(stack, "/v1/accounts?bucket=churned", { key });
    conforms(AccountPage, churned.body);
    expect(churned.body.items.map((a: { account_id: string }) => a.account_id)).toEqual(ids.churned);
    expect(churned.body.next_cursor).toBeNull();
  });

  it("an account known only from a membership is listed as it is read: missing its name, in the subscribed bucket", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    await deliver(stack.config, ws, [
      {
        type: "identify",
        messageId: "i-member-only",
        userId: "u-member",
        timestamp: "2024-02-01T00:00:00Z",
        traits: { first_name: "M" },
        context: { groupId: "acc-member-only" },
      },
      group("acc-named", { name: "Named" }),
    ]);
    const single = await call(stack, "/v1/accounts/acc-member-only", { key });
    expect(single.status).toBe(200);
    conforms(Account, single.body);
    expect(single.body).toMatchObject({
      account_id: "acc-member-only",
      bucket: "subscribed",
      missing_required: ["name"],
    });
    for (const query of [{}, { bucket: "subscribed" }] as Record<string, string>[]) {
      const { items } = await allPages(stack, "/v1/accounts", key, query);
      expect(items.map((a) => a.account_id).sort()).toEqual(["acc-member-only", "acc-named"]);
      expect(items.find((a) => a.account_id === "acc-member-only")).toEqual(single.body);
    }
    expect((await allPages(stack, "/v1/accounts", key, { bucket: "trial" })).items).toEqual([]);
  });

  it("shows one account in the spec's field names with last_seen_at, and 404s an unknown one", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    await deliver(stack.config, ws, [
      group("acme", {
        name: "Acme",
        website: "https://acme.example",
        mrr: 1200,
        plan: "Enterprise",
        is_trial: true,
        trial_start: "2024-01-01T00:00:00Z",
        seats: 40,
      }),
      {
        type: "track",
        messageId: "t1",
        userId: "u1",
        event: "Report Exported",
        context: { groupId: "acme" },
        timestamp: "2024-05-03T10:00:00Z",
      },
    ]);
    const answer = await call(stack, "/v1/accounts/acme", { key });
    expect(answer.status).toBe(200);
    conforms(Account, answer.body);
    expect(answer.body).toMatchObject({
      workspace_id: ws,
      account_id: "acme",
      name: "Acme",
      mrr: 1200,
      plan_name: "Enterprise",
      bucket: "trial",
      trial_start_date: "2024-01-01T00:00:00.000Z",
      missing_recommended: ["trial_expiry_date"],
      traits: { seats: 40 },
      last_seen_at: "2024-05-03T10:00:00.000Z",
    });

    const unknown = await call(stack, "/v1/accounts/nobody", { key });
    expect(unknown.status).toBe(404);
    conforms(ErrorBody, unknown.body);
    expect(unknown.body.code).toBe("account.not_found");
  });

  it("lists an account's users with their profiles, page by page", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    const users = Array.from({ length: 9 }, (_, i) => `u${i}`);
    await deliver(stack.config, ws, [
      group("acme", { name: "Acme" }),
      ...users.map((u) => group("acme", {}, u)),
      ...users.map((u, i) => ({
        type: "identify",
        messageId: `i-${u}`,
        userId: u,
        timestamp: "2024-02-02T00:00:00Z",
        traits: { first_name: `First${i}`, last_name: "Last", email: `${u}@acme.example` },
      })),
    ]);
    const first = await call(stack, "/v1/accounts/acme/users?limit=4", { key });
    conforms(AccountMemberPage, first.body);
    expect(first.body.items[0]).toMatchObject({
      user_id: "u0",
      name: "First0 Last",
      email: "u0@acme.example",
      member_since: "2024-02-01T00:00:00.000Z",
      status: "active",
    });
    const { items, pages } = await allPages(stack, "/v1/accounts/acme/users", key, { limit: "4" });
    expect(items.map((u) => u.user_id)).toEqual(users);
    expect(pages).toBe(3);
    expect((await call(stack, "/v1/accounts/nobody/users", { key })).body.code).toBe("account.not_found");
  });
});

describe("account events", () => {
  // 120 events over three months, some at the same instant, some on and around the range edges.
  const edges = [
    "2024-04-01T00:00:00.000Z",
    "2024-04-01T00:00:00.000Z",
    "2024-05-01T00:00:00.000Z",
    "2024-03-31T23:59:59.999Z",
    "2024-04-30T23:59:59.999Z",
    "2024-04-15T12:00:00.000Z",
    "2024-04-15T12:00:00.000Z",
    "2024-04-15T11:59:59.999Z",
    "2024-04-10T06:00:00.000Z",
    "2024-04-10T05:59:59.999Z",
  ];
  const stamps = Array.from({ length: 120 }, (_, i) => {
    const month = ["2024-03", "2024-04", "2024-05"][i % 3] as string;
    const day = String(1 + (Math.floor(i / 3) % 28)).padStart(2, "0");
    const hour = String((i * 7) % 24).padStart(2, "0");
    return edges[i] ?? `${month}-${day}T${hour}:00:00.000Z`;
  });
  const events = stamps.map((timestamp, i) => ({
    type: "track",
    messageId: `ev-${String(i).padStart(3, "0")}`,
    userId: `u${i % 5}`,
    event: i % 2 ? "Report Exported" : "Dashboard Viewed",
    context: { groupId: "acme" },
    properties: { n: i },
    timestamp,
  }));
  /** Newest first: by time, then by event id (the index sort key is `<time>#<messageId>`). */
  const newestFirst = (list: typeof events) =>
    [...list]
      .sort((a, b) =>
        a.timestamp === b.timestamp ? (a.messageId < b.messageId ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1,
      )
      .map((e) => e.messageId);
  let ws: string;
  let key: string;

  beforeAll(async () => {
    ({ ws, key } = await workspaceWithKey(stack));
    await deliver(stack.config, ws, [group("acme", { name: "Acme" }), ...events]);
  });

  it("pages through 120 events over 3 months, newest first, none lost or repeated", async () => {
    const { items, pages } = await allPages(stack, "/v1/accounts/acme/events", key, { limit: "7" });
    expect(items.map((e) => e.event_id)).toEqual(newestFirst(events));
    expect(new Set(items.map((e) => e.event_id)).size).toBe(120);
    expect(pages).toBeGreaterThanOrEqual(18);
    const first = await call(stack, "/v1/accounts/acme/events?limit=7", { key });
    conforms(EventPage, first.body);
    const newest = events.find((e) => e.messageId === newestFirst(events)[0]);
    expect(first.body.items[0]).toEqual({
      workspace_id: ws,
      event_id: newest?.messageId,
      event_name: newest?.event,
      type: "track",
      timestamp: newest?.timestamp,
      user_id: expect.any(String),
      anonymous_id: null,
      account_id: "acme",
      account_resolution: "explicit",
      properties: { n: expect.any(Number) },
      received_at: "2024-06-01T00:00:00.000Z",
      source: "product",
    });
  });

  it("keeps events at `from` and drops events at `to`, across month boundaries", async () => {
    const from = "2024-04-01T00:00:00.000Z";
    const to = "2024-05-01T00:00:00.000Z";
    expect(stamps).toContain(from);
    expect(stamps).toContain(to);
    const expected = newestFirst(events.filter((e) => e.timestamp >= from && e.timestamp < to));
    const { items } = await allPages(stack, "/v1/accounts/acme/events", key, { from, to, limit: "7" });
    expect(items.map((e) => e.event_id)).toEqual(expected);
    expect(items.map((e) => e.timestamp)).toContain(from);
    expect(items.map((e) => e.timestamp)).not.toContain(to);

    // A range across a month boundary, with zone offsets.
    const across = { from: "2024-03-28T02:00:00+02:00", to: "2024-04-03T00:00:00-00:00" };
    const wanted = newestFirst(
      events.filter((e) => e.timestamp >= "2024-03-28T00:00:00.000Z" && e.timestamp < "2024-04-03T00:00:00.000Z"),
    );
    expect(wanted.length).toBeGreaterThan(2);
    expect(
      (await allPages(stack, "/v1/accounts/acme/events", key, { ...across, limit: "2" })).items.map((e) => e.event_id),
    ).toEqual(wanted);

    // Both edges inside one month: events at `from` kept, events at `to` dropped.
    const inside = { from: "2024-04-10T06:00:00.000Z", to: "2024-04-15T12:00:00.000Z" };
    const between = await allPages(stack, "/v1/accounts/acme/events", key, { ...inside, limit: "3" });
    expect(between.items.map((e) => e.event_id)).toEqual(
      newestFirst(events.filter((e) => e.timestamp >= inside.from && e.timestamp < inside.to)),
    );
    expect(between.items.map((e) => e.timestamp)).toContain(inside.from);
    expect(between.items.map((e) => e.timestamp)).toContain("2024-04-15T11:59:59.999Z");
    expect(between.items.map((e) => e.timestamp)).not.toContain(inside.to);
    expect(between.items.map((e) => e.timestamp)).not.toContain("2024-04-10T05:59:59.999Z");

    const onlyFrom = await allPages(stack, "/v1/accounts/acme/events", key, {
      from: "2024-05-15T00:00:00Z",
      limit: "50",
    });
    expect(onlyFrom.items.map((e) => e.event_id)).toEqual(
      newestFirst(events.filter((e) => e.timestamp >= "2024-05-15T00:00:00.000Z")),
    );
    const onlyTo = await allPages(stack, "/v1/accounts/acme/events", key, { to: "2024-03-05T00:00:00Z", limit: "3" });
    expect(onlyTo.items.map((e) => e.event_id)).toEqual(
      newestFirst(events.filter((e) => e.timestamp < "2024-03-05T00:00:00.000Z")),
    );
    const none = await call(stack, "/v1/accounts/acme/events?from=2023-01-01T00:00:00Z&to=2023-02-01T00:00:00Z", {
      key,
    });
    expect(none.body).toEqual({ items: [], next_cursor: null });
  });

  it("answers 400 for bad query parameters and a cursor of another account", async () => {
    for (const [query, pattern] of [
      ["limit=0", /limit/],
      ["limit=501", /limit/],
      ["limit=abc", /limit/],
      ["from=2024-04-01T00:00:00", /from needs a time zone/],
      ["to=not-a-time", /to is not an ISO-8601 time/],
      ["from=2024-05-01T00:00:00Z&to=2024-04-01T00:00:00Z", /from must be before to/],
      ["colour=blue", /colour/],
    ] as const) {
      const answer = await call(stack, `/v1/accounts/acme/events?${query}`, { key });
      expect(answer.status, query).toBe(400);
      conforms(ErrorBody, answer.body);
      expect(answer.body).toMatchObject({ code: "query.invalid", message: expect.stringMatching(pattern) });
    }
    expect((await call(stack, "/v1/accounts?bucket=gold", { key })).body.code).toBe("query.invalid");

    await deliver(stack.config, ws, [
      {
        type: "track",
        messageId: "other-1",
        userId: "u1",
        event: "X",
        context: { groupId: "other" },
        timestamp: "2024-05-01T00:00:00Z",
      },
      {
        type: "track",
        messageId: "other-2",
        userId: "u1",
        event: "X",
        context: { groupId: "other" },
        timestamp: "2024-05-02T00:00:00Z",
      },
    ]);
    const page = await call(stack, "/v1/accounts/other/events?limit=1", { key });
    expect(page.body.next_cursor).toEqual(expect.any(String));
    const misused = await call(stack, `/v1/accounts/acme/events?cursor=${page.body.next_cursor}`, { key });
    expect(misused.status).toBe(400);
    expect(misused.body.code).toBe("cursor.invalid");
  });

  it("are what the CLI shows, as a table or as JSON", async () => {
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli([...argv, "--url", stack.server.url, "--api-key", key], {
        stdout: (t) => out.push(t),
        stderr: (t) => err.push(t),
      });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const table = await cli("accounts", "events", "acme", "--from", "2024-05-20T00:00:00Z", "--limit", "2");
    expect(table.code).toBe(0);
    const lines = table.out.split("\n");
    expect(lines[0]).toMatch(/^TIME\s+EVENT\s+TYPE\s+USER\s+ACCOUNT\s+EVENT ID$/);
    const newest = events.find((e) => e.messageId === newestFirst(events)[0]);
    expect(lines[1]?.split(/ {2,}/)).toEqual([
      newest?.timestamp,
      newest?.event,
      "track",
      newest?.userId,
      "acme",
      newest?.messageId,
    ]);
    expect(table.out).toContain("More: run again with --cursor");

    const json = await cli("accounts", "events", "acme", "--from", "2024-05-20T00:00:00Z", "--all", "--json");
    expect(JSON.parse(json.out).items.map((e: { event_id: string }) => e.event_id)).toEqual(
      newestFirst(events.filter((e) => e.timestamp >= "2024-05-20T00:00:00.000Z")),
    );
    const get = await cli("accounts", "get", "acme");
    expect(get.out).toMatch(/^Account: +acme$/m);
    expect(get.out).toContain(`Last seen:              ${newest?.timestamp}`);
    const list = await cli("accounts", "list", "--json");
    expect(JSON.parse(list.out).items.map((a: { account_id: string }) => a.account_id)).toEqual(["acme", "other"]);
    const bad = await cli("accounts", "events", "acme", "--from", "2024-05-28");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("(query.invalid)");
  });
});
