/**
 * Runs sst.config.ts's infra/ with SST's real components (the platform sources `sst install`
 * writes to .sst/platform) under Pulumi's mocks (`runtime.setMocks`), and prints, as one JSON
 * document on stdout, what SST would deploy for each function: the Lambda function's environment
 * and settings, the inputs SST's CLI would get to build it (`Runtime.Build`), its role's policy
 * statements, and the HTTP API's CORS, stage, routes and integrations.
 *
 * Pulumi's exit hook may still count promises of outputs nothing waits on and set exit code 1;
 * infra-model.ts reads the document and checks it is complete instead of trusting the exit code.
 *
 * Run by infra-model.ts in its own process (`node --import tsx test/support/infra-eval.ts <stage>
 * <work dir>`): Pulumi's runtime and SST's `$app`/`sst` globals stay out of the test runner.
 *
 * SST's components call its CLI over RPC for two things; a small loopback server stands in:
 * `Provider.Aws.Bootstrap` (the bootstrap bucket's name) and `Runtime.Build` (answered with an
 * empty output folder; infra-model's caller bundles the function itself from the recorded input).
 * The AWS data sources SST reads (partition, region, account, policy documents) are answered by
 * the mocks. A deployed attribute (a table's name, a queue's URL or ARN) is the token
 * `{{<Component>.<attribute>}}`, resolved later by `resolveTokens`.
 */
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "../..");
const platform = join(root, ".sst/platform");
const stage = process.argv[2] ?? "rehearsal";
const work = process.argv[3] ?? join(root, ".sst");
const region = "eu-west-1";

const platformModule = (path: string) => import(pathToFileURL(join(platform, path)).href);

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const resources: Recorded[] = [];
const builds: Record<string, unknown>[] = [];
const buildOut = join(work, "rehearsal-build-stub");
mkdirSync(buildOut, { recursive: true });

const server = createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => {
    body += chunk;
  });
  request.on("end", () => {
    const { method, params } = JSON.parse(body) as { method: string; params: unknown };
    const input = (Array.isArray(params) ? params[0] : params) as Record<string, unknown>;
    let result: unknown;
    let error: string | null = null;
    if (method === "Provider.Aws.Bootstrap") {
      result = {
        asset: "rehearsal-bootstrap-asset",
        assetEcrRegistryId: "",
        assetEcrUrl: "",
        state: "",
        appsyncHttp: "",
        appsyncRealtime: "",
      };
    } else if (method === "Runtime.Build") {
      builds.push(input);
      result = { handler: input.handler, out: buildOut, errors: [], sourcemaps: [] };
    } else {
      error = `rpc: can't find method ${method}`;
    }
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ id: 0, result, error }));
  });
});
await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
const address = server.address();
process.env.SST_SERVER = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

/** `EntitiesTable` → `Entities`, `RawQueueQueue` → `RawQueue`: the component behind a resource. */
function componentOf(type: string, name: string): string | undefined {
  if (type === "aws:dynamodb/table:Table") return name.replace(/Table$/, "");
  if (type === "aws:sqs/queue:Queue") return name.replace(/Queue$/, "");
  return undefined;
}

const pulumi = await platformModule("node_modules/@pulumi/pulumi/index.js");
await pulumi.runtime.setMocks(
  {
    newResource(args: { type: string; name: string; inputs: Record<string, unknown> }) {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs });
      const component = componentOf(args.type, args.name);
      const state: Record<string, unknown> = {
        ...args.inputs,
        arn: component ? `{{${component}.arn}}` : `arn:aws:mock:${region}:123456789012:${args.name}`,
      };
      if (component && args.type.startsWith("aws:dynamodb")) state.name = `{{${component}.name}}`;
      if (component && args.type.startsWith("aws:sqs")) {
        state.url = `{{${component}.url}}`;
        state.name = `{{${component}.queueName}}`;
      }
      if (args.type === "random:index/randomBytes:RandomBytes") state.base64 = Buffer.alloc(32, 7).toString("base64");
      if (args.type === "aws:apigatewayv2/api:Api")
        state.apiEndpoint = `https://rehearsal.execute-api.${region}.amazonaws.com`;
      return { id: `${args.name}-id`, state };
    },
    call(args: { token: string; inputs: Record<string, unknown> }) {
      switch (args.token) {
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com" };
        case "aws:index/getRegion:getRegion":
          return { name: region, region };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:root", userId: "rehearsal" };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
          return { ...args.inputs, json: JSON.stringify({ Version: "2012-10-17", Statement: args.inputs.statements }) };
        default:
          return {};
      }
    },
  },
  "segment-ingest",
  stage,
  false,
);

// The globals SST's CLI defines for sst.config.ts (see .sst/platform/src/shim/run.js).
Object.assign(globalThis, { $config: (config: unknown) => config });
const config = (await import(pathToFileURL(join(root, "sst.config.ts")).href)).default as {
  app(input: { stage: string }): { name: string; removal: string; home: string };
  run(): Promise<unknown>;
};
const app = config.app({ stage });
Object.assign(globalThis, {
  $app: { ...app, stage, providers: { aws: { region } } },
  $dev: false,
  $cli: {
    command: "deploy",
    dev: false,
    paths: { home: work, root, work, platform },
    state: { version: {} },
  },
  $util: pulumi,
  $interpolate: pulumi.interpolate,
  $output: pulumi.output,
  $resolve: pulumi.all,
  $concat: pulumi.concat,
  $jsonStringify: pulumi.jsonStringify,
  $jsonParse: pulumi.jsonParse,
  $print: () => {},
  $secrets: {},
});
const component = await platformModule("src/components/component.ts");
Object.assign(globalThis, {
  $transform: component.$transform,
  $asset: component.$asset,
  sst: await platformModule("src/components/index.ts"),
  aws: await platformModule("node_modules/@pulumi/aws/index.js"),
});

// sst.config.ts's run(), minus the Console's static site (a Vite build, not a function).
for (const module of ["storage", "queue", "functions", "api", "alarms"]) {
  await import(pathToFileURL(join(root, "infra", `${module}.ts`)).href);
}

// Outputs resolve asynchronously; every registration is an RPC (to the mocks), and SST's build
// and zip steps run inside outputs that registrations wait on: wait until that queue has drained
// and stays drained (an output resolving late can start new registrations).
let seen = -1;
while (seen !== resources.length + builds.length) {
  seen = resources.length + builds.length;
  await pulumi.runtime.waitForRPCs();
  await new Promise((done) => setTimeout(done, 250));
}
server.close();

process.stdout.write(
  `${JSON.stringify({
    app: app.name,
    stage,
    region,
    resources: resources.filter((r) =>
      [
        "aws:lambda/function:Function",
        "aws:iam/role:Role",
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigatewayv2/route:Route",
        "aws:apigatewayv2/integration:Integration",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
      ].includes(r.type),
    ),
    builds,
  })}\n`,
);
process.exit(0);
