import { describe, expect, it } from "vitest";
import { apiRoutes, matchApiRoute } from "../../../packages/core/src/api/routes";
import { routes } from "../../../packages/core/src/http/routes";

describe("API route table", () => {
  it("has exactly the api routes API Gateway is given", () => {
    const table = apiRoutes.map((r) => `${r.method} ${r.path}`).sort();
    const gateway = routes
      .filter((r) => r.function === "api")
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(table).toEqual(gateway);
    expect(new Set(apiRoutes.map((r) => r.operation)).size).toBe(apiRoutes.length);
  });

  it("needs an API key everywhere but /health and /openapi.json", () => {
    expect(apiRoutes.filter((r) => !r.auth).map((r) => r.path)).toEqual(["/health", "/openapi.json"]);
  });

  it("matches paths to routes with URL-decoded parameters", () => {
    expect(matchApiRoute("GET", "/v1/accounts")).toMatchObject({ route: { operation: "listAccounts" }, params: {} });
    expect(matchApiRoute("get", "/v1/accounts/acme%20inc/events/")).toMatchObject({
      route: { operation: "listAccountEvents" },
      params: { accountId: "acme inc" },
    });
    expect(matchApiRoute("DELETE", "/v1/users/u%2F1")).toMatchObject({
      route: { operation: "deleteUser" },
      params: { userId: "u/1" },
    });
    expect(matchApiRoute("DELETE", "/v1/entity-maps/salesforce/account/001A").params).toEqual({
      source: "salesforce",
      kind: "account",
      externalId: "001A",
    });
  });

  it("answers an unknown path 404 route.not_found and a known path with another method 405", () => {
    for (const path of ["/v1/accounts/a/b/c", "/v1/users", "/v1/nope", "/v1/accounts//users"]) {
      expect(() => matchApiRoute("GET", path)).toThrowError(expect.objectContaining({ code: "route.not_found" }));
    }
    expect(() => matchApiRoute("POST", "/v1/users/u1")).toThrowError(
      expect.objectContaining({ code: "request.method_not_allowed", details: { allow: ["GET", "DELETE"] } }),
    );
  });

  it("reads ids in paths by the id rules: trimmed, never blank, well-formed, at most 512 bytes (400 with a code)", () => {
    expect(matchApiRoute("GET", "/v1/users/%20u1%20").params).toEqual({ userId: "u1" });
    expect(matchApiRoute("GET", `/v1/accounts/${"a".repeat(512)}`).params).toEqual({ accountId: "a".repeat(512) });
    const refused: [string, string][] = [
      [`/v1/users/${"u".repeat(3000)}`, "id.too_long"],
      [`/v1/accounts/${"%C3%A9".repeat(257)}/events`, "id.too_long"],
      [`/v1/entity-maps/sf/user/${"x".repeat(513)}`, "id.too_long"],
      ["/v1/users/%20%20", "path.invalid"],
      ["/v1/users/%E0%A4%A", "path.invalid"],
      ["/v1/users/s%ED%A0%80", "path.invalid"],
    ];
    for (const [path, code] of refused) {
      const method = path.startsWith("/v1/entity-maps") ? "DELETE" : "GET";
      expect(() => matchApiRoute(method, path), path).toThrowError(expect.objectContaining({ code }));
    }
  });
});
