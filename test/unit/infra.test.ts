import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../packages/aws/src/dynamo/keys";
import { type FunctionName, routes } from "../../packages/core/src/http/routes";
import { httpApiCors } from "../../packages/resources/src/cors";
import {
  DeadLetterQueue,
  EntitiesTable,
  EventsTable,
  functionSettings,
  normalizeSubscription,
  RawQueue,
} from "../../packages/resources/src/definitions";

/**
 * Runs infra/*.ts against stand-ins for SST's components and records what each resource is given,
 * so the settings that matter are checked without an AWS account.
 */
interface Created {
  type: string;
  name: string;
  args: Record<string, unknown>;
}
const created: Created[] = [];
const subscriptions: { queue: string; fn: Record<string, unknown>; options: Record<string, unknown> }[] = [];
const apiRoutes: { route: string; target: unknown }[] = [];

function component(type: string) {
  return class {
    name: string;
    args: Record<string, unknown>;
    arn: string;
    url: string;
    nodes: Record<string, Record<string, string>>;
    constructor(name: string, args: Record<string, unknown> = {}) {
      this.name = name;
      this.args = args;
      this.arn = `arn:${type}:${name}`;
      this.url = `https://${name}.example`;
      this.nodes = {
        queue: { name: `${name}-queue` },
        function: { name: `${name}-function` },
        api: { id: `${name}-api` },
      };
      created.push({ type, name, args });
    }
    subscribe(fn: Record<string, unknown>, options: Record<string, unknown> = {}) {
      subscriptions.push({ queue: this.name, fn, options });
      return { nodes: { function: { name: `${this.name}-subscriber` } } };
    }
    route(route: string, target: unknown) {
      apiRoutes.push({ route, target });
    }
  };
}

const byName = (name: string) => {
  const found = created.find((c) => c.name === name);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
/** The SST component of each function the route table names. */
const components: Record<FunctionName, string> = { ingest: "Ingest", "stripe-ingest": "StripeIngest", api: "Api" };
const seconds = (duration: unknown) => Number(String(duration).split(" ")[0]);

beforeAll(async () => {
  Object.assign(globalThis, {
    $app: { stage: "production", name: "segment-ingest" },
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
  await import("../../infra/storage");
  await import("../../infra/queue");
  await import("../../infra/functions");
  await import("../../infra/api");
  await import("../../infra/alarms");
  await import("../../infra/console");
});

describe("infrastructure settings", () => {
  it("creates the tables with the keys, indexes and TTL the code uses", () => {
    for (const definition of [EntitiesTable, EventsTable]) {
      const args = byName(definition.name).args as Record<string, Record<string, unknown>>;
      expect(args.primaryIndex).toEqual({ hashKey: "pk", rangeKey: "sk" });
      expect(args.ttl).toBe(definition.ttlAttribute);
      expect(Object.keys(args.globalIndexes ?? {})).toEqual(definition.globalIndexes.map((i) => i.name));
      expect(args.deletionProtection).toBe(true);
    }
    // The attributes the key module writes are the ones the indexes are built on.
    const entitiesIndexes = Object.fromEntries(
      EntitiesTable.globalIndexes.map((i) => [i.name, [i.partitionKey, i.sortKey]]),
    );
    expect(Object.keys(keys.membershipIndex("w", "a", "u"))).toEqual(entitiesIndexes.byUser);
    expect(Object.keys(keys.bucketIndex("w", "trial", "a"))).toEqual(entitiesIndexes.byBucket);
    const eventIndexes = Object.fromEntries(EventsTable.globalIndexes.map((i) => [i.name, i.partitionKey]));
    expect(Object.keys(keys.accountEvents("w", "a", "2024-05"))).toEqual([eventIndexes.byAccount]);
    expect(Object.keys(keys.userEvents("w", "u", "2024-05"))).toEqual([eventIndexes.byUser]);
    expect(Object.keys(keys.account("w", "a"))).toEqual(["pk", "sk"]);
  });

  it("wires the raw queue to its dead-letter queue with an explicit size and a long enough visibility timeout", () => {
    const raw = byName(RawQueue.name).args as Record<string, Record<string, unknown>>;
    expect(raw.dlq).toEqual({ queue: `arn:Queue:${DeadLetterQueue.name}`, retry: RawQueue.maxReceiveCount });
    expect((raw.transform?.queue as Record<string, unknown> | undefined)?.maxMessageSize).toBe(
      RawQueue.maximumMessageSizeBytes,
    );
    const subscription = subscriptions.find((s) => s.queue === RawQueue.name);
    expect(subscription).toBeDefined();
    expect(seconds(raw.visibilityTimeout)).toBeGreaterThanOrEqual(6 * seconds(subscription?.fn.timeout));
  });

  it("subscribes normalize with partial batch responses and a batching window", () => {
    const subscription = subscriptions.find((s) => s.queue === RawQueue.name);
    expect(subscription?.fn.handler).toBe("functions/normalize.handler");
    const batch = subscription?.options.batch as Record<string, unknown>;
    expect(batch.partialResponses).toBe(true);
    expect(batch.size).toBeGreaterThan(10);
    expect(seconds(batch.window)).toBeGreaterThanOrEqual(1);
    // The subscription's own settings, inside Lambda's limits for a standard queue (10,000 records;
    // above 10 only with a window of at least 1 s; a window of at most 300 s).
    expect(batch.size).toBe(normalizeSubscription.batchSize);
    expect(seconds(batch.window)).toBe(normalizeSubscription.maximumBatchingWindowSeconds);
    expect(normalizeSubscription.batchSize).toBeLessThanOrEqual(10_000);
    expect(normalizeSubscription.maximumBatchingWindowSeconds).toBeLessThanOrEqual(300);
  });

  it("routes every public route to its function, on arm64 and a current Node runtime", () => {
    expect(apiRoutes.map((r) => r.route).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) {
      const registered = apiRoutes.find((r) => r.route === `${route.method} ${route.path}`);
      expect(registered?.target).toBe(`arn:Function:${components[route.function]}`);
    }
    for (const fn of [
      byName("Ingest").args,
      byName("StripeIngest").args,
      byName("Api").args,
      subscriptions[0]?.fn ?? {},
    ]) {
      expect(fn.architecture).toBe("arm64");
      expect(fn.runtime).toBe("nodejs24.x");
      expect((fn.nodejs as { esbuild: { external: string[] } }).esbuild.external).toContain("@aws-sdk/*");
    }
    expect(seconds(byName("Ingest").args.timeout)).toBe(functionSettings.ingest.timeoutSeconds);
    expect(seconds(byName("StripeIngest").args.timeout)).toBe(functionSettings.ingest.timeoutSeconds);
    expect(byName("StripeIngest").args.handler).toBe("functions/stripe-ingest.handler");
  });

  it("gives the Stripe function only what it uses: its source's item, delivery counters and the raw queue", () => {
    const permissions = byName("StripeIngest").args.permissions as { actions: string[]; resources: string[] }[];
    expect(permissions).toEqual([
      { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [`arn:Dynamo:${EntitiesTable.name}`] },
      { actions: ["sqs:SendMessage"], resources: [`arn:Queue:${RawQueue.name}`] },
    ]);
  });

  it("gives ingest only what it uses: credential reads, delivery counters and sending to the raw queue", () => {
    const permissions = byName("Ingest").args.permissions as { actions: string[] }[];
    const actions = permissions.flatMap((p) => p.actions).sort();
    expect(actions).toEqual(["dynamodb:GetItem", "dynamodb:UpdateItem", "sqs:SendMessage"]);
  });

  it("throttles the stage and alarms on the DLQ, normalize errors, ingest 5xx and queue age", () => {
    const api = byName("HttpApi").args as { transform: { stage: (args: Record<string, unknown>) => void } };
    const stage: Record<string, unknown> = {};
    api.transform.stage(stage);
    expect(stage.defaultRouteSettings).toMatchObject({ throttlingBurstLimit: 5000, throttlingRateLimit: 2000 });
    const alarms = created.filter((c) => c.type === "MetricAlarm");
    expect(alarms.map((a) => a.args.metricName).sort()).toEqual(
      ["5xx", "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible", "Errors"].sort(),
    );
    expect(byName("DeadLettersAlarm").args.dimensions).toEqual({ QueueName: `${DeadLetterQueue.name}-queue` });
  });

  it("deploys the Console as a static site built with the HTTP API's URL, and lets it call the API", () => {
    const site = byName("Console").args as {
      build: { command: string; output: string };
      environment: Record<string, string>;
    };
    expect(site.build).toEqual({ command: "npm run console:build", output: "packages/console/dist" });
    expect(site.environment.VITE_API_URL).toBe("https://HttpApi.example");
    const cors = (byName("HttpApi").args as { cors: { allowHeaders: string[]; allowCredentials: boolean } }).cors;
    expect(cors.allowHeaders).toContain("authorization");
    expect(cors.allowCredentials).toBe(false);
  });

  it("answers browser preflights for the tracking API (analytics.js) with the configuration the local stack uses", () => {
    const cors = (byName("HttpApi").args as { cors: Record<string, unknown> }).cors;
    expect(cors).toEqual({
      allowOrigins: [...httpApiCors.allowOrigins],
      allowMethods: [...httpApiCors.allowMethods],
      allowHeaders: [...httpApiCors.allowHeaders],
      allowCredentials: false,
      maxAge: `${httpApiCors.maxAgeSeconds} seconds`,
    });
    expect(cors.allowMethods).toEqual(expect.arrayContaining(["POST", "OPTIONS", "GET", "PUT", "DELETE"]));
    expect(cors.allowHeaders).toEqual(expect.arrayContaining(["authorization", "content-type", "x-retry-count"]));
  });
});
