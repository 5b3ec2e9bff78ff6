import { validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../../packages/core/src/api/openapi";
import { routes } from "../../../packages/core/src/http/routes";
import { ingestRoute } from "../../../packages/core/src/ingest/routes";

const doc = openApiDocument("1.2.3");

async function validity(document: unknown) {
  return validate(structuredClone(document) as Parameters<typeof validate>[0]);
}

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("1.2.3");
    const result = await validity(doc);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it("is checked by a validator that does fail on broken documents", async () => {
    const dangling = structuredClone(doc);
    delete (dangling.components as { schemas: Record<string, unknown> }).schemas.Account;
    expect((await validity(dangling)).valid).toBe(false);

    const badParameter = structuredClone(doc);
    const get = badParameter.paths["/v1/accounts/{accountId}"]?.get as { parameters: { in: string }[] };
    (get.parameters[0] as { in: string }).in = "body";
    expect((await validity(badParameter)).valid).toBe(false);
  });

  it("lists every public route (ingest, read and admin) and nothing else", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("documents as ingest only paths the ingest handler serves", () => {
    for (const route of routes.filter((r) => r.function !== "api")) {
      const concrete = route.path.replace("{workspaceId}", "acme").replace("{sourceName}", "salesforce");
      expect(ingestRoute(concrete), route.path).toBeDefined();
      expect(doc.paths[route.path]?.post?.tags).toEqual(["ingest"]);
    }
  });

  it("generates bodies from the zod schemas, with API key security on read routes", () => {
    const schemas = (doc.components as { schemas: Record<string, { properties?: Record<string, unknown> }> }).schemas;
    expect(Object.keys(schemas.Account?.properties ?? {})).toEqual(
      expect.arrayContaining(["account_id", "bucket", "last_seen_at", "missing_required"]),
    );
    expect(doc.paths["/v1/accounts/{accountId}"]?.get).toMatchObject({
      security: [{ apiKey: [] }],
      // The account, or with `provenance=true` the account with its fields' provenance.
      responses: {
        200: {
          content: {
            "application/json": {
              schema: {
                oneOf: [
                  { $ref: "#/components/schemas/Account" },
                  { $ref: "#/components/schemas/AccountWithProvenance" },
                ],
              },
            },
          },
        },
      },
      parameters: [expect.anything(), expect.objectContaining({ name: "provenance", in: "query", required: false })],
    });
    expect(Object.keys(schemas.AccountWithProvenance?.properties ?? {})).toContain("provenance");
    expect(doc.paths["/health"]?.get?.security).toEqual([]);
    expect(doc.paths["/v1/entity-maps"]?.put?.requestBody).toMatchObject({
      content: { "application/json": {}, "text/csv": {} },
    });
  });
});
