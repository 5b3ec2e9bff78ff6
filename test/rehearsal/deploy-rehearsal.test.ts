import { execFile } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDocumentClient, createSqsClient } from "../../packages/aws/src/clients";
import { parseConfig } from "../../packages/aws/src/config";
import { ApiKeyStore } from "../../packages/aws/src/dynamo/api-keys";
import { addStripeSource } from "../../packages/aws/src/dynamo/stripe-sources";
import { WorkspaceStore } from "../../packages/aws/src/dynamo/workspaces";
import { routes } from "../../packages/core/src/http/routes";
import { requestLimits } from "../../packages/core/src/ingest/limits";
import { localEnvironment } from "../../packages/local/src/environment";
import { type Poller, sqsRecordOf, startPoller } from "../../packages/local/src/poller";
import { type ProvisionedResources, provisionResources } from "../../packages/local/src/provision";
import {
  apiGatewayIntegrationTimeoutSeconds,
  DeadLetterQueue,
  EntitiesTable,
  EventsTable,
  maxDeployedRequestBodyBytes,
  normalizeSubscription,
  RawQueue,
} from "../../packages/resources/src/definitions";
import { coverageTable, iamCoverage, readSdkCalls } from "../support/iam-coverage";
import { evaluateInfra, type InfraModel } from "../support/infra-model";
import { childEnvironment } from "../support/stack-process";
import { proSubscriptionCreated, signed, stripeEvent } from "../support/stripe-fixtures";
import { preflightAnswer } from "./api-gateway-cors";
import { type ApiGatewayServer, startApiGatewayServer } from "./api-gateway-server";
import { apiGatewayEvent, type HttpRequestSpec, lambdaSyncPayloadLimitBytes, scheduledEvent } from "./aws-events";
import { type FunctionPackage, missingAtRuntime, packageFunction, repositoryRoot } from "./lambda-bundle";
import { deployedEnvironment, type LambdaProcess, startLambdaProcess } from "./lambda-process";

/**
 * The deploy rehearsal: every function bundled as `sst deploy` bundles it, each started in its own
 * Node process with the environment the deployed function gets (derived from infra/, see
 * lambda-process.ts), driven with the events AWS sends, against the real local DynamoDB and SQS
 * servers. A webhook delivery and a tracking API call go from ingest through normalize to the
 * read API; the scheduled sweep runs.
 */

const execFileAsync = promisify(execFile);
const region = "eu-west-1";
const apiId = "r3h34rs4l";
const workspaceId = "rehearsal";
const accountId = "acc_rehearsal";
const userId = "usr_rehearsal";
const stripeAccountId = "acc_rehearsal_stripe";
/** The signing secret of the workspace's Stripe source (added by the Stripe webhook test). */
const signingSecret = "whsec_rehearsal_aaaaaaaaaaaaaaaaaaaa";

let infra: InfraModel;
let workDir: string;
/** The functions' SDK call audit (AWS_CALL_LOG), for the IAM coverage check. */
let callLog: string;
let resources: ProvisionedResources;
let sqs: SQSClient;
let rawQueueArn: string;
const packages: Record<string, FunctionPackage> = {};
const processes: Record<string, LambdaProcess> = {};
let credentials: { sharedSecret: string; writeKey: string; apiKey: string };
let localConfig: ReturnType<typeof parseConfig>;

const fn = (name: string) => {
  const found = processes[name];
  if (!found) throw new Error(`no function ${name}`);
  return found;
};
const routeKeys = () => infra.httpApi.routes.map((r) => r.route);
const http = (request: HttpRequestSpec) => apiGatewayEvent(routeKeys(), request, { apiId, region });
const json = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(result.body ?? "null");
/** On failure, the function's own log lines say why. */
const withLogs = (name: string, result: unknown) => ({ result, logs: fn(name).output().slice(-4000) });

beforeAll(async () => {
  // SST's components under Pulumi's mocks take a few seconds: evaluate while the tables are made.
  const evaluation = evaluateInfra("rehearsal");
  evaluation.catch(() => {});
  const endpoints = inject("localEndpoints");
  const admin = new DynamoDBClient({
    region: "us-east-1",
    endpoint: endpoints.dynamoEndpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  sqs = createSqsClient({ region: "us-east-1", sqsEndpoint: endpoints.sqsEndpoint });
  resources = await provisionResources(admin, sqs, `r${randomUUID().slice(0, 8)}`);
  admin.destroy();
  const queueUrl = (name: string) => resources.queueUrls[name] as string;
  const arnOf = async (name: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl(name), AttributeNames: ["QueueArn"] })))
      .Attributes?.QueueArn as string;
  rawQueueArn = await arnOf(RawQueue.name);
  const tokens: Record<string, string> = {
    [`${EntitiesTable.name}.name`]: resources.tables[EntitiesTable.name] as string,
    [`${EventsTable.name}.name`]: resources.tables[EventsTable.name] as string,
    [`${RawQueue.name}.url`]: queueUrl(RawQueue.name),
    [`${RawQueue.name}.arn`]: rawQueueArn,
    [`${DeadLetterQueue.name}.url`]: queueUrl(DeadLetterQueue.name),
    [`${DeadLetterQueue.name}.arn`]: await arnOf(DeadLetterQueue.name),
  };

  // Credentials, created as an operator does after a deploy (the CLI's stores, straight to the tables).
  localConfig = parseConfig(localEnvironment(endpoints, resources));
  const db = createDocumentClient(localConfig);
  const created = await new WorkspaceStore(db, localConfig.entitiesTable).createWorkspace({ id: workspaceId });
  const { apiKey } = await new ApiKeyStore(db, localConfig.entitiesTable).issueApiKey(workspaceId, {
    name: "rehearsal",
  });
  db.destroy();
  credentials = { sharedSecret: created.sharedSecret, writeKey: created.writeKey, apiKey };
  infra = await evaluation;

  // The packages, side by side under one folder whose node_modules stands for the runtime's SDK.
  workDir = await mkdtemp(join(tmpdir(), "deploy-rehearsal-"));
  await symlink(join(repositoryRoot, "node_modules"), join(workDir, "node_modules"), "dir");
  callLog = join(workDir, "sdk-calls.jsonl");
  await Promise.all(
    Object.values(infra.functions).map(async (definition) => {
      packages[definition.name] = await packageFunction(definition, join(workDir, definition.name));
    }),
  );
  await Promise.all(
    Object.values(infra.functions).map(async (definition) => {
      const pkg = packages[definition.name] as FunctionPackage;
      const env = deployedEnvironment(definition, pkg, {
        region,
        tokens,
        dynamoEndpoint: endpoints.dynamoEndpoint,
        sqsEndpoint: endpoints.sqsEndpoint,
        callLog,
      });
      processes[definition.name] = await startLambdaProcess(
        definition.name,
        pkg,
        env,
        definition.timeoutSeconds * 1000,
      );
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(processes).map((p) => p.stop()));
  sqs?.destroy();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/**
 * Lambda's SQS event source mapping as SST configures it: gather up to the mapping's batch size
 * (SQS hands out at most 10 a receive), invoke normalize, delete what it did not report failed.
 */
async function deliverRawQueue(): Promise<{ delivered: number; failed: string[] }> {
  const queueUrl = resources.queueUrls[RawQueue.name] as string;
  const batchSize = infra.subscriptions.find((s) => s.function === "normalize")?.batchSize ?? 10;
  let delivered = 0;
  const failed: string[] = [];
  for (;;) {
    const messages: Message[] = [];
    while (messages.length < batchSize) {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      if (!received.Messages?.length) break;
      messages.push(...received.Messages);
    }
    if (messages.length === 0) return { delivered, failed };
    const event = { Records: messages.map((m) => sqsRecordOf(m, rawQueueArn, region)) };
    const answer = await fn("normalize").invoke<SQSBatchResponse>(event);
    const failures = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    failed.push(...failures);
    delivered += messages.length;
    const done = messages.filter((m) => !failures.has(m.MessageId ?? ""));
    for (let i = 0; i < done.length; i += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    if (failures.size > 0) return { delivered, failed };
  }
}

describe("deploy rehearsal: the bundles in the deployed environment", () => {
  it("bundles every function with only what the Lambda runtime provides left outside", () => {
    expect(Object.keys(packages).sort()).toEqual(["api", "ingest", "normalize", "stripe-ingest", "sweep"]);
    for (const pkg of Object.values(packages)) {
      expect(pkg.externalImports.filter(missingAtRuntime)).toEqual([]);
      expect(pkg.bytes).toBeGreaterThan(0);
    }
    console.info(
      `bundles: ${Object.entries(packages)
        .map(([name, pkg]) => `${name} ${Math.round(pkg.bytes / 1024)} KiB`)
        .join(", ")}`,
    );
  });

  it("bundles the stripe SDK into stripe-ingest only: not into ingest or the API", () => {
    const stripeSdk = (name: string) =>
      (packages[name]?.inputs ?? []).filter((input) => input.startsWith("node_modules/stripe/")).length;
    expect(stripeSdk("stripe-ingest")).toBeGreaterThan(0);
    expect({ ingest: stripeSdk("ingest"), api: stripeSdk("api") }).toEqual({ ingest: 0, api: 0 });
    expect(infra.functions["stripe-ingest"]?.trigger).toBe("http");
  });

  it("gives each function SST's variables and infra's environment, nothing from the local stack", () => {
    for (const process of Object.values(processes)) {
      expect(process.env.SST_RESOURCE_App).toBe(JSON.stringify({ name: "segment-ingest", stage: "rehearsal" }));
      expect(process.env.SST_KEY_FILE).toBe("resource.enc");
      expect(process.env.SST_KEY).toBeTruthy();
      expect(process.env.DYNAMODB_ENDPOINT).toBeUndefined();
      expect(process.env.SQS_ENDPOINT).toBeUndefined();
    }
  });

  it("subscribes normalize to the raw queue with partial batch responses, and runs the sweep on a schedule", () => {
    expect(infra.subscriptions).toEqual([
      expect.objectContaining({
        function: "normalize",
        queue: `{{${RawQueue.name}.arn}}`,
        reportBatchItemFailures: true,
        batchSize: normalizeSubscription.batchSize,
        maximumBatchingWindowSeconds: normalizeSubscription.maximumBatchingWindowSeconds,
      }),
    ]);
    expect(infra.schedules).toEqual([{ function: "sweep", expression: "rate(1 hour)" }]);
    expect(infra.functions.normalize?.trigger).toBe("sqs");
    expect(infra.functions.sweep?.trigger).toBe("schedule");
  });

  it("links nothing: configuration reaches the functions as environment variables only", () => {
    // One way in (docs/deploy.md): a link, or SST's `Resource` in a bundle, would be a second
    // source of configuration that the local stack never exercises.
    for (const definition of Object.values(infra.functions)) expect(definition.links).toEqual({});
    for (const pkg of Object.values(packages)) {
      expect(pkg.inputs.filter((input) => input.includes("node_modules/sst/"))).toEqual([]);
    }
  });

  // API Gateway hands a body it does not take for text to Lambda base64-encoded (isBase64Encoded).
  it("ingest accepts a signed Segment webhook delivery whose body arrives base64-encoded", async () => {
    const body = JSON.stringify({
      type: "identify",
      userId,
      messageId: "rehearsal-identify-1",
      timestamp: "2024-05-01T12:00:00.000Z",
      traits: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com", createdAt: "2024-01-01T00:00:00Z" },
      context: { groupId: accountId },
    });
    const signature = createHmac("sha1", credentials.sharedSecret).update(body).digest("hex");
    const result = await fn("ingest").invoke<APIGatewayProxyStructuredResultV2>(
      http({
        method: "POST",
        url: `/v1/webhooks/segment/${workspaceId}`,
        headers: {
          "Content-Type": "application/json",
          "X-Signature": signature,
          "User-Agent": "Segment.io/1.0",
        },
        body,
        base64: true,
      }),
    );
    expect(withLogs("ingest", result)).toMatchObject({ result: { statusCode: 200 } });
    expect(json(result)).toEqual({ success: true });
  });

  it("ingest accepts a tracking API call as analytics.js sends it (text/plain, Basic write key, cookies)", async () => {
    const body = JSON.stringify({
      type: "track",
      event: "Report Exported",
      userId,
      messageId: "rehearsal-track-1",
      timestamp: "2024-05-02T08:00:00.000Z",
      sentAt: new Date().toISOString(),
      properties: { format: "csv" },
      context: { groupId: accountId },
    });
    const result = await fn("ingest").invoke<APIGatewayProxyStructuredResultV2>(
      http({
        method: "POST",
        url: "/v1/t",
        headers: {
          "content-type": "text/plain",
          authorization: `Basic ${Buffer.from(`${credentials.writeKey}:`).toString("base64")}`,
          origin: "https://app.example.com",
          "user-agent": "Mozilla/5.0",
        },
        cookies: ["ajs_anonymous_id=abc", "ajs_user_id=usr_rehearsal"],
        body,
      }),
    );
    expect(withLogs("ingest", result)).toMatchObject({ result: { statusCode: 200 } });
    expect(json(result)).toEqual({ success: true });
  });

  it("normalize stores every queued call (Lambda's SQS event, partial batch responses)", async () => {
    const { delivered, failed } = await deliverRawQueue();
    expect(withLogs("normalize", { delivered, failed })).toMatchObject({ result: { delivered: 2, failed: [] } });
  });

  it("the read API serves health and returns what normalize stored", async () => {
    const health = await fn("api").invoke<APIGatewayProxyStructuredResultV2>(http({ method: "GET", url: "/health" }));
    expect(withLogs("api", health)).toMatchObject({ result: { statusCode: 200 } });
    expect(json(health).version).toBe("rehearsal");

    const auth = { authorization: `Bearer ${credentials.apiKey}` };
    const events = await fn("api").invoke<APIGatewayProxyStructuredResultV2>(
      http({ method: "GET", url: `/v1/accounts/${accountId}/events?limit=10`, headers: auth }),
    );
    expect(withLogs("api", events)).toMatchObject({ result: { statusCode: 200 } });
    const items = json(events).items as { event_id: string }[];
    expect(items.map((e) => e.event_id)).toEqual(["rehearsal-track-1"]);

    const user = await fn("api").invoke<APIGatewayProxyStructuredResultV2>(
      http({ method: "GET", url: `/v1/users/${userId}`, headers: auth, cookies: ["session=ignored"] }),
    );
    expect(withLogs("api", user)).toMatchObject({ result: { statusCode: 200 } });
    expect(json(user)).toMatchObject({ user_id: userId, first_name: "Ada", account_ids: [accountId] });
  });

  it("the scheduled sweep runs", async () => {
    const result = await fn("sweep").invoke<{ expired: number }>(scheduledEvent(region, "PendingSweep"));
    expect(withLogs("sweep", result)).toMatchObject({ result: { expired: 0 } });
  });

  it("stripe-ingest accepts a signed Stripe webhook; normalize stores it and the read API returns it", async () => {
    const db = createDocumentClient(localConfig);
    await addStripeSource(new WorkspaceStore(db, localConfig.entitiesTable), {
      workspaceId,
      sourceName: "stripe",
      signingSecret,
    });
    db.destroy();
    const t0 = Math.floor(Date.parse("2024-05-04T00:00:00Z") / 1000);
    const event = proSubscriptionCreated("evt_rehearsal_1", stripeAccountId, t0);
    const { body, header } = signed(event, signingSecret);
    const request = {
      method: "POST",
      url: `/v1/webhooks/stripe/${workspaceId}`,
      headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": header },
      body,
    };
    // API Gateway sends this route to stripe-ingest; ingest does not serve it.
    expect(infra.httpApi.routes).toContainEqual(
      expect.objectContaining({ route: "POST /v1/webhooks/stripe/{workspaceId}", function: "stripe-ingest" }),
    );
    const result = await fn("stripe-ingest").invoke<APIGatewayProxyStructuredResultV2>(http(request));
    expect(withLogs("stripe-ingest", result)).toMatchObject({ result: { statusCode: 200 } });
    expect(json(result)).toEqual({ success: true });
    const { delivered, failed } = await deliverRawQueue();
    expect(withLogs("normalize", { delivered, failed })).toMatchObject({ result: { delivered: 1, failed: [] } });

    const account = await fn("api").invoke<APIGatewayProxyStructuredResultV2>(
      http({
        method: "GET",
        url: `/v1/accounts/${stripeAccountId}`,
        headers: { authorization: `Bearer ${credentials.apiKey}` },
      }),
    );
    expect(withLogs("api", account)).toMatchObject({ result: { statusCode: 200 } });
    expect(json(account)).toMatchObject({ account_id: stripeAccountId, plan_name: "Pro", mrr: 49 });
  });
});

/**
 * Browser calls that must pass API Gateway's CORS preflight. The Console calls the read API with a
 * Bearer key; analytics.js on a customer's page calls every tracking API route with POST and
 * `authorization` (HTTP Basic, always), `content-type`, and `x-retry-count` on retries.
 */
const preflights = [
  { call: "the Console lists accounts", route: "GET /v1/accounts", headers: ["authorization"] },
  { call: "the Console uploads entity maps", route: "PUT /v1/entity-maps", headers: ["authorization", "content-type"] },
  { call: "the Console deletes a user", route: "DELETE /v1/users/{userId}", headers: ["authorization"] },
  ...routes
    .filter((r) => r.function === "ingest" && !r.path.startsWith("/v1/webhooks"))
    .map((r) => ({
      call: `analytics.js sends to ${r.path}`,
      route: `${r.method} ${r.path}`,
      headers: ["authorization", "content-type", "x-retry-count"],
    })),
];

describe("deploy rehearsal: API Gateway settings", () => {
  it("sends payload format 2.0 to the function each route names, within API Gateway's timeout", () => {
    expect(infra.httpApi.routes.map((r) => `${r.route} -> ${r.function}`).sort()).toEqual(
      routes.map((r) => `${r.method} ${r.path} -> ${r.function}`).sort(),
    );
    for (const route of infra.httpApi.routes) {
      expect(route.payloadFormatVersion).toBe("2.0");
      const target = infra.functions[route.function];
      expect(target?.timeoutSeconds).toBeLessThanOrEqual(apiGatewayIntegrationTimeoutSeconds);
    }
  });

  it("keeps every ingest request limit within what the deployed path carries (Lambda's 6 MB event)", () => {
    for (const limits of Object.values(requestLimits))
      expect(limits.maxRequestBytes).toBeLessThanOrEqual(maxDeployedRequestBodyBytes);
    // A body of that size, base64-encoded as API Gateway passes binary bodies, still fits the event.
    const event = http({
      method: "POST",
      url: `/v1/webhooks/segment/${workspaceId}`,
      headers: { "content-type": "application/octet-stream", "x-signature": "0".repeat(40) },
      body: Buffer.alloc(maxDeployedRequestBodyBytes, 0x61),
      base64: true,
    });
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(lambdaSyncPayloadLimitBytes);
    expect(() =>
      http({
        method: "POST",
        url: `/v1/webhooks/segment/${workspaceId}`,
        body: Buffer.alloc(lambdaSyncPayloadLimitBytes, 0x61),
        base64: true,
      }),
    ).toThrow(/6 MB/);
  });

  it("ingest accepts a webhook body at its size limit, base64-encoded", async () => {
    const calls: unknown[] = [];
    const call = (i: number) => ({
      type: "track",
      event: "Bulk Imported",
      userId,
      messageId: `rehearsal-bulk-${i}`,
      timestamp: "2024-05-03T08:00:00.000Z",
      properties: { padding: "x".repeat(30_000) },
    });
    let i = 0;
    while (Buffer.byteLength(JSON.stringify([...calls, call(i)])) <= requestLimits.webhook.maxRequestBytes)
      calls.push(call(i++));
    const body = JSON.stringify(calls);
    const signature = createHmac("sha1", credentials.sharedSecret).update(body).digest("hex");
    const result = await fn("ingest").invoke<APIGatewayProxyStructuredResultV2>(
      http({
        method: "POST",
        url: `/v1/webhooks/segment/${workspaceId}`,
        headers: { "content-type": "application/json", "x-signature": signature },
        body,
        base64: true,
      }),
    );
    expect(withLogs("ingest", result)).toMatchObject({ result: { statusCode: 200 } });
    const { delivered, failed } = await deliverRawQueue();
    expect(failed).toEqual([]);
    expect(delivered).toBeGreaterThan(0);
  });

  it.each(preflights)("answers the preflight when $call", ({ route, headers }) => {
    expect(routeKeys()).toContain(route);
    const [method = ""] = route.split(" ");
    const answer = preflightAnswer(infra.httpApi.cors, { origin: "https://console.example.com", method, headers });
    expect(answer.refused).toEqual([]);
    expect(answer.headers["access-control-allow-origin"]).toBeDefined();
  });
});

describe("deploy rehearsal: npm run smoke against the rehearsed deployment", () => {
  let gateway: ApiGatewayServer;
  let poller: Poller;

  beforeAll(async () => {
    gateway = await startApiGatewayServer(infra, processes, { apiId, region });
    // Lambda's SQS event source mapping, delivering the raw queue to the normalize process.
    poller = await startPoller({
      sqs,
      queueUrl: resources.queueUrls[RawQueue.name] as string,
      handler: (event) => fn("normalize").invoke(event),
      waitTimeSeconds: 1,
      region,
    });
  });

  afterAll(async () => {
    await poller?.stop();
    await gateway?.close();
  });

  const smoke = (args: string[], env: Record<string, string>) =>
    execFileAsync("npm", ["run", "-s", "smoke", "--", ...args], {
      cwd: repositoryRoot,
      env: childEnvironment(env),
      timeout: 60_000,
    }).then(
      (done) => ({ code: 0, output: done.stdout + done.stderr }),
      (failed: { code?: number; stdout?: string; stderr?: string }) => ({
        code: failed.code ?? -1,
        output: `${failed.stdout ?? ""}${failed.stderr ?? ""}`,
      }),
    );

  it("passes every check with the workspace's secret and API key", async () => {
    const result = await smoke(["--url", gateway.url, "--workspace", workspaceId, "--timeout", "30"], {
      SMOKE_SHARED_SECRET: credentials.sharedSecret,
      SEGMENT_INGEST_API_KEY: credentials.apiKey,
    });
    console.info(result.output);
    expect(result.output).toContain("smoke: all 5 checks passed");
    expect(result.code).toBe(0);
    for (const check of [
      "health",
      "signed webhook accepted",
      "event read back through the API",
      "wrong signature refused",
    ]) {
      expect(result.output).toMatch(new RegExp(`ok\\s+${check}`));
    }
  });

  it("fails, naming the check, with a wrong shared secret", async () => {
    const result = await smoke(
      ["--url", gateway.url, "--workspace", workspaceId, "--secret", "not-the-secret", "--api-key", credentials.apiKey],
      {},
    );
    expect(result.output).toMatch(/FAIL\s+signed webhook accepted: 401/);
    expect(result.output).toContain("checks failed");
    expect(result.code).toBe(1);
  });

  it("routes a Stripe webhook to stripe-ingest", async () => {
    const event = stripeEvent("evt_rehearsal_2", "customer.created", 1714780800, {
      id: "cus_rehearsal",
      object: "customer",
      metadata: { account_id: stripeAccountId },
    });
    const { body, header } = signed(event, signingSecret);
    const answer = await fetch(`${gateway.url}/v1/webhooks/stripe/${workspaceId}/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": header },
      body,
    });
    // ingest would answer 404 (it has no Stripe route); stripe-ingest verified and queued it.
    expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { success: true } });
  });

  it("answers a browser's preflight and an unknown route as API Gateway does", async () => {
    const preflight = await fetch(`${gateway.url}/v1/accounts`, {
      method: "OPTIONS",
      headers: {
        origin: "https://console.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect((await fetch(`${gateway.url}/v1/nowhere`)).status).toBe(404);
  });
});

// Last, so it sees every call the suite made.
describe("deploy rehearsal: IAM coverage", () => {
  it("every AWS action the functions called is granted to them in infra/", () => {
    const calls = readSdkCalls(callLog);
    const coverage = iamCoverage(calls, infra);
    console.info(coverageTable("deploy rehearsal", coverage));
    // Each function made calls, so an empty log cannot pass this.
    expect(new Set(calls.map((c) => c.function))).toEqual(
      new Set(["ingest", "stripe-ingest", "normalize", "api", "sweep"]),
    );
    expect(coverage.missing).toEqual([]);
  });
});
