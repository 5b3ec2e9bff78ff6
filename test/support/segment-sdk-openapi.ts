import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * An OpenAPI 3.1 document for the Segment Public API operations `segment connect` uses, derived
 * from the generated sources that Segment's official SDK package (`@segment/public-api-sdk-typescript`)
 * ships. openapi-generator built that package from Segment's own OpenAPI document ("The version of
 * the OpenAPI document: 47.0.0" heads each file), so this is the shape Segment published, as its own
 * library carries it. What is read, and from where:
 *
 * - `api/<tag>Api.ts`, one method per operation: the path template (`localVarPath`), the HTTP
 *   method (`method: 'POST'`), its parameters (optional when declared `name?:`; in the path when
 *   the template names them, else in the query, bracket-encoded like `pagination[count]=200` as the
 *   SDK's `request` client sends them), its body model (`ObjectSerializer.serialize(x, 'Model')`),
 *   its success model (`ObjectSerializer.deserialize(body, 'Model')`), its media types (`produces`)
 *   and its auth (`this.authentications.token`, an `HttpBearerAuth`: `Authorization: Bearer <token>`).
 * - `model/<model>.ts`, one class per schema: each declared property (`'name'?: type` is optional,
 *   `'name': type` required), its JSON name (`attributeTypeMap`'s `baseName`) and type: string,
 *   number, boolean, `any`, `Date`, `| null`, `Array<T>`, `{ [key: string]: T }`, an enum of the
 *   class's namespace, or another model (followed recursively through the file's imports).
 *
 * Two things the generated client does not carry are filled in, and said here: the request media
 * types are taken to be the versioned ones of the operation's `produces` list (Segment versions
 * requests and responses by the same `application/vnd.segment.<version>+json` types; its published
 * document lists request bodies under those only, not under plain `application/json`), and every
 * operation's `default` (error) response is the SDK's `RequestErrorEnvelope` model, the
 * `{ errors: [...] }` body its `HttpError` carries (the published document lists 404, 422 and 429
 * with it). Anything the reader does not recognise throws rather than being skipped.
 */

type Json = Record<string, unknown>;

/** The operations `segment connect` calls (packages/cli/src/segment/public-api.ts), by SDK api file. */
export const connectOperations: Record<string, string[]> = {
  catalogApi: ["getDestinationsCatalog"],
  sourcesApi: ["getSource", "listConnectedDestinationsFromSource"],
  destinationsApi: [
    "createDestination",
    "updateDestination",
    "listSubscriptionsFromDestination",
    "createDestinationSubscription",
    "updateSubscriptionForDestination",
  ],
};

const errorModel = "RequestErrorEnvelope";

export function sdkPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("@segment/public-api-sdk-typescript/package.json"));
}

export interface DerivedDocument {
  document: Json;
  /** The OpenAPI document version the SDK was generated from. */
  openApiVersion: string;
  sdkVersion: string;
}

export function deriveSegmentOpenApi(
  operations: Record<string, string[]> = connectOperations,
  dir = sdkPackageDir(),
): DerivedDocument {
  const schemas = new ModelReader(join(dir, "model"));
  const paths: Record<string, Record<string, Json>> = {};
  let openApiVersion: string | undefined;
  for (const [file, ids] of Object.entries(operations)) {
    const source = readFileSync(join(dir, "api", `${file}.ts`), "utf8");
    openApiVersion ??= /The version of the OpenAPI document: (\S+)/.exec(source)?.[1];
    const bearer = /\btoken: new HttpBearerAuth\(\)/.test(source);
    for (const id of ids) {
      const { template, method, operation } = readOperation(source, id, bearer, schemas);
      paths[template] ??= {};
      if (paths[template][method]) throw new Error(`${id}: ${method} ${template} is already ${file}'s`);
      paths[template][method] = operation;
    }
  }
  schemas.add(errorModel);
  const sdkVersion = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
  if (!openApiVersion) throw new Error("the SDK's sources do not say which OpenAPI document they came from");
  const document = {
    openapi: "3.1.0",
    info: {
      title: "Segment Public API (the operations segment connect uses, derived from the official SDK)",
      version: openApiVersion,
      description: `Derived from @segment/public-api-sdk-typescript ${sdkVersion} (test/support/segment-sdk-openapi.ts).`,
    },
    servers: [{ url: "https://api.segmentapis.com" }],
    paths,
    components: {
      schemas: schemas.schemas,
      securitySchemes: { token: { type: "http", scheme: "bearer" } },
    },
  };
  return { document, openApiVersion, sdkVersion };
}

function readOperation(source: string, id: string, bearer: boolean, schemas: ModelReader) {
  const start = source.indexOf(`    public async ${id}(`);
  if (start < 0) throw new Error(`the SDK has no operation ${id}`);
  const next = source.indexOf("    public async ", start + 1);
  const body = source.slice(start, next < 0 ? undefined : next);
  const signature = body.slice(0, body.indexOf("options: {"));
  const params = [...signature.matchAll(/^ {8}(\w+)(\?)?: ([^,\n]+),$/gm)].map((m) => ({
    name: m[1] as string,
    required: m[2] === undefined,
    type: (m[3] as string).trim(),
  }));
  const template = need(/localVarPath =[\s\S]*?'(\/[^']*)'/.exec(body)?.[1], id, "path");
  const method = need(/\bmethod: '([A-Z]+)'/.exec(body)?.[1], id, "method").toLowerCase();
  const produces = [
    ...need(/const produces = \[([^\]]*)\]/.exec(body)?.[1], id, "produces").matchAll(/'([^']+)'/g),
  ].map((m) => m[1] as string);
  const response = need(/ObjectSerializer\.deserialize\(\s*body,\s*'([^']+)'/.exec(body)?.[1], id, "response model");
  const bodyArg = /\bbody: ObjectSerializer\.serialize\(\s*(\w+),\s*'([^']+)'/.exec(body);
  const queried = new Map(
    [...body.matchAll(/localVarQueryParameters\['([^']+)'\] = ObjectSerializer\.serialize\(\s*(\w+),/g)].map((m) => [
      m[2] as string,
      m[1] as string,
    ]),
  );
  const inPath = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);

  const parameters: Json[] = [];
  let requestBody: Json | undefined;
  for (const param of params) {
    if (bodyArg && param.name === bodyArg[1]) {
      const schema = { $ref: schemas.add(need(bodyArg[2], id, "body model")) };
      const versioned = produces.filter((type) => type.startsWith("application/vnd.segment."));
      if (versioned.length === 0) throw new Error(`${id}: no versioned media type for its body`);
      const content = Object.fromEntries(versioned.map((type) => [type, { schema }]));
      requestBody = { required: param.required, content };
    } else if (inPath.includes(param.name)) {
      parameters.push({ name: param.name, in: "path", required: true, schema: schemas.type(param.type) });
    } else if (queried.has(param.name)) {
      const schema = schemas.type(param.type);
      const query: Json = { name: queried.get(param.name), in: "query", required: param.required, schema };
      if (schema.$ref) Object.assign(query, { style: "deepObject", explode: true });
      parameters.push(query);
    } else throw new Error(`${id}: parameter ${param.name} is neither in the path, the query nor the body`);
  }
  for (const name of inPath) {
    if (!params.some((p) => p.name === name)) throw new Error(`${id}: path parameter ${name} has no argument`);
  }
  if (!bearer || !body.includes("this.authentications.token.applyToRequest")) {
    throw new Error(`${id}: the SDK does not send a bearer token with it`);
  }
  const content = (ref: string) => Object.fromEntries(produces.map((type) => [type, { schema: { $ref: ref } }]));
  const operation: Json = {
    operationId: id,
    parameters,
    ...(requestBody ? { requestBody } : {}),
    responses: {
      "200": { description: "OK", content: content(schemas.add(response)) },
      default: { description: "An error", content: content(schemas.add(errorModel)) },
    },
    security: [{ token: [] }],
  };
  return { template, method, operation };
}

function need<T>(value: T | undefined, id: string, what: string): T {
  if (value === undefined) throw new Error(`${id}: the SDK's source has no ${what} the reader recognises`);
  return value;
}

/** Models read from the SDK's `model/` directory into `components.schemas`, each once. */
class ModelReader {
  readonly schemas: Record<string, Json> = {};
  /** Model name → file name, from the imports of the files read so far. */
  private readonly files = new Map<string, string>();

  constructor(private readonly dir: string) {}

  /** Reads `name` (and, through it, every model it uses); returns its `$ref`. */
  add(name: string): string {
    if (!this.schemas[name]) {
      this.schemas[name] = {};
      this.schemas[name] = this.read(name);
    }
    return `#/components/schemas/${name}`;
  }

  private fileOf(name: string): string {
    const file = this.files.get(name) ?? `${name[0]?.toLowerCase()}${name.slice(1)}`;
    const path = join(this.dir, `${file}.ts`);
    if (!existsSync(path)) throw new Error(`the SDK has no model file for ${name}`);
    return path;
  }

  private read(name: string): Json {
    const source = readFileSync(this.fileOf(name), "utf8");
    for (const m of source.matchAll(/^import \{ (\w+) \} from '\.\/(\w+)';$/gm)) {
      this.files.set(m[1] as string, m[2] as string);
    }
    const declared = new RegExp(`^export class ${name} \\{\\n([\\s\\S]*?)\\n {4}static discriminator`, "m").exec(
      source,
    );
    if (!declared) throw new Error(`model ${name}: no class declaration the reader recognises`);
    const lines = (declared[1] as string)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("/**") && !l.startsWith("*"));
    const map = [...source.matchAll(/name: '(\w+)',\s*baseName: '([^']+)',\s*type: '([^']+)'/g)].map((m) => ({
      name: m[1] as string,
      baseName: m[2] as string,
    }));
    const properties: Json = {};
    const required: string[] = [];
    for (const line of lines) {
      const property = /^'(\w+)'(\?)?: (.+);$/.exec(line);
      if (!property) throw new Error(`model ${name}: a declaration the reader does not recognise: ${line}`);
      const entry = map.find((m) => m.name === property[1]);
      if (!entry) throw new Error(`model ${name}: ${property[1]} is not in its attributeTypeMap`);
      properties[entry.baseName] = this.type(property[3] as string, name, source);
      if (property[2] === undefined) required.push(entry.baseName);
    }
    if (map.length !== lines.length) throw new Error(`model ${name}: attributeTypeMap and declarations differ`);
    const description = /\/\*\*\n \* ([^\n]+)\n \*\/\nexport class/.exec(source)?.[1];
    return {
      type: "object",
      ...(description ? { description } : {}),
      properties,
      ...(required.length > 0 ? { required } : {}),
    };
  }

  /** A declared TypeScript type as a JSON Schema. */
  type(text: string, owner?: string, ownerSource?: string): Json {
    const t = text.trim();
    const union = splitTopLevel(t, "|");
    if (union.length > 1) {
      const others = union.filter((u) => u !== "null");
      if (others.length !== 1 || union.length !== 2) throw new Error(`unsupported union type ${t}`);
      const inner = this.type(others[0] as string, owner, ownerSource);
      if (Object.keys(inner).length === 0) return {};
      if (typeof inner.type === "string") return { ...inner, type: [inner.type, "null"] };
      return { anyOf: [inner, { type: "null" }] };
    }
    if (t === "string") return { type: "string" };
    if (t === "number") return { type: "number" };
    if (t === "boolean") return { type: "boolean" };
    if (t === "any") return {};
    if (t === "Date") return { type: "string", format: "date-time" };
    const array = /^Array<(.+)>$/.exec(t);
    if (array) return { type: "array", items: this.type(array[1] as string, owner, ownerSource) };
    const map = /^\{ \[key: string\]: (.+?);? \}$/.exec(t);
    if (map) {
      const values = this.type(map[1] as string, owner, ownerSource);
      return Object.keys(values).length === 0 ? { type: "object" } : { type: "object", additionalProperties: values };
    }
    const enumRef = /^(\w+)\.(\w+Enum)$/.exec(t);
    if (enumRef) {
      const source =
        enumRef[1] === owner && ownerSource ? ownerSource : readFileSync(this.fileOf(enumRef[1] as string), "utf8");
      const block = new RegExp(`export enum ${enumRef[2]} \\{([^}]*)\\}`).exec(source);
      if (!block) throw new Error(`no enum ${t}`);
      const values = [...(block[1] as string).matchAll(/= <any>'([^']*)'/g)].map((m) => m[1]);
      if (values.length === 0) throw new Error(`enum ${t} has no string values the reader recognises`);
      return { type: "string", enum: values };
    }
    if (/^[A-Z]\w*$/.test(t)) return { $ref: this.add(t) };
    throw new Error(`unsupported type ${t}${owner ? ` in model ${owner}` : ""}`);
  }
}

/** `a | b` split at the top level only (not inside `<...>` or `{...}`). */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if (char === "<" || char === "{") depth++;
    if (char === ">" || char === "}") depth--;
    if (char === separator && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += char;
  }
  parts.push(current.trim());
  return parts;
}
