import { describe, expect, it } from "vitest";
import { eventsPerDay } from "../../../packages/console/src/daily-counts";
import { filterEvents, mergeEvents } from "../../../packages/console/src/feed";
import { groupRejects } from "../../../packages/console/src/reject-groups";
import { routeOf } from "../../../packages/console/src/routes";
import type { Event, Reject } from "../../../packages/core/src/api/schemas";

function event(id: string, timestamp: string, extra: Partial<Event> = {}): Event {
  return {
    workspace_id: "dev",
    event_id: id,
    event_name: "Report Exported",
    type: "track",
    timestamp,
    user_id: "usr_ada",
    anonymous_id: null,
    account_id: "acc_northwind",
    account_resolution: "explicit",
    properties: {},
    received_at: timestamp,
    source: "product",
    ...extra,
  };
}

function reject(messageId: string, extra: Partial<Reject> = {}): Reject {
  return {
    workspace_id: "dev",
    source: "product",
    message_id: messageId,
    code: "trait.nested_object",
    field: "traits.address",
    message: "nested objects are not allowed",
    value: { city: "Springfield" },
    value_truncated: false,
    first_seen: "2024-05-01T00:00:00.000Z",
    last_seen: "2024-05-01T00:00:00.000Z",
    seen_count: 1,
    ...extra,
  };
}

describe("live feed", () => {
  it("merges account and user listings newest first, each event once", () => {
    const a = event("a", "2024-05-01T10:00:00.000Z");
    const b = event("b", "2024-05-02T10:00:00.000Z");
    const c = event("c", "2024-05-03T10:00:00.000Z", { account_id: null });
    expect(
      mergeEvents(
        [
          [b, a],
          [c, b],
        ],
        10,
      ).map((e) => e.event_id),
    ).toEqual(["c", "b", "a"]);
    expect(mergeEvents([[b, a], [c]], 2).map((e) => e.event_id)).toEqual(["c", "b"]);
  });

  it("filters by event name or type, user and account, ignoring case", () => {
    const events = [
      event("a", "2024-05-01T10:00:00.000Z"),
      event("b", "2024-05-01T11:00:00.000Z", { event_name: "Pricing", type: "page", user_id: "usr_grace" }),
    ];
    expect(filterEvents(events, { type: "report", user: "", account: "" }).map((e) => e.event_id)).toEqual(["a"]);
    expect(filterEvents(events, { type: "PAGE", user: "", account: "" }).map((e) => e.event_id)).toEqual(["b"]);
    expect(filterEvents(events, { type: "", user: "grace", account: "northwind" }).map((e) => e.event_id)).toEqual([
      "b",
    ]);
    expect(filterEvents(events, { type: "", user: "", account: "globex" })).toEqual([]);
  });
});

describe("events per day", () => {
  it("counts by UTC day over the days that end on the newest event's day", () => {
    const counts = eventsPerDay(
      [
        event("a", "2024-05-01T23:59:59.000Z"),
        event("b", "2024-05-03T00:00:00.000Z"),
        event("c", "2024-05-03T12:00:00.000Z"),
        event("d", "2024-04-01T12:00:00.000Z"),
      ],
      3,
    );
    expect(counts).toEqual([
      { day: "2024-05-01", count: 1 },
      { day: "2024-05-02", count: 0 },
      { day: "2024-05-03", count: 2 },
    ]);
    expect(eventsPerDay([], 30)).toEqual([]);
  });
});

describe("reject groups", () => {
  it("groups by code, then by field and value, with counts from seen_count", () => {
    const groups = groupRejects([
      reject("m1", { seen_count: 2 }),
      reject("m2"),
      reject("m3", { field: "traits.company", value: { size: 4 } }),
      reject("m4", { code: "time.no_zone", field: "timestamp", value: "2024-05-01T10:00:00" }),
    ]);
    expect(groups.map((g) => [g.code, g.count])).toEqual([
      ["trait.nested_object", 4],
      ["time.no_zone", 1],
    ]);
    expect(groups[0]?.rows).toMatchObject([
      { field: "traits.address", value: '{"city":"Springfield"}', count: 3, calls: 2, messageIds: ["m1", "m2"] },
      { field: "traits.company", value: '{"size":4}', count: 1 },
    ]);
  });

  it("says so when the API truncated the value", () => {
    const [group] = groupRejects([reject("m1", { value: null, value_truncated: true })]);
    expect(group?.rows[0]?.value).toMatch(/too large/);
  });
});

describe("console routes", () => {
  it("maps paths to pages, decoding ids", () => {
    expect(routeOf("/")).toEqual({ page: "feed" });
    expect(routeOf("/accounts")).toEqual({ page: "accounts" });
    expect(routeOf("/accounts/acc%2F1")).toEqual({ page: "account", accountId: "acc/1" });
    expect(routeOf("/users/usr_ada/")).toEqual({ page: "user", userId: "usr_ada" });
    expect(routeOf("/rejects")).toEqual({ page: "rejects" });
    expect(routeOf("/nope/a/b")).toEqual({ page: "not-found", path: "/nope/a/b" });
  });
});
