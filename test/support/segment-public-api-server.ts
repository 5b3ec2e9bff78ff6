import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parse, validate } from "@readme/openapi-parser";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { deriveSegmentOpenApi } from "./segment-sdk-openapi";

/**
 * A stand-in for Segment's Public API on 127.0.0.1 that holds every request to Segment's published
 * OpenAPI document when it is there (`openApiDocumentPath` below), else to the document derived
 * from the official SDK's generated sources (segment-sdk-openapi.ts; `document` says which, and
 * it is logged): the operation
 * must exist (method and path), carry `Authorization: Bearer <token>`, its path and query
 * parameters (deepObject pagination) and its body must match the document's schemas, and its
 * Content-Type must be one the operation lists. Anything else is recorded in `violations` (tests
 * assert it stays empty) and answered 400. Its own answers are checked against the document's
 * response schemas too, so the stand-in cannot drift from what Segment sends.
 *
 * Behind that it keeps a small workspace: a catalog (the Webhooks (Actions) entry on its second
 * page), sources, destinations and subscriptions, so create / find / update behave like Segment's.
 */

/**
 * Segment's Public API OpenAPI document, as Segment published it (`info.version` 32.0.5: file
 * `api/openapi.yaml` of Segment's public repository `segmentio/public-api-sdk-java` at commit
 * 216af31c81a51e2d64a6c189701d1928e1897c91, the last before the SDK repositories stopped carrying
 * it; sha256 fb0b28f6d214c30ba70dda4fc6e3dd882745953a5b5549950ca4121c54560056). The npm SDK ships
 * none. It is a data file from outside the project, so it is not committed here: it lives in the
 * steering repo's shared/seed/ beside the checkout, or wherever `SEGMENT_PUBLIC_API_OPENAPI` points
 * (then it must be there). Where it is absent (CI), the SDK-derived document is used.
 */
export const openApiDocumentPath =
  process.env.SEGMENT_PUBLIC_API_OPENAPI ??
  fileURLToPath(new URL("../../../shared/seed/segment-public-api/openapi.yaml", import.meta.url));
const documentSha256 = "fb0b28f6d214c30ba70dda4fc6e3dd882745953a5b5549950ca4121c54560056";
const documentId = "segment-public-api";

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  pathParams: string[];
  operation: Json;
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string;
  body: unknown;
}

export interface PublicApiState {
  catalog: Json[];
  sources: Map<string, Json>;
  destinations: Map<string, Json>;
  subscriptions: Map<string, Json[]>;
}

/** The Webhooks (Actions) catalog entry's ids, as Segment's catalog gives them. */
export const webhookMetadataId = "614a3c7d791c91c41bae7599";
export const sendActionId = "sEnDaCtIoNiD0000000001";

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
let loaded: Promise<{ ajv: Ajv; coercing: Ajv; operations: Operation[]; used: DocumentUsed }> | undefined;

/** Which document the stand-in holds requests to. */
export interface DocumentUsed {
  /** `published`: Segment's own document (shared/seed); `sdk`: derived from the official SDK's sources. */
  source: "published" | "sdk";
  /** The OpenAPI document's `info.version`. */
  version: string;
  /** Where it came from. */
  from: string;
}

/**
 * Segment's published document when it is there (sha-checked), else the one derived from the
 * official SDK's generated sources (test/support/segment-sdk-openapi.ts), which CI always has.
 */
async function chooseDocument(): Promise<{ document: unknown; used: DocumentUsed }> {
  if (existsSync(openApiDocumentPath)) {
    const text = readFileSync(openApiDocumentPath);
    const sha256 = createHash("sha256").update(text).digest("hex");
    if (sha256 !== documentSha256)
      throw new Error(`${openApiDocumentPath} is not the expected document (sha256 ${sha256})`);
    const document = (await parse(openApiDocumentPath)) as unknown as { info: { version: string } };
    return { document, used: { source: "published", version: document.info.version, from: openApiDocumentPath } };
  }
  if (process.env.SEGMENT_PUBLIC_API_OPENAPI) {
    throw new Error(`SEGMENT_PUBLIC_API_OPENAPI points at ${openApiDocumentPath}, which does not exist`);
  }
  const derived = deriveSegmentOpenApi();
  const checked = await validate(structuredClone(derived.document) as unknown as Parameters<typeof validate>[0]);
  if (!checked.valid) {
    throw new Error(`the SDK-derived document is not valid OpenAPI: ${JSON.stringify(checked.errors)}`);
  }
  const from = `@segment/public-api-sdk-typescript ${derived.sdkVersion} (its generated sources)`;
  return { document: derived.document, used: { source: "sdk", version: derived.openApiVersion, from } };
}

function load() {
  loaded ??= (async () => {
    const { document: chosen, used } = await chooseDocument();
    console.info(
      `Segment Public API stand-in: validating against the ${used.source} document ${used.version}, from ${used.from}`,
    );
    const document = chosen as { paths: Record<string, Record<string, Json>> };
    const make = (coerceTypes: boolean) => {
      const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes });
      addFormats(ajv);
      ajv.addSchema(document as object, documentId);
      return ajv;
    };
    const operations: Operation[] = [];
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        const pathParams = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
        const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "([^/]+)")}$`);
        operations.push({ method: method.toUpperCase(), template, pattern, pathParams, operation });
      }
    }
    return { ajv: make(false), coercing: make(true), operations, used };
  })();
  return loaded;
}

const compiled = new Map<string, ValidateFunction>();
function validator(ajv: Ajv, ref: string, kind: string): ValidateFunction {
  const key = `${kind}:${ref}`;
  let found = compiled.get(key);
  if (!found) {
    found = ajv.compile({ $ref: `${documentId}#/${ref}` });
    compiled.set(key, found);
  }
  return found;
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}

/** `pagination[count]=200&pagination[cursor]=x` → `{ pagination: { count: "200", cursor: "x" } }`. */
function queryObjects(search: URLSearchParams): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const [key, value] of search) {
    const deep = /^([^[]+)\[([^\]]+)\]$/.exec(key);
    if (deep) {
      const name = deep[1] as string;
      const object = (values.get(name) as Json | undefined) ?? {};
      object[deep[2] as string] = value;
      values.set(name, object);
    } else values.set(key, value);
  }
  return values;
}

export interface SegmentPublicApiServer {
  url: string;
  token: string;
  state: PublicApiState;
  requests: RecordedRequest[];
  /** Every way a request broke the document (empty when all were allowed). */
  violations: string[];
  /** The document requests are held to (published, or derived from the SDK). */
  document: DocumentUsed;
  /** The next `times` calls of an operation are answered 429 with `Retry-After: seconds`. */
  rateLimit(operationId: string, times: number, retryAfterSeconds: number): void;
  close(): Promise<void>;
}

export async function startSegmentPublicApiServer(options: { sources: Json[] }): Promise<SegmentPublicApiServer> {
  const { ajv, coercing, operations, used } = await load();
  const token = `sgp_${randomBytes(12).toString("hex")}`;
  const state: PublicApiState = {
    catalog: catalogEntries(),
    sources: new Map(options.sources.map((s) => [s.id as string, s])),
    destinations: new Map(),
    subscriptions: new Map(),
  };
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const limited = new Map<string, { times: number; seconds: number }>();

  function check(request: IncomingMessage, url: URL, raw: string): { op: Operation; params: Json; body: unknown } {
    const op = operations.find((o) => o.method === request.method && o.pattern.test(url.pathname));
    if (!op) throw new Error(`${request.method} ${url.pathname} is not an operation of the document`);
    const id = op.operation.operationId as string;
    const problems: string[] = [];
    if (request.headers.authorization !== `Bearer ${token}`) problems.push("no valid Authorization: Bearer token");
    const match = op.pattern.exec(url.pathname) as RegExpExecArray;
    const params: Json = {};
    op.pathParams.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1] as string);
    });
    const declared = (op.operation.parameters as Json[] | undefined) ?? [];
    const query = queryObjects(url.searchParams);
    for (const [i, param] of declared.entries()) {
      const name = param.name as string;
      const value = param.in === "path" ? params[name] : param.in === "query" ? query.get(name) : undefined;
      if (param.in === "query") query.delete(name);
      if (value === undefined) {
        if (param.required) problems.push(`missing ${param.in} parameter ${name}`);
        continue;
      }
      const holder = { value };
      const validate = validator(
        coercing,
        pointer("paths", op.template, op.method.toLowerCase(), "parameters", String(i), "schema"),
        "param",
      );
      if (!validate(holder.value)) problems.push(`${param.in} parameter ${name}: ${describeErrors(validate.errors)}`);
      if (param.in === "query") params[name] = value;
    }
    for (const name of query.keys()) problems.push(`query parameter ${name} is not in the document`);

    const requestBody = op.operation.requestBody as { content: Json; required?: boolean } | undefined;
    let body: unknown;
    if (requestBody) {
      const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
      if (!(type in requestBody.content)) {
        problems.push(`Content-Type ${type || "(none)"} is not one of ${Object.keys(requestBody.content).join(", ")}`);
      }
      try {
        body = JSON.parse(raw);
      } catch {
        problems.push("the body is not JSON");
      }
      const contentType = type in requestBody.content ? type : (Object.keys(requestBody.content)[0] as string);
      const validate = validator(
        ajv,
        pointer("paths", op.template, op.method.toLowerCase(), "requestBody", "content", contentType, "schema"),
        "body",
      );
      if (body !== undefined && !validate(body)) {
        // The document lists path parameters (destinationId …) as required body fields of a few
        // inputs, an artifact of how it is generated; the path carries them.
        const real = (validate.errors ?? []).filter(
          (e) =>
            !(
              e.keyword === "required" &&
              e.instancePath === "" &&
              op.pathParams.includes(String(e.params.missingProperty))
            ),
        );
        if (real.length > 0) problems.push(`body: ${describeErrors(real)}`);
      }
    } else if (raw !== "") problems.push("a body where the operation takes none");
    if (problems.length > 0) throw new Error(`${id} ${request.method} ${url.pathname}: ${problems.join("; ")}`);
    return { op, params, body };
  }

  function respond(op: Operation, answer: Answer, response: ServerResponse): void {
    const id = op.operation.operationId as string;
    const responses = op.operation.responses as Record<string, { content?: Json }>;
    // An error status the operation does not list falls to its `default` response, if it has one.
    const status = String(answer.status) in responses || answer.status < 400 ? String(answer.status) : "default";
    const documented = responses[status];
    const content = documented?.content ?? {};
    const contentType = Object.keys(content)[0] ?? "application/json";
    if (!documented) violations.push(`${id}: the stand-in answered ${answer.status}, which the document does not list`);
    else {
      const validate = validator(
        ajv,
        pointer("paths", op.template, op.method.toLowerCase(), "responses", status, "content", contentType, "schema"),
        "response",
      );
      if (!validate(answer.body)) violations.push(`${id}: the stand-in's answer: ${describeErrors(validate.errors)}`);
    }
    response.writeHead(answer.status, { "content-type": contentType, ...answer.headers });
    response.end(JSON.stringify(answer.body));
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const raw = Buffer.concat(chunks).toString("utf8");
      let checked: ReturnType<typeof check>;
      try {
        checked = check(request, url, raw);
      } catch (error) {
        violations.push((error as Error).message);
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ errors: [{ type: "Invalid", message: (error as Error).message }] }));
        return;
      }
      const id = checked.op.operation.operationId as string;
      requests.push({ method: request.method as string, path: url.pathname, operationId: id, body: checked.body });
      const limit = limited.get(id);
      if (limit && limit.times > 0) {
        limit.times--;
        const body = { errors: [{ type: "RateLimited", message: "Rate limit exceeded" }] };
        respond(checked.op, { status: 429, body, headers: { "retry-after": String(limit.seconds) } }, response);
        return;
      }
      respond(checked.op, answer(state, id, checked.params, checked.body as Json), response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    state,
    requests,
    violations,
    document: used,
    rateLimit: (operationId, times, seconds) => limited.set(operationId, { times, seconds }),
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/** A Segment source as getSource answers it. */
export function segmentSource(id: string, name: string): Json {
  return {
    id,
    slug: name.toLowerCase().replace(/[^a-z0-9]+/g, "_"),
    name,
    workspaceId: "wsSegmentCustomer01",
    enabled: true,
    writeKeys: ["writeKeyOfTheCustomer"],
    labels: [],
    metadata: {
      id: "IqDTy1TpoU",
      slug: "javascript",
      name: "Javascript",
      categories: ["Website"],
      description: "Segment's JavaScript source",
      logos: { default: "https://cdn.example/javascript.svg" },
      options: [],
      isCloudEventSource: false,
    },
  };
}

function metadata(id: string, slug: string, name: string, actions: Json[]): Json {
  return {
    id,
    slug,
    name,
    description: `${name} destination`,
    logos: { default: `https://cdn.example/${slug}.svg` },
    options: [],
    status: "PUBLIC",
    previousNames: [],
    categories: ["Raw Data"],
    website: "https://example.com",
    components: [],
    supportedFeatures: {},
    supportedMethods: {},
    supportedPlatforms: {},
    actions,
    presets: [],
  };
}

/** 230 entries, the Webhooks (Actions) one at position 215: finding it takes the second page. */
function catalogEntries(): Json[] {
  const entries = Array.from({ length: 230 }, (_, i) =>
    metadata(`meta${i}`, `destination-${i}`, `Destination ${i}`, []),
  );
  const send = {
    id: sendActionId,
    slug: "send",
    name: "Send",
    description: "Send an HTTP request.",
    platform: "CLOUD",
    hidden: false,
    defaultTrigger: null,
    fields: [],
  };
  entries[215] = metadata(webhookMetadataId, "actions-webhook", "Webhooks (Actions)", [send]);
  return entries;
}

let ids = 0;
function newId(prefix: string): string {
  ids++;
  return `${prefix}${String(ids).padStart(8, "0")}`;
}

function page<T>(items: readonly T[], params: Json): { slice: T[]; pagination: Json } {
  const { count, cursor } = (params.pagination ?? {}) as { count?: string; cursor?: string };
  const start = cursor ? Number(Buffer.from(cursor, "base64").toString()) : 0;
  const size = Number(count ?? 10);
  const slice = items.slice(start, start + size);
  const pagination: Json = { current: Buffer.from(String(start)).toString("base64"), totalEntries: items.length };
  if (start + size < items.length) pagination.next = Buffer.from(String(start + size)).toString("base64");
  return { slice, pagination };
}

function notFound(): Answer {
  return { status: 404, body: { errors: [{ type: "NotFound", message: "Resource not found" }] } };
}

/** What Segment would answer, from the state. */
function answer(state: PublicApiState, id: string, params: Json, body: Json): Answer {
  const ok = (data: Json): Answer => ({ status: 200, body: { data } });
  const destination = state.destinations.get(params.destinationId as string);
  switch (id) {
    case "getDestinationsCatalog": {
      const { slice, pagination } = page(state.catalog, params);
      return ok({ destinationsCatalog: slice, pagination });
    }
    case "getSource": {
      const source = state.sources.get(params.sourceId as string);
      return source ? ok({ source, trackingPlanId: null }) : notFound();
    }
    case "listConnectedDestinationsFromSource": {
      if (!state.sources.has(params.sourceId as string)) return notFound();
      const connected = [...state.destinations.values()].filter((d) => d.sourceId === params.sourceId);
      const { slice, pagination } = page(connected, params);
      return ok({ destinations: slice, pagination });
    }
    case "createDestination": {
      const meta = state.catalog.find((m) => m.id === body.metadataId);
      if (!meta || !state.sources.has(body.sourceId as string)) return notFound();
      const created: Json = {
        id: newId("dest"),
        name: body.name,
        enabled: body.enabled ?? false,
        metadata: meta,
        settings: body.settings,
        sourceId: body.sourceId,
      };
      state.destinations.set(created.id as string, created);
      return ok({ destination: created });
    }
    case "updateDestination": {
      if (!destination) return notFound();
      for (const key of ["name", "enabled", "settings"]) if (body[key] !== undefined) destination[key] = body[key];
      return ok({ destination });
    }
    case "listSubscriptionsFromDestination": {
      if (!destination) return notFound();
      const { slice, pagination } = page(state.subscriptions.get(destination.id as string) ?? [], params);
      return ok({ subscriptions: slice, pagination });
    }
    case "createDestinationSubscription": {
      if (!destination) return notFound();
      const subscription: Json = {
        id: newId("sub"),
        destinationId: destination.id,
        actionSlug: "send",
        settings: {},
        ...body,
      };
      state.subscriptions.set(destination.id as string, [
        ...(state.subscriptions.get(destination.id as string) ?? []),
        subscription,
      ]);
      return ok({ destinationSubscription: subscription });
    }
    case "updateSubscriptionForDestination": {
      const subscription = state.subscriptions.get(params.destinationId as string)?.find((s) => s.id === params.id);
      if (!subscription) return notFound();
      Object.assign(subscription, (body as { input: Json }).input);
      return ok({ subscription });
    }
    default:
      return { status: 404, body: { errors: [{ type: "NotFound", message: `the stand-in does not serve ${id}` }] } };
  }
}
