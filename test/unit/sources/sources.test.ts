import { describe, expect, it, vi } from "vitest";
import { routes } from "../../../packages/core/src/http/routes";
import { ingestRoute, matchIngestRoute } from "../../../packages/core/src/ingest/routes";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";
import { decoders } from "../../../packages/core/src/sources/decoders";
import { decodeQueuedMessage } from "../../../packages/core/src/sources/queued-message";
import { ingestFunctionSources, isSourceKind, sources } from "../../../packages/core/src/sources/registry";
import { registerSource, type SourceAdapter } from "../../../packages/core/src/sources/source";
import { stripeFunctionSources } from "../../../packages/core/src/sources/stripe-registry";
import { ingestPaths, stripeIngestPaths } from "../../../packages/local/src/routes";

/** Every public route as it was before the route table had one home (issue 19): what infra must keep getting. */
const deployedRoutes = [
  "POST /v1/webhooks/segment/{workspaceId} -> ingest",
  "POST /v1/webhooks/segment/{workspaceId}/{sourceName} -> ingest",
  ...["identify", "track", "group", "page", "screen", "alias", "batch", "i", "t", "g", "p", "s", "a", "b"].map(
    (p) => `POST /v1/${p} -> ingest`,
  ),
  // Added on purpose by the Stripe source (issue 20).
  "POST /v1/webhooks/stripe/{workspaceId} -> ingest",
  "POST /v1/webhooks/stripe/{workspaceId}/{sourceName} -> ingest",
  "GET /health -> api",
  "GET /openapi.json -> api",
  "GET /v1/accounts -> api",
  "GET /v1/accounts/{accountId} -> api",
  "GET /v1/accounts/{accountId}/users -> api",
  "GET /v1/accounts/{accountId}/events -> api",
  "GET /v1/users/{userId} -> api",
  "DELETE /v1/users/{userId} -> api",
  "GET /v1/users/{userId}/accounts -> api",
  "GET /v1/users/{userId}/events -> api",
  "GET /v1/entity-maps -> api",
  "PUT /v1/entity-maps -> api",
  "DELETE /v1/entity-maps/{source}/{kind}/{externalId} -> api",
  "GET /v1/rejects -> api",
  "GET /v1/pending -> api",
  "GET /v1/sources -> api",
  "GET /v1/sources/{name} -> api",
];

const message = (extra: Record<string, unknown>, calls: unknown[]) =>
  JSON.stringify({
    v: 1,
    workspaceId: "w1",
    source: "product",
    receivedAt: "2024-05-01T12:00:05.000Z",
    requestId: "r1",
    ...extra,
    calls,
  });

const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
  type: "track",
  event: "Report Exported",
  userId: "u1",
  messageId,
  timestamp: "2024-05-01T12:00:00.000Z",
  ...extra,
});

describe("the one route table", () => {
  it("is exactly the routes API Gateway was given before, in the same order", () => {
    // The routes (the function serving each is pinned on its own, below).
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(deployedRoutes.map((r) => r.split(" -> ")[0]));
  });

  it("names the function serving each route: Stripe's webhooks their own (issue 21), the rest as before", () => {
    const stripeServed = new Set([
      "POST /v1/webhooks/stripe/{workspaceId}",
      "POST /v1/webhooks/stripe/{workspaceId}/{sourceName}",
    ]);
    expect(routes.map((r) => `${r.method} ${r.path} -> ${r.function}`)).toEqual(
      deployedRoutes.map((r) => {
        const [route = ""] = r.split(" -> ");
        return stripeServed.has(route) ? `${route} -> stripe-ingest` : r;
      }),
    );
  });

  it("holds every source's routes, each matched back to that source by the function serving it", () => {
    const registries = { ingest: ingestFunctionSources, "stripe-ingest": stripeFunctionSources };
    for (const source of sources) {
      for (const route of source.routes) {
        expect(routes).toContainEqual({ method: route.method, path: route.path, function: source.function });
        const concrete = route.path.replace(/\{[^}]+\}/g, "x");
        const served = registries[source.function];
        expect([route.path, matchIngestRoute(concrete, served)?.route.kind]).toEqual([route.path, source.kind]);
        expect([route.path, ingestRoute(concrete)?.kind]).toEqual([route.path, source.kind]);
        // The other function does not serve it.
        const other = source.function === "ingest" ? stripeFunctionSources : ingestFunctionSources;
        expect([route.path, matchIngestRoute(concrete, other)]).toEqual([route.path, undefined]);
      }
    }
  });

  it("gives each function a registry of exactly the sources the route table names it for", () => {
    const kindsOf = (fn: string) => sources.filter((s) => s.function === fn).map((s) => s.kind);
    expect(ingestFunctionSources.map((s) => s.kind)).toEqual(kindsOf("ingest"));
    expect(stripeFunctionSources.map((s) => s.kind)).toEqual(kindsOf("stripe-ingest"));
    expect(kindsOf("stripe-ingest")).toEqual(["stripe"]);
  });

  it("sends Stripe's webhooks locally to their own function, and everything else where it went", () => {
    expect(stripeIngestPaths).toEqual(["/v1/webhooks/stripe"]);
  });

  it("gives the local stack one prefix for all webhooks and each tracking path", () => {
    expect(ingestPaths).toEqual(["/v1/webhooks", ...deployedRoutes.slice(2, 16).map((r) => r.split(" ")[1])]);
  });
});

describe("registerSource", () => {
  it("binds a source's receive to the route its template matched", async () => {
    const adapter: SourceAdapter<{ kind: "example"; id: string }> = {
      kind: "example",
      routes: [{ method: "POST", path: "/v1/webhooks/example/{id}" }],
      limits: { maxRequestBytes: 10, maxEventsPerBatch: 1 },
      route: (_template, params) => (params.id === "bad" ? undefined : { kind: "example", id: params.id as string }),
      receive: async (_request, route) => ({ workspaceId: route.id, source: "s", calls: [], refused: [] }),
      docs: {
        securitySchemes: { exampleKey: { type: "http", scheme: "bearer" } },
        route: (template) => ({
          operationId: `example ${template.path}`,
          summary: "An example",
          security: [{ exampleKey: [] }],
          headers: [],
          body: { schema: { type: "object" } },
          mediaTypes: ["application/json"],
        }),
      },
    };
    const source = registerSource(adapter);
    const matched = source.match(["v1", "webhooks", "example", "w9"]);
    expect(matched?.route).toEqual({ kind: "example", id: "w9" });
    const received = await matched?.receive({} as never, {} as never);
    expect(received?.workspaceId).toBe("w9");
    expect(source.match(["v1", "webhooks", "example", "bad"])).toBeUndefined();
    expect(source.match(["v1", "webhooks", "example"])).toBeUndefined();
    expect(source.describe("/v1/webhooks/example/{id}")?.operationId).toBe("example /v1/webhooks/example/{id}");
    expect(source.describe("/v1/track")).toBeUndefined();
  });
});

describe("decodeQueuedMessage", () => {
  it("reads a message without `route` as a webhook delivery, one written with it by its source", () => {
    expect(isSourceKind("webhook")).toBe(true);
    expect(isSourceKind("tracking")).toBe(true);
    const legacy = decodeQueuedMessage({ id: "q1", body: message({}, [track("m1")]) });
    expect(legacy.rejects).toEqual([]);
    expect(legacy.units.map((u) => [u.index, u.call.messageId, u.origin.route])).toEqual([[0, "m1", undefined]]);
    // A tracking call's receivedAt is ingest's, so its own does not order it; a webhook's is Segment's.
    const call = track("m2", { timestamp: undefined, receivedAt: "2024-05-01T11:00:00.000Z" });
    const webhook = decodeQueuedMessage({ id: "q2", body: message({ route: "webhook" }, [call]) });
    const tracking = decodeQueuedMessage({ id: "q3", body: message({ route: "tracking" }, [call]) });
    const unlabelled = decodeQueuedMessage({ id: "q4", body: message({}, [call]) });
    expect(webhook.units[0]?.call.time).toBe("2024-05-01T11:00:00.000Z");
    expect(unlabelled.units[0]?.call.time).toBe("2024-05-01T11:00:00.000Z");
    expect(tracking.units[0]?.call.time).toBe("2024-05-01T12:00:05.000Z");
  });

  it("has a decoder for every registered source and none other", () => {
    expect(Object.keys(decoders).sort()).toEqual(sources.map((s) => s.kind).sort());
  });

  it("refuses a message naming no known source as one message.invalid reject", () => {
    const decoded = decodeQueuedMessage({ id: "q1", body: message({ route: "hubspot" }, [track("m1")]) });
    expect(decoded.units).toEqual([]);
    expect(decoded.rejects).toEqual([
      {
        reject: expect.objectContaining({
          workspaceId: "w1",
          messageId: "sqs-q1",
          code: "message.invalid",
          field: "body",
        }),
      },
    ]);
    expect(decodeQueuedMessage({ id: "q2", body: "{not json" }).rejects[0]?.reject).toMatchObject({
      workspaceId: "unknown",
      code: "message.invalid",
    });
  });

  it("never decodes one kind's calls as another's: Segment calls on `stripe`, a Stripe event on `webhook`", () => {
    const stripeEvent = {
      messageId: "evt_1",
      accountIdMetadataKey: "account_id",
      event: {
        id: "evt_1",
        object: "event",
        type: "customer.created",
        created: 1714521600,
        data: { object: { id: "cus_1", object: "customer", metadata: { account_id: "acme" } } },
      },
    };
    const segmentOnStripe = decodeQueuedMessage({ id: "q1", body: message({ route: "stripe" }, [track("m1")]) });
    expect(segmentOnStripe.units).toEqual([]);
    expect(segmentOnStripe.rejects.map((r) => [r.index, r.reject.code])).toEqual([[0, "stripe.event_invalid"]]);
    for (const route of ["webhook", "tracking"]) {
      const stripeOnSegment = decodeQueuedMessage({ id: "q2", body: message({ route }, [stripeEvent]) });
      expect(stripeOnSegment.units).toEqual([]);
      expect(stripeOnSegment.rejects.map((r) => [r.index, r.reject.messageId, r.reject.code])).toEqual([
        [0, "evt_1", "envelope.invalid"],
      ]);
    }
    const onStripe = decodeQueuedMessage({ id: "q3", body: message({ route: "stripe" }, [stripeEvent]) });
    expect(onStripe.units.map((u) => u.call.profiles[0]?.id)).toEqual(["acme"]);
  });

  it("rejects a call that is not a Segment call, or breaks the id rules, alone", () => {
    const calls = [
      track("m1"),
      { type: "track", userId: "u1", messageId: "m2" },
      track("m3", { userId: "u".repeat(2000) }),
    ];
    const decoded = decodeQueuedMessage({ id: "q1", body: message({ route: "webhook" }, calls) });
    expect(decoded.units.map((u) => u.index)).toEqual([0]);
    expect(decoded.rejects.map((r) => [r.index, r.reject.messageId, r.reject.code])).toEqual([
      [1, "m2", "envelope.invalid"],
      [2, "m3", "id.too_long"],
    ]);
  });

  it("validates each call once and carries it: renormalizing parses nothing again", () => {
    const parse = vi.spyOn(SegmentCall, "safeParse");
    try {
      const decoded = decodeQueuedMessage({ id: "q1", body: message({}, [track("m1"), track("m2")]) });
      expect(parse).toHaveBeenCalledTimes(2);
      const again = decoded.units.map((u) =>
        u.renormalize({ receivedAt: "2024-05-02T00:00:00.000Z", fixedTime: "2024-05-01T00:00:00.000Z" }),
      );
      expect(parse).toHaveBeenCalledTimes(2);
      expect(again.map((c) => [c.messageId, c.receivedAt])).toEqual([
        ["m1", "2024-05-02T00:00:00.000Z"],
        ["m2", "2024-05-02T00:00:00.000Z"],
      ]);
    } finally {
      parse.mockRestore();
    }
  });

  it("keeps the call as queued, so the rules still see a __proto__ trait zod's copy would drop", () => {
    const body = message({}, [{ type: "identify", userId: "u1", messageId: "m1" }]).replace(
      '"userId":"u1"',
      '"userId":"u1","traits":{"__proto__":"x","plan":"pro"}',
    );
    const [unit] = decodeQueuedMessage({ id: "q1", body }).units;
    expect(unit?.call.problems).toContainEqual(
      expect.objectContaining({ code: "trait.forbidden_key", field: "traits.__proto__" }),
    );
    expect(
      unit?.renormalize({ receivedAt: "2024-05-01T12:00:05.000Z", fixedTime: "2024-05-01T12:00:00.000Z" }).problems,
    ).toContainEqual(expect.objectContaining({ code: "trait.forbidden_key" }));
  });
});

describe("a decoded call's content hash", () => {
  it("is the same for two tracking deliveries of one call that ingest corrected differently", () => {
    const sent = { sentAt: "2024-05-01T12:00:01.000Z" };
    const first = track("m1", {
      ...sent,
      timestamp: "2024-05-01T12:00:04.000Z",
      receivedAt: "2024-05-01T12:00:05.000Z",
    });
    const retry = track("m1", {
      ...sent,
      timestamp: "2024-05-01T12:01:04.000Z",
      receivedAt: "2024-05-01T12:01:05.000Z",
    });
    const hashOf = (route: string, call: unknown) =>
      decodeQueuedMessage({ id: "q", body: message({ route }, [call]) }).units[0]?.contentHash();
    expect(hashOf("tracking", first)).toBe(hashOf("tracking", retry));
    // A webhook's timestamp is Segment's: two that differ in it are two calls.
    expect(hashOf("webhook", first)).not.toBe(hashOf("webhook", retry));
  });
});
