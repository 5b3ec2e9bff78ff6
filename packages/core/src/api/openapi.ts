/**
 * The OpenAPI 3.1 document of every public route, generated, not written: the list of routes is
 * the one route table (`http/routes.ts`, what API Gateway is given), the read and admin operations
 * come from the API route table (`routes.ts`) and the ingest ones from their sources (`sources/`), and all
 * bodies are JSON Schema generated from the zod schemas the code uses (`z.toJSONSchema`).
 */
import { z } from "zod";
import { routes as publicRoutes, type RouteDefinition } from "../http/routes";
import { EntityMapEntry } from "../identity/entity-map";
import { requestLimits } from "../ingest/limits";
import { SegmentCall, SegmentCallType } from "../segment/envelope";
import { sources } from "../sources/registry";
import { type ApiResponse, type ApiRoute, apiRoutes } from "./routes";
import * as schemas from "./schemas";

type JsonObject = Record<string, unknown>;

/** Ingest request bodies (inputs: what a sender may send). */
const trackingTypes = SegmentCallType.options.filter((type) => type !== "delete");
const TrackingCall = z
  .looseObject({ ...SegmentCall.shape, type: z.enum(trackingTypes).optional() })
  .describe("One Segment call; `type` is taken from the path when absent, and must match it when present");
const TrackingBatch = z
  .looseObject({
    batch: z.array(SegmentCall).min(1).max(requestLimits.tracking.maxEventsPerBatch),
    context: z.record(z.string(), z.unknown()).optional(),
    integrations: z.record(z.string(), z.unknown()).optional(),
    sentAt: z.string().optional(),
    writeKey: z.string().optional().describe("The write key, when not sent as HTTP Basic auth"),
  })
  .describe("A batch of calls; `context`, `integrations` and `sentAt` apply to calls that have none");
const WebhookBody = z
  .union([SegmentCall, z.array(SegmentCall).min(1).max(requestLimits.webhook.maxEventsPerBatch)])
  .describe("One Segment call (classic webhooks) or an array of calls (Actions batching)");

/** Named request bodies, generated as inputs. */
const requestComponents: Record<string, z.core.$ZodType> = {
  SegmentCall,
  TrackingCall,
  TrackingBatch,
  WebhookBody,
  EntityMapUploadRow: EntityMapEntry,
};

/** Named answers, generated as outputs: every zod schema `schemas.ts` exports. */
const responseComponents: Record<string, z.ZodType> = Object.fromEntries(
  Object.entries(schemas as Record<string, unknown>).filter(
    (entry): entry is [string, z.ZodType] => entry[1] instanceof z.ZodType,
  ),
);

const componentRef = (id: string) => `#/components/schemas/${id}`;

/** JSON Schema of a set of named schemas, cross-references as `$ref`s to components. */
function componentSchemas(named: Record<string, z.core.$ZodType>, io: "input" | "output"): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { io, uri: componentRef }) as { schemas: Record<string, JsonObject> };
  const result: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    // `$id` fragments and per-schema `$schema` do not belong inside an OpenAPI 3.1 document.
    const { $schema: _schema, $id: _id, ...rest } = schema;
    result[id] = rest;
  }
  return result;
}

/** A schema as a `$ref` when it is a component, else inline. */
function schemaRef(schema: z.core.$ZodType, io: "input" | "output"): JsonObject {
  const named: Record<string, z.core.$ZodType> = io === "input" ? requestComponents : responseComponents;
  const id = Object.keys(named).find((name) => named[name] === schema);
  if (id !== undefined) return { $ref: componentRef(id) };
  const { $schema: _schema, ...inline } = z.toJSONSchema(schema, { io }) as JsonObject;
  return inline;
}

function jsonContent(schema: JsonObject): JsonObject {
  return { "application/json": { schema } };
}

function responseOf(status: number, response: ApiResponse): JsonObject {
  const bodies = response.body === undefined ? [] : Array.isArray(response.body) ? response.body : [response.body];
  if (bodies.length === 0) {
    return status >= 400
      ? { description: response.description, content: jsonContent({ $ref: componentRef("ErrorBody") }) }
      : { description: response.description, content: jsonContent({ type: "object" }) };
  }
  const refs = bodies.map((body: z.ZodType) => schemaRef(body, "output"));
  return { description: response.description, content: jsonContent(refs.length === 1 ? refs[0]! : { oneOf: refs }) };
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
}

function queryParameters(query: z.ZodObject): JsonObject[] {
  return Object.entries(query.shape).map(([name, field]) => {
    const {
      $schema: _schema,
      description,
      ...schema
    } = z.toJSONSchema(field as z.ZodType, {
      io: "input",
    }) as JsonObject;
    return {
      name,
      in: "query",
      required: !(field as z.ZodType).safeParse(undefined).success,
      ...(description === undefined ? {} : { description }),
      schema,
    };
  });
}

const apiErrors: Readonly<Record<number, ApiResponse>> = {
  401: { description: "Missing or unknown API key (`auth.api_key_missing`, `auth.api_key_invalid`)" },
  503: { description: "Storage or queue unavailable for the moment (`storage.unavailable`, `queue.unavailable`)" },
};

function apiOperation(route: ApiRoute): JsonObject {
  const responses: Record<string, JsonObject> = {};
  const all = route.auth ? { ...route.responses, ...apiErrors, ...route.responses } : route.responses;
  for (const [status, response] of Object.entries(all)) responses[status] = responseOf(Number(status), response);
  const body = route.body;
  return {
    operationId: route.operation,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.auth ? "read and admin" : "service"],
    security: route.auth ? [{ apiKey: [] }] : [],
    parameters: [...pathParameters(route.path), ...queryParameters(route.query)],
    ...(body
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(
              Object.entries(body).map(([media, schema]) => [media, { schema: schemaRef(schema, "input") }]),
            ),
          },
        }
      : {}),
    responses,
  };
}

const ingestErrors: Readonly<Record<number, ApiResponse>> = {
  400: {
    description:
      "Bad JSON, an invalid call, or a batch over a limit (`request.invalid_json`, `envelope.invalid`, `envelope.type_mismatch`, `event.too_large`, `batch.too_many_events`, `batch.empty`)",
  },
  401: { description: "Bad or missing credentials" },
  404: { description: "Unknown workspace or source (`workspace.not_found`)" },
  413: {
    description: `Body (as sent, or once decompressed) over ${requestLimits.tracking.maxRequestBytes} bytes on the tracking API, ${requestLimits.webhook.maxRequestBytes} bytes on webhooks (\`request.too_large\`)`,
  },
  415: {
    description:
      "A content type that is not JSON, text/plain or a known library's label, or a Content-Encoding other than gzip/deflate (`request.content_type_unsupported`, `request.content_encoding_unsupported`)",
  },
  503: { description: "The queue or the credential store is unavailable: retry (Segment does)" },
};

/** An ingest route's operation: what its source says of it (`sources/`), with the shared answers. */
function ingestOperation(route: RouteDefinition): JsonObject {
  const doc = sources.map((source) => source.describe(route.path)).find((d) => d !== undefined);
  if (!doc) throw new Error(`${route.method} ${route.path} is not a route of any source`);
  const responses: Record<string, JsonObject> = {
    200: { description: "Every call was queued", content: jsonContent({ $ref: componentRef("IngestAccepted") }) },
  };
  for (const [status, response] of Object.entries(ingestErrors))
    responses[status] = responseOf(Number(status), response);
  const schema = "component" in doc.body ? { $ref: componentRef(doc.body.component) } : doc.body.schema;
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: ["ingest"],
    security: doc.security,
    parameters: [...pathParameters(route.path), ...doc.headers],
    requestBody: {
      required: true,
      content: Object.fromEntries(doc.mediaTypes.map((media) => [media, { schema }])),
    },
    responses,
  };
}

/** An OpenAPI 3.1 document. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, JsonObject>>;
  components: JsonObject;
  [field: string]: unknown;
}

/**
 * The OpenAPI 3.1 document of every public route (ingest, read and admin).
 *
 * @throws Error when a public route has no documentation (a route added to the list but not to the
 *   API route table or the ingest router): a bug caught by the tests.
 * @example
 * const doc = openApiDocument("1.4.0");
 * Object.keys(doc.paths); // ["/v1/webhooks/segment/{workspaceId}", …, "/v1/pending"]
 */
export function openApiDocument(version: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of publicRoutes) {
    let operation: JsonObject;
    if (route.function !== "api") operation = ingestOperation(route);
    else {
      const api = (apiRoutes as readonly ApiRoute[]).find((r) => r.method === route.method && r.path === route.path);
      if (!api) throw new Error(`${route.method} ${route.path} is not in the API route table`);
      operation = apiOperation(api);
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, JsonObject>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "segment-ingest",
      version,
      description:
        "Receives Segment data (webhooks or the Segment-compatible tracking API) and serves the accounts, users and events it becomes. See docs/ingest.md and docs/api.md.",
    },
    tags: [
      { name: "ingest", description: "Segment webhooks and the tracking API" },
      { name: "read and admin", description: "Accounts, users, events, rejects, pending calls and entity maps" },
      { name: "service", description: "Health and this document" },
    ],
    paths,
    components: {
      schemas: { ...componentSchemas(responseComponents, "output"), ...componentSchemas(requestComponents, "input") },
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "A workspace API key (`workspaces create-api-key`)" },
        ...Object.assign({}, ...sources.map((source) => source.securitySchemes)),
      },
    },
  };
}
