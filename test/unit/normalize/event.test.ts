import { describe, expect, it } from "vitest";
import { type NormalizedEvent, normalizeCall, resolveEventAccount } from "../../../packages/core/src/normalize";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";

const meta = { workspaceId: "ws_1", source: "product", receivedAt: "2024-05-01T12:00:05Z" };

function eventOf(call: Record<string, unknown>): NormalizedEvent {
  const event = normalizeCall(SegmentCall.parse(call), meta).event;
  if (event === null) throw new Error("expected an event");
  return event;
}

describe("events from track, page and screen", () => {
  it("maps a track call to the stored event shape", () => {
    const n = normalizeCall(
      SegmentCall.parse({
        type: "track",
        messageId: "trk-1",
        userId: 1001,
        anonymousId: "anon-1",
        event: "Report Exported",
        timestamp: "2024-05-01T11:59:00+01:00",
        receivedAt: "2024-05-01T12:00:01Z",
        context: { groupId: "acc_1", library: { name: "analytics-node", version: "2.1.0" } },
        properties: { format: "csv", rows: 1200, filters: ["plan", "region"], exported_at: "2024-05-01T10:58:00Z" },
      }),
      meta,
    );
    expect(n.event).toEqual({
      event_id: "trk-1",
      event_name: "Report Exported",
      type: "track",
      timestamp: "2024-05-01T10:59:00.000Z",
      user_id: "1001",
      anonymous_id: "anon-1",
      account_id: "acc_1",
      account_from_user: false,
      account_resolution: "explicit",
      properties: { format: "csv", rows: 1200, filters: ["plan", "region"], exported_at: "2024-05-01T10:58:00.000Z" },
      received_at: "2024-05-01T12:00:05.000Z",
      source: "product",
      // Tells this call from another that reuses its messageId (spec 3.2).
      content_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(n.profiles).toEqual([]);
    expect(n.aliases).toEqual([]);
  });

  it("names page and screen events by their name, or Segment's default", () => {
    expect(eventOf({ type: "page", userId: "u1", name: "Pricing" })).toMatchObject({
      event_name: "Pricing",
      type: "page",
    });
    expect(eventOf({ type: "page", userId: "u1" }).event_name).toBe("Loaded a Page");
    expect(eventOf({ type: "screen", anonymousId: "a1", name: "Home" })).toMatchObject({
      event_name: "Home",
      type: "screen",
      user_id: null,
      anonymous_id: "a1",
    });
    expect(eventOf({ type: "screen", userId: "u1" }).event_name).toBe("Loaded a Screen");
  });

  it("leaves out bad properties and keeps the rest, reporting with the property prefix", () => {
    const n = normalizeCall(
      SegmentCall.parse({
        type: "track",
        userId: "u1",
        event: "Order Completed",
        messageId: "m",
        properties: { total: 99.9, products: [{ sku: "a" }], shipping: { city: "Oslo" }, coupon: null },
      }),
      meta,
    );
    expect(n.event?.properties).toEqual({ total: 99.9, coupon: null });
    expect(n.problems.map((p) => [p.code, p.field])).toEqual([
      ["property.invalid_array", "properties.products"],
      ["property.nested_object", "properties.shipping"],
    ]);
  });
});

describe("event account_id resolution (spec 3.3)", () => {
  const base = { type: "track", userId: "u1", event: "Clicked" };

  it.each([
    [
      "context.groupId",
      { context: { groupId: "ctx", group_id: "ctx2" }, properties: { account_id: "p" }, groupId: "g" },
      "ctx",
    ],
    ["context.group_id", { context: { group_id: "ctx2" }, properties: { account_id: "p" }, groupId: "g" }, "ctx2"],
    ["properties.account_id", { properties: { account_id: 9, groupId: "pg" }, groupId: "g" }, "9"],
    ["properties.groupId", { properties: { groupId: "pg" }, groupId: "g" }, "pg"],
    ["the call's groupId", { groupId: 12 }, "12"],
  ])("takes %s first", (_source, extra, expected) => {
    expect(eventOf({ ...base, ...extra })).toMatchObject({ account_id: expected, account_resolution: "explicit" });
  });

  it("leaves the account pending when the call names none", () => {
    expect(eventOf(base)).toMatchObject({ account_id: null, account_from_user: true, account_resolution: "pending" });
  });

  it("fills it from the user's only account", () => {
    const resolved = resolveEventAccount(eventOf(base), ["acc_9", "acc_9"]);
    expect(resolved).toMatchObject({
      account_id: "acc_9",
      account_from_user: true,
      account_resolution: "user_single_account",
    });
  });

  it("says none or ambiguous when the user has no account or several", () => {
    expect(resolveEventAccount(eventOf(base), [])).toMatchObject({ account_id: null, account_resolution: "none" });
    expect(resolveEventAccount(eventOf(base), ["a", "b"])).toMatchObject({
      account_id: null,
      account_resolution: "ambiguous",
    });
  });

  it("never overrides an account the call named", () => {
    const explicit = eventOf({ ...base, groupId: "g" });
    expect(resolveEventAccount(explicit, ["other"])).toBe(explicit);
  });
});
