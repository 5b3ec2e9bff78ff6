import { describe, expect, it } from "vitest";
import { errorBody, httpStatusOf } from "../../../packages/core/src/http/status";
import { bearerToken, parseBasicAuth } from "../../../packages/core/src/ingest/authorization";
import { ingestRoute } from "../../../packages/core/src/ingest/routes";
import { trackingPayload } from "../../../packages/core/src/sources/tracking-api/payload";

describe("ingestRoute", () => {
  it.each([
    ["/v1/identify", "identify"],
    ["/v1/track", "track"],
    ["/v1/group", "group"],
    ["/v1/page", "page"],
    ["/v1/screen", "screen"],
    ["/v1/alias", "alias"],
    ["/v1/batch", "batch"],
    ["/v1/i", "identify"],
    ["/v1/t", "track"],
    ["/v1/g", "group"],
    ["/v1/p", "page"],
    ["/v1/s", "screen"],
    ["/v1/a", "alias"],
    ["/v1/b", "batch"],
    ["/v1/track/", "track"],
  ])("%s is the tracking API's %s", (path, call) => {
    expect(ingestRoute(path)).toEqual({ kind: "tracking", call });
  });

  it("routes Segment webhooks to a workspace and source (product by default)", () => {
    expect(ingestRoute("/v1/webhooks/segment/acme")).toEqual({
      kind: "webhook",
      workspaceId: "acme",
      source: "product",
    });
    expect(ingestRoute("/v1/webhooks/segment/acme/billing")).toEqual({
      kind: "webhook",
      workspaceId: "acme",
      source: "billing",
    });
  });

  it.each([
    "/v1/delete",
    "/v1/x",
    "/v1/constructor",
    "/v1/__proto__",
    "/v2/track",
    "/track",
    "/v1/webhooks/segment",
    "/v1/webhooks/segment/acme/product/extra",
    "/v1/webhooks/segment/%E0%A4%A",
  ])("%s is not an ingest endpoint", (path) => {
    expect(ingestRoute(path)).toBeUndefined();
  });
});

describe("trackingPayload", () => {
  it("sets the type from the path when the body has none", () => {
    expect(trackingPayload("track", { userId: "u1", event: "E" }).calls).toEqual([
      { userId: "u1", event: "E", type: "track" },
    ]);
  });

  it("accepts a body whose type matches the path", () => {
    expect(trackingPayload("identify", { type: "identify", userId: "u1" }).calls).toEqual([
      { type: "identify", userId: "u1" },
    ]);
  });

  it("refuses a body whose type differs from the path with 400 envelope.type_mismatch", () => {
    try {
      trackingPayload("track", { type: "identify", userId: "u1" });
      expect.unreachable();
    } catch (error) {
      expect(httpStatusOf(error)).toBe(400);
      expect(errorBody(error).code).toBe("envelope.type_mismatch");
    }
  });

  it("takes the write key from the body", () => {
    expect(trackingPayload("track", { userId: "u1", event: "E", writeKey: "wk" }).writeKey).toBe("wk");
    expect(trackingPayload("batch", { batch: [], writeKey: "wk" }).writeKey).toBe("wk");
    expect(trackingPayload("batch", { batch: [{ type: "track", writeKey: "wk2" }] }).writeKey).toBe("wk2");
    expect(trackingPayload("track", { userId: "u1" }).writeKey).toBeUndefined();
  });

  it("gives each batch call the batch's context, integrations and sentAt when it has none", () => {
    const context = { library: { name: "analytics-node" } };
    const own = { ip: "1.2.3.4" };
    const payload = trackingPayload("batch", {
      batch: [
        { type: "track", userId: "u1", event: "A" },
        { type: "track", userId: "u1", event: "B", context: own, sentAt: "2024-01-01T00:00:00.000Z" },
      ],
      context,
      integrations: { All: true },
      sentAt: "2024-05-01T00:00:00.000Z",
    });
    expect(payload.calls).toEqual([
      {
        type: "track",
        userId: "u1",
        event: "A",
        context,
        integrations: { All: true },
        sentAt: "2024-05-01T00:00:00.000Z",
      },
      {
        type: "track",
        userId: "u1",
        event: "B",
        context: own,
        integrations: { All: true },
        sentAt: "2024-01-01T00:00:00.000Z",
      },
    ]);
  });

  it("refuses a batch without a batch array, and a body that is not an object", () => {
    expect(() => trackingPayload("batch", { events: [] })).toThrow(/batch/);
    expect(() => trackingPayload("track", [{ type: "track" }])).toThrow(/JSON object/);
    expect(() => trackingPayload("track", "text")).toThrow(/JSON object/);
  });
});

describe("HTTP Basic auth with the write key", () => {
  const basic = (value: string) => `Basic ${Buffer.from(value).toString("base64")}`;

  it("reads `writeKey:` (empty password), as Segment libraries send it", () => {
    expect(parseBasicAuth(basic("wk_123:"))).toEqual({ username: "wk_123", password: "" });
  });

  it("reads a password when there is one, and any scheme casing", () => {
    expect(parseBasicAuth(`basic ${Buffer.from("wk:pw").toString("base64")}`)).toEqual({
      username: "wk",
      password: "pw",
    });
  });

  it("ignores other schemes and malformed values", () => {
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(parseBasicAuth("Bearer abc")).toBeUndefined();
    expect(parseBasicAuth(basic("no-colon"))).toBeUndefined();
    expect(parseBasicAuth("Basic")).toBeUndefined();
  });

  it("reads bearer tokens", () => {
    expect(bearerToken("Bearer tok_1")).toBe("tok_1");
    expect(bearerToken("bearer  tok_1 ")).toBe("tok_1");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
