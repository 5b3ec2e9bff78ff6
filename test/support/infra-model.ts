import { join, resolve } from "node:path";

/**
 * Runs infra/*.ts against stand-ins for SST's components (no AWS account, no Pulumi engine) and
 * returns what infra gives each function: handler, Node settings, environment and permissions,
 * plus the HTTP API's settings. The deploy rehearsal builds each function's deployed environment
 * from this, and the IAM coverage check compares recorded SDK calls with these permissions, so
 * neither copies a value by hand from infra/.
 *
 * A resource attribute that only exists once deployed (a table's name, a queue's URL or ARN) is
 * a token `{{<Component>.<attribute>}}`; `resolveTokens` replaces tokens with the values of the
 * stage being rehearsed.
 */

/** A function as infra/ defines it (the arguments given to SST's Function component). */
export interface InfraFunction {
  /** Our name for it: the handler file under functions/ (`ingest`, `api`, `normalize`, `sweep`). */
  name: string;
  /** The SST component that made it (`Ingest`, `Api`, `RawQueue` subscriber, `PendingSweep` cron). */
  component: string;
  trigger: "http" | "sqs" | "schedule";
  handler: string;
  runtime: string;
  architecture: string;
  timeoutSeconds: number;
  memoryMb: number;
  nodejs: { minify?: boolean; format?: "esm" | "cjs"; esbuild?: { external?: string[] } };
  /** Values may hold tokens. */
  environment: Record<string, string>;
  permissions: { actions: string[]; resources: string[] }[];
  /** Components given as `link` (SST puts their properties in the function's resource file). */
  link: { name: string; properties: Record<string, string> }[];
}

export interface InfraModel {
  stage: string;
  app: string;
  functions: Record<string, InfraFunction>;
  httpApi: {
    cors: {
      allowOrigins: string[];
      allowMethods: string[];
      allowHeaders: string[];
      exposeHeaders?: string[];
      allowCredentials?: boolean;
      maxAge?: string;
    };
    routes: { route: string; target: string }[];
    /** Arguments infra's `transform` sets on the underlying Pulumi resources, by resource kind. */
    transformed: Record<string, Record<string, unknown>>;
  };
}

const infraDir = resolve(import.meta.dirname, "../../infra");
const infraModules = ["storage", "queue", "functions", "api", "alarms", "console"];

interface StandIn {
  type: string;
  name: string;
  args: Record<string, unknown>;
}

const token = (component: string, attribute: string) => `{{${component}.${attribute}}}`;

function durationSeconds(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const [amount, unit = "seconds"] = String(value).split(" ");
  return Number(amount) * (unit.startsWith("minute") ? 60 : 1);
}

function sizeMb(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return Number(String(value).split(" ")[0]);
}

let evaluated: Promise<InfraModel> | undefined;

/**
 * Evaluates infra/ once per module graph for the given stage name.
 *
 * @example
 * const infra = await evaluateInfra("rehearsal");
 * infra.functions.ingest.permissions; // [{ actions: ["dynamodb:GetItem"], resources: [...] }, ...]
 */
export function evaluateInfra(stage = "rehearsal"): Promise<InfraModel> {
  evaluated ??= load(stage);
  return evaluated;
}

async function load(stage: string): Promise<InfraModel> {
  const app = "segment-ingest";
  const created: StandIn[] = [];
  const functionArgs: { component: string; trigger: InfraFunction["trigger"]; args: Record<string, unknown> }[] = [];
  const routes: { route: string; target: string }[] = [];

  function component(type: string) {
    return class {
      name: string;
      args: Record<string, unknown>;
      arn: string;
      url: string;
      nodes: Record<string, Record<string, string>>;
      constructor(name: string, args: Record<string, unknown> = {}) {
        this.name = token(name, "name");
        this.args = args;
        this.arn = token(name, "arn");
        this.url = token(name, "url");
        this.nodes = {
          queue: { name: token(name, "queueName") },
          function: { name: token(name, "functionName") },
          api: { id: token(name, "apiId") },
        };
        created.push({ type, name, args });
        if (type === "Function") functionArgs.push({ component: name, trigger: "http", args });
        if (type === "Cron") {
          functionArgs.push({ component: name, trigger: "schedule", args: args.function as Record<string, unknown> });
        }
        Object.defineProperty(this, "logicalName", { value: name });
      }
      subscribe(fn: Record<string, unknown>) {
        const logical = (this as unknown as { logicalName: string }).logicalName;
        functionArgs.push({ component: `${logical}Subscriber`, trigger: "sqs", args: fn });
        return {
          nodes: { function: { name: token(`${logical}Subscriber`, "functionName"), arn: token(logical, "arn") } },
        };
      }
      route(route: string, target: string) {
        routes.push({ route, target });
      }
    };
  }

  const previous = {
    $app: (globalThis as Record<string, unknown>).$app,
    $interpolate: (globalThis as Record<string, unknown>).$interpolate,
    sst: (globalThis as Record<string, unknown>).sst,
    aws: (globalThis as Record<string, unknown>).aws,
  };
  Object.assign(globalThis, {
    $app: { stage, name: app },
    $interpolate: (strings: TemplateStringsArray, ...values: unknown[]) => String.raw({ raw: strings }, ...values),
    sst: {
      aws: {
        Dynamo: component("Dynamo"),
        Queue: component("Queue"),
        Function: component("Function"),
        Cron: component("Cron"),
        ApiGatewayV2: component("ApiGatewayV2"),
        SnsTopic: component("SnsTopic"),
        StaticSite: component("StaticSite"),
      },
    },
    aws: { cloudwatch: { MetricAlarm: component("MetricAlarm") } },
  });
  try {
    // In sst.config.ts's order. Imported by path so the app's type check does not follow them into
    // infra/ (which type-checks against SST's platform types, see infra/tsconfig.json).
    for (const module of infraModules) await import(join(infraDir, `${module}.ts`));
  } finally {
    Object.assign(globalThis, previous);
  }

  const functions: Record<string, InfraFunction> = {};
  for (const { component: name, trigger, args } of functionArgs) {
    const handler = String(args.handler);
    const fileName = handler.replace(/^functions\//, "").replace(/\.[^.]+$/, "");
    functions[fileName] = {
      name: fileName,
      component: name,
      trigger,
      handler,
      runtime: String(args.runtime ?? "nodejs24.x"),
      architecture: String(args.architecture ?? "x86_64"),
      timeoutSeconds: durationSeconds(args.timeout, 20),
      memoryMb: sizeMb(args.memory, 1024),
      nodejs: (args.nodejs ?? {}) as InfraFunction["nodejs"],
      environment: { ...((args.environment ?? {}) as Record<string, string>) },
      permissions: ((args.permissions ?? []) as InfraFunction["permissions"]).map((p) => ({
        actions: [...p.actions],
        resources: [...p.resources],
      })),
      link: ((args.link ?? []) as { name: string; url: string; arn: string }[]).map((linked) => ({
        name: linked.name.replace(/^\{\{(.+)\.name\}\}$/, "$1"),
        properties: { name: linked.name, url: linked.url, arn: linked.arn },
      })),
    };
  }

  const api = created.find((c) => c.type === "ApiGatewayV2");
  if (!api) throw new Error("infra/ defines no HTTP API");
  const transformed: Record<string, Record<string, unknown>> = {};
  for (const [kind, transform] of Object.entries((api.args.transform ?? {}) as Record<string, unknown>)) {
    const target: Record<string, unknown> = {};
    if (typeof transform === "function") transform(target);
    else Object.assign(target, transform);
    transformed[kind] = target;
  }
  return {
    stage,
    app,
    functions,
    httpApi: { cors: api.args.cors as InfraModel["httpApi"]["cors"], routes, transformed },
  };
}

/**
 * Replaces every `{{Component.attribute}}` token with its value; an unknown token is an error
 * (infra/ gave a function something the rehearsal does not know how to stand up).
 *
 * @example
 * resolveTokens("{{Entities.name}}", { "Entities.name": "t1234-Entities" }); // "t1234-Entities"
 */
export function resolveTokens(value: string, values: Record<string, string>): string {
  return value.replace(/\{\{([^}]+)\}\}/g, (_match, key: string) => {
    const resolved = values[key];
    if (resolved === undefined) throw new Error(`infra/ refers to ${key}, which the rehearsal has no value for`);
    return resolved;
  });
}
