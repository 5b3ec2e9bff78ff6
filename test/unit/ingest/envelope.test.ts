import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../packages/core/src/errors";
import { errorBody, httpStatusOf } from "../../../packages/core/src/http/status";
import { checkCalls } from "../../../packages/core/src/ingest/calls";

function rejection(calls: unknown[]) {
  try {
    checkCalls(calls);
  } catch (error) {
    return { error, status: httpStatusOf(error), body: errorBody(error) };
  }
  throw new Error("expected the calls to be refused");
}

describe("envelope validation of each call", () => {
  it("accepts every call type Segment sends, with numeric ids", () => {
    const calls = [
      { type: "identify", userId: 42, traits: { email: "a@example.com" } },
      { type: "track", anonymousId: "anon-1", event: "Viewed" },
      { type: "group", userId: "u1", groupId: 7, traits: { name: "Acme" } },
      { type: "page", userId: "u1", name: "Home" },
      { type: "screen", anonymousId: "a1", name: "Home" },
      { type: "alias", previousId: "anon-1", userId: "u1" },
      { type: "delete", userId: "u1" },
    ];
    expect(checkCalls(calls)).toEqual(calls);
  });

  it("keeps unknown fields and the call as sent", () => {
    const call = { type: "track", userId: "u1", event: "E", _metadata: { bundled: [] }, version: 2 };
    expect(checkCalls([call])).toEqual([call]);
  });

  it("drops writeKey from what is queued", () => {
    const [queued] = checkCalls([{ type: "track", userId: "u1", event: "E", writeKey: "wk_secret" }]);
    expect(queued).toEqual({ type: "track", userId: "u1", event: "E" });
  });

  it.each([
    [{ userId: "u1", event: "E" }, "type"],
    [{ type: "purchase", userId: "u1" }, "type"],
    [{ type: "track", userId: "u1" }, "event"],
    [{ type: "track", event: "E" }, "userId or anonymousId"],
    [{ type: "identify", traits: {} }, "userId or anonymousId"],
    [{ type: "group", userId: "u1" }, "groupId"],
    [{ type: "alias", userId: "u1" }, "previousId"],
    [{ type: "track", userId: "u1", event: "E", properties: "not an object" }, "properties"],
  ])("refuses %j (names %s)", (call, named) => {
    const { error, status, body } = rejection([call]);
    expect(error).toBeInstanceOf(ValidationError);
    expect(status).toBe(400);
    expect(body.code).toBe("envelope.invalid");
    expect(body.problems?.[0]?.index).toBe(0);
    expect(body.problems?.[0]?.message).toContain(named);
  });

  it("refuses the whole batch when any call is invalid, listing every bad call by index", () => {
    const good = { type: "track", userId: "u1", event: "E" };
    const { body } = rejection([good, { type: "track", userId: "u1" }, good, "not a call", good]);
    expect(body.code).toBe("envelope.invalid");
    expect(body.message).toMatch(/^2 events are not valid Segment calls/);
    expect(body.problems?.map((p) => p.index)).toEqual([1, 3]);
    expect(body.problems?.[1]?.message).toBe("a call must be a JSON object");
  });

  it("lists at most 50 problems in the answer and counts all of them", () => {
    const bad = Array.from({ length: 120 }, () => ({ type: "track" }));
    const { body } = rejection(bad);
    expect(body.problems).toHaveLength(50);
    expect(body.message).toContain("120 events");
  });
});
