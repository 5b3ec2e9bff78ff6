import { describe, expect, it } from "vitest";
import { apiRoutes, matchApiRoute } from "../../../packages/core/src/api/routes";
import { routes } from "../../../packages/resources/src/routes";

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
    for (const path of ["/v1/accounts/a/b/c", "/v1/users", "/v1/nope", "/v1/accounts//users", "/v1/users/%E0%A4%A"]) {
      expect(() => matchApiRoute("GET", path)).toThrowError(expect.objectContaining({ code: "route.not_found" }));
    }
    expect(() => matchApiRoute("POST", "/v1/users/u1")).toThrowError(
      expect.objectContaining({ code: "request.method_not_allowed", details: { allow: ["GET", "DELETE"] } }),
    );
  });
});
