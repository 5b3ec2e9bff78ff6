import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validate } from "@readme/openapi-parser";
import { afterAll, describe, expect, it } from "vitest";
import { connectOperations, deriveSegmentOpenApi, sdkPackageDir } from "../../support/segment-sdk-openapi";

/**
 * The OpenAPI document derived from the official SDK's generated sources
 * (test/support/segment-sdk-openapi.ts), which the Public API stand-in holds requests to when
 * Segment's published document is not in shared/seed.
 */

// biome-ignore lint/suspicious/noExplicitAny: the document is read loosely; every value read is checked by an expectation.
type Json = Record<string, any>;
const { document, openApiVersion, sdkVersion } = deriveSegmentOpenApi();
const doc = document as Json;
type ApiDocument = Parameters<typeof validate>[0];
const schemas = doc.components.schemas as Json;
const operation = (path: string, method: string) => doc.paths[path]?.[method] as Json;

describe("the SDK-derived Public API document", () => {
  it("is valid OpenAPI (@readme/openapi-parser)", async () => {
    const result = await validate(structuredClone(document) as unknown as ApiDocument);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
  });

  it("says which SDK and which Segment document it comes from", () => {
    expect(openApiVersion).toBe("47.0.0");
    expect(sdkVersion).toMatch(/^47\.0\.0/);
    expect(doc.info.version).toBe("47.0.0");
  });

  it("has exactly the operations segment connect uses, each with a bearer token", () => {
    const ids = Object.values(doc.paths as Record<string, Json>).flatMap((item) =>
      Object.values(item).map((o) => (o as Json).operationId),
    );
    expect(ids.sort()).toEqual(Object.values(connectOperations).flat().sort());
    expect(doc.components.securitySchemes).toEqual({ token: { type: "http", scheme: "bearer" } });
    for (const item of Object.values(doc.paths as Record<string, Json>)) {
      for (const o of Object.values(item)) expect((o as Json).security).toEqual([{ token: [] }]);
    }
  });

  it("createDestination: POST /destinations with a CreateDestinationV1Input body", () => {
    const create = operation("/destinations", "post");
    expect(create.operationId).toBe("createDestination");
    expect(create.requestBody.required).toBe(true);
    expect(Object.keys(create.requestBody.content)).toEqual([
      "application/vnd.segment.v1+json",
      "application/vnd.segment.v1beta+json",
      "application/vnd.segment.v1alpha+json",
    ]);
    expect(create.requestBody.content["application/vnd.segment.v1+json"].schema).toEqual({
      $ref: "#/components/schemas/CreateDestinationV1Input",
    });
    expect(create.responses["200"].content["application/vnd.segment.v1+json"].schema).toEqual({
      $ref: "#/components/schemas/CreateDestination200Response",
    });
    const input = schemas.CreateDestinationV1Input as Json;
    expect(input.required).toEqual(["sourceId", "metadataId", "settings"]);
    expect(input.properties).toEqual({
      sourceId: { type: "string" },
      metadataId: { type: "string" },
      enabled: { type: "boolean" },
      name: { type: "string" },
      settings: { type: "object" },
    });
  });

  it("updateSubscriptionForDestination: PATCH with two path parameters and the v1alpha media types", () => {
    const update = operation("/destinations/{destinationId}/subscriptions/{id}", "patch");
    expect(update.operationId).toBe("updateSubscriptionForDestination");
    expect(update.parameters).toEqual([
      { name: "destinationId", in: "path", required: true, schema: { type: "string" } },
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
    expect(Object.keys(update.requestBody.content)).toEqual(["application/vnd.segment.v1alpha+json"]);
    expect(Object.keys(update.responses["200"].content)).toEqual([
      "application/vnd.segment.v1alpha+json",
      "application/json",
    ]);
    expect(schemas.UpdateSubscriptionForDestinationAlphaInput?.required).toEqual(["input"]);
    expect(operation("/destinations/{destinationId}", "patch").operationId).toBe("updateDestination");
  });

  it("list operations take a required deepObject pagination query parameter", () => {
    const list = operation("/sources/{sourceId}/connected-destinations", "get");
    expect(list.operationId).toBe("listConnectedDestinationsFromSource");
    expect(list.parameters[1]).toEqual({
      name: "pagination",
      in: "query",
      required: true,
      schema: { $ref: "#/components/schemas/PaginationInput" },
      style: "deepObject",
      explode: true,
    });
    expect(list.requestBody).toBeUndefined();
    expect(schemas.PaginationInput).toMatchObject({
      properties: { cursor: { type: "string" }, count: { type: "number" } },
      required: ["count"],
    });
  });

  it("follows nested models, arrays, enums and nullable types", () => {
    expect(schemas.DestinationV1?.properties.metadata).toEqual({ $ref: "#/components/schemas/DestinationMetadataV1" });
    const metadata = schemas.DestinationMetadataV1 as Json;
    expect(metadata.properties.actions).toEqual({
      type: "array",
      items: { $ref: "#/components/schemas/DestinationMetadataActionV1" },
    });
    expect(metadata.properties.status.enum).toContain("PUBLIC");
    expect(metadata.required).toContain("supportedPlatforms");
    expect(schemas.DestinationMetadataActionV1?.properties.defaultTrigger).toEqual({ type: ["string", "null"] });
    expect(schemas.GetSourceV1Output?.required).toEqual(["source", "trackingPlanId"]);
    expect(schemas.RequestErrorEnvelope?.properties.errors.items).toEqual({
      $ref: "#/components/schemas/RequestError",
    });
  });

  it("an operation the SDK does not have is an error, not an empty document", () => {
    expect(() => deriveSegmentOpenApi({ destinationsApi: ["deleteEverything"] })).toThrow(
      "the SDK has no operation deleteEverything",
    );
  });
});

describe("the derivation reads the SDK's sources (a changed copy changes the document)", () => {
  const copy = mkdtempSync(join(tmpdir(), "segment-sdk-"));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));
  for (const part of ["api", "model", "package.json"])
    cpSync(join(sdkPackageDir(), part), join(copy, part), { recursive: true });
  const edit = (file: string, from: string, to: string) => {
    const text = readFileSync(join(copy, file), "utf8");
    expect(text).toContain(from);
    writeFileSync(join(copy, file), text.replace(from, to));
  };

  it("follows the method, the required fields and an unrecognised declaration", () => {
    edit("api/destinationsApi.ts", "method: 'POST',", "method: 'PUT',");
    edit("model/createDestinationV1Input.ts", "'metadataId': string;", "'metadataId'?: string;");
    const changed = deriveSegmentOpenApi({ destinationsApi: ["createDestination"] }, copy).document as Json;
    expect(Object.keys(changed.paths["/destinations"])).toEqual(["put"]);
    expect(changed.components.schemas.CreateDestinationV1Input.required).toEqual(["sourceId", "settings"]);

    edit("model/createDestinationV1Input.ts", "'name'?: string;", "'name'?: Map<string, string>;");
    expect(() => deriveSegmentOpenApi({ destinationsApi: ["createDestination"] }, copy)).toThrow(
      "unsupported type Map<string, string> in model CreateDestinationV1Input",
    );
  });
});
