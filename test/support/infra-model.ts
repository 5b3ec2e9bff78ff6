import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

/**
 * What `sst deploy` would create for this app's functions and HTTP API, read from SST's real
 * components run under Pulumi's mocks (infra-eval.ts, in a child process): each function's
 * Lambda environment and settings, the build input SST's CLI would bundle it from, its role's
 * policy statements, and the API's CORS, stage settings, routes and integrations. The deploy
 * rehearsal builds and runs the functions from this, and the IAM coverage check compares recorded
 * SDK calls with these policies, so nothing is copied by hand from infra/ or from SST.
 *
 * A resource attribute that only exists once deployed is a token `{{<Component>.<attribute>}}`
 * (`{{Entities.name}}`, `{{RawQueue.url}}`, `{{RawQueue.arn}}`); `resolveTokens` replaces them
 * with the values of the stage being rehearsed.
 */

const root = resolve(import.meta.dirname, "../..");
const execFileAsync = promisify(execFile);

/** A function as SST would deploy it. */
export interface InfraFunction {
  /** Our name for it: the handler file under functions/ (`ingest`, `api`, `normalize`, `sweep`). */
  name: string;
  /** SST's id for it (`Ingest`, `Api`, `PendingSweepHandler`, `RawQueueSubscriber…Function`). */
  component: string;
  trigger: "http" | "sqs" | "schedule";
  /** The Lambda function's name (`<app>-<stage>-<component>Function-<suffix>`). */
  functionName: string;
  handler: string;
  runtime: string;
  architecture: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The `nodejs` properties SST's CLI bundles with (infra's `nodejs` settings plus the architecture). */
  nodejs: { minify?: boolean; format?: "esm" | "cjs"; sourceMap?: boolean; esbuild?: { external?: string[] } };
  /** The Lambda environment SST sets, SST's own variables included. Values may hold tokens. */
  environment: Record<string, string>;
  /** SST_KEY: the key `resource.enc` is encrypted with. */
  encryptionKey: string;
  /** Linked resources SST writes into `resource.enc`. */
  links: Record<string, unknown>;
  /** The role's inline policy statements. */
  permissions: { actions: string[]; resources: string[] }[];
}

export interface InfraModel {
  stage: string;
  app: string;
  functions: Record<string, InfraFunction>;
  /** Lambda event source mappings (SQS subscriptions). */
  subscriptions: {
    function: string;
    /** Token of the queue's ARN. */
    queue: string;
    batchSize: number;
    maximumBatchingWindowSeconds: number;
    reportBatchItemFailures: boolean;
  }[];
  /** EventBridge rules that invoke a function. */
  schedules: { function: string; expression: string }[];
  httpApi: {
    cors?: {
      allowOrigins: string[];
      allowMethods: string[];
      allowHeaders: string[];
      exposeHeaders?: string[];
      allowCredentials?: boolean;
      maxAge?: number;
    };
    /** The stage's `defaultRouteSettings` (throttling). */
    defaultRouteSettings: Record<string, unknown>;
    routes: { route: string; function: string; payloadFormatVersion: string; timeoutMilliseconds?: number }[];
  };
}

interface Evaluated {
  app: string;
  stage: string;
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  builds: Record<string, unknown>[];
}

/** `sst install` writes SST's platform sources; CI's type check does it first, a fresh clone may not have. */
function ensurePlatform(): void {
  if (existsSync(join(root, ".sst/platform/src/components/index.ts"))) return;
  console.info("infra-model: SST's platform sources are missing; running `npm run sst:install` (offline)");
  execFileSync("npm", ["run", "sst:install"], { cwd: root, stdio: "inherit" });
}

function byType(evaluated: Evaluated, type: string) {
  return evaluated.resources.filter((r) => r.type === type);
}

function modelOf(evaluated: Evaluated): InfraModel {
  const lambdas = byType(evaluated, "aws:lambda/function:Function");
  const roles = byType(evaluated, "aws:iam/role:Role");
  const sqsMappings = byType(evaluated, "aws:lambda/eventSourceMapping:EventSourceMapping");
  const eventTargets = byType(evaluated, "aws:cloudwatch/eventTarget:EventTarget");
  const rules = byType(evaluated, "aws:cloudwatch/eventRule:EventRule");
  /** A mock ARN (`arn:aws:mock:…:<component>Function`) names the component's Lambda function. */
  const invokes = (arn: unknown, component: string) => String(arn).endsWith(`:${component}Function`);
  const functions: Record<string, InfraFunction> = {};
  const nameOfComponent: Record<string, string> = {};
  for (const build of evaluated.builds) {
    const component = String(build.functionID);
    const lambda = lambdas.find((l) => l.name === `${component}Function`);
    if (!lambda) throw new Error(`SST built ${component} but created no Lambda function for it`);
    const handler = String(lambda.inputs.handler);
    const name = handler.replace(/^functions\//, "").replace(/\.[^.]+$/, "");
    nameOfComponent[component] = name;
    const role = roles.find((r) => r.name === `${component}Role`);
    const inline = (role?.inputs.inlinePolicies ?? []) as { policy: string }[];
    const permissions = inline.flatMap(
      (p) => (JSON.parse(p.policy) as { Statement: { actions: string[]; resources: string[] }[] }).Statement,
    );
    const variables = ((lambda.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ??
      {}) as Record<string, string>;
    const properties = (build.properties ?? {}) as InfraFunction["nodejs"] & { architecture?: string };
    functions[name] = {
      name,
      component,
      trigger: sqsMappings.some((m) => invokes(m.inputs.functionName, component))
        ? "sqs"
        : eventTargets.some((t) => invokes(t.inputs.arn, component))
          ? "schedule"
          : "http",
      functionName: String(lambda.inputs.name),
      handler,
      runtime: String(lambda.inputs.runtime),
      architecture: String((lambda.inputs.architectures as string[] | undefined)?.[0] ?? "x86_64"),
      timeoutSeconds: Number(lambda.inputs.timeout),
      memoryMb: Number(lambda.inputs.memorySize),
      nodejs: properties,
      environment: { ...variables },
      encryptionKey: String(build.encryptionKey),
      links: (build.links ?? {}) as Record<string, unknown>,
      permissions: permissions.map((s) => ({ actions: [...s.actions], resources: [...s.resources] })),
    };
  }

  const api = byType(evaluated, "aws:apigatewayv2/api:Api")[0];
  const stage = byType(evaluated, "aws:apigatewayv2/stage:Stage")[0];
  const integrations = byType(evaluated, "aws:apigatewayv2/integration:Integration");
  const routes = byType(evaluated, "aws:apigatewayv2/route:Route").map((route) => {
    const integrationId = String(route.inputs.target)
      .replace(/^integrations\//, "")
      .replace(/-id$/, "");
    const integration = integrations.find((i) => i.name === integrationId);
    const uri = String(integration?.inputs.integrationUri ?? "");
    const component = Object.keys(nameOfComponent).find((c) => invokes(uri, c));
    return {
      route: String(route.inputs.routeKey),
      function: component ? (nameOfComponent[component] as string) : uri,
      payloadFormatVersion: String(integration?.inputs.payloadFormatVersion ?? "1.0"),
      ...(integration?.inputs.timeoutMilliseconds !== undefined
        ? { timeoutMilliseconds: Number(integration.inputs.timeoutMilliseconds) }
        : {}),
    };
  });
  const functionOf = (arn: unknown) => {
    const component = Object.keys(nameOfComponent).find((c) => invokes(arn, c));
    return component ? (nameOfComponent[component] as string) : String(arn);
  };
  return {
    stage: evaluated.stage,
    app: evaluated.app,
    functions,
    subscriptions: sqsMappings.map((m) => ({
      function: functionOf(m.inputs.functionName),
      queue: String(m.inputs.eventSourceArn),
      batchSize: Number(m.inputs.batchSize ?? 10),
      maximumBatchingWindowSeconds: Number(m.inputs.maximumBatchingWindowInSeconds ?? 0),
      reportBatchItemFailures: ((m.inputs.functionResponseTypes ?? []) as string[]).includes("ReportBatchItemFailures"),
    })),
    schedules: eventTargets.map((t) => ({
      function: functionOf(t.inputs.arn),
      expression: String(rules.find((r) => String(t.inputs.rule).includes(r.name))?.inputs.scheduleExpression ?? ""),
    })),
    httpApi: {
      cors: api?.inputs.corsConfiguration as InfraModel["httpApi"]["cors"],
      defaultRouteSettings: (stage?.inputs.defaultRouteSettings ?? {}) as Record<string, unknown>,
      routes,
    },
  };
}

/** Refuses a model with a function, role, route or integration missing. */
function complete(model: InfraModel, evaluated: Evaluated): InfraModel {
  const problems: string[] = [];
  const lambdas = byType(evaluated, "aws:lambda/function:Function").length;
  if (evaluated.builds.length === 0 || lambdas !== evaluated.builds.length) {
    problems.push(`${evaluated.builds.length} builds but ${lambdas} Lambda functions`);
  }
  for (const fn of Object.values(model.functions)) {
    if (!evaluated.resources.some((r) => r.type === "aws:iam/role:Role" && r.name === `${fn.component}Role`)) {
      problems.push(`no role for ${fn.name}`);
    }
    if (!fn.environment.SST_RESOURCE_App) problems.push(`no SST environment on ${fn.name}`);
  }
  const routes = byType(evaluated, "aws:apigatewayv2/route:Route").length;
  const integrations = byType(evaluated, "aws:apigatewayv2/integration:Integration").length;
  if (routes === 0 || routes !== integrations) problems.push(`${routes} routes but ${integrations} integrations`);
  if (model.httpApi.routes.some((r) => !model.functions[r.function])) problems.push("a route names no function");
  if (problems.length > 0) throw new Error(`infra/ under Pulumi's mocks came out incomplete: ${problems.join("; ")}`);
  return model;
}

const evaluations = new Map<string, Promise<InfraModel>>();

/**
 * Evaluates infra/ with SST's components under Pulumi's mocks, once per process and stage name.
 *
 * @example
 * const infra = await evaluateInfra("rehearsal");
 * infra.functions.ingest.permissions; // [{ actions: ["dynamodb:GetItem"], resources: [...] }, ...]
 */
export function evaluateInfra(stage = "rehearsal"): Promise<InfraModel> {
  let evaluation = evaluations.get(stage);
  if (!evaluation) {
    evaluation = (async () => {
      ensurePlatform();
      const work = mkdtempSync(join(tmpdir(), "infra-eval-"));
      try {
        const stdout = await execFileAsync(
          process.execPath,
          ["--import", "tsx", join(root, "test/support/infra-eval.ts"), stage, work],
          { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
        ).then(
          (done) => done.stdout,
          // Pulumi's leak check can fail the exit after the document was written (infra-eval.ts).
          (error: { stdout?: string; stderr?: string; message: string }) => {
            if (error.stdout?.trim().split("\n").pop()?.startsWith("{")) return error.stdout;
            throw new Error(`evaluating infra/ under Pulumi's mocks failed: ${error.stderr || error.message}`);
          },
        );
        const evaluated = JSON.parse(stdout.trim().split("\n").pop() ?? "") as Evaluated;
        return complete(modelOf(evaluated), evaluated);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    })();
    evaluations.set(stage, evaluation);
  }
  return evaluation;
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
