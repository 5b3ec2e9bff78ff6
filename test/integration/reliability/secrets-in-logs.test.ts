import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// The functions log at INFO here (under vitest they are SILENT by default): set before the logger is made.
const previousLogLevel = vi.hoisted(() => {
  const previous = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = "INFO";
  return previous;
});

import { createApiDependencies, createApiHandler } from "../../../packages/aws/src/api/handler";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { ApiKeyStore } from "../../../packages/aws/src/dynamo/api-keys";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { createIngestHandler } from "../../../packages/aws/src/ingest/handler";
import { logger } from "../../../packages/aws/src/logger";
import { createRawQueueSender } from "../../../packages/aws/src/sqs/raw-queue";
import { stripeFunctionSources } from "../../../packages/core/src/sources/stripe-registry";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { type Poller, startPoller } from "../../../packages/local/src/poller";
import { localRoutes } from "../../../packages/local/src/routes";
import { freePort } from "../../../packages/local/src/services";
import {
  injectDynamoFaults,
  injectSqsSendFaults,
  killableNormalizeHandler,
  noFaults,
} from "../../support/fault-injection";
import { provisionTestResources } from "../../support/local-resources";
import { generateCalls } from "../../support/model-oracle";
import { freshWorkspace } from "../../support/normalize-harness";
import { untilQueueEmpty } from "../../support/queue";
import { prng } from "../../support/seeded-random";
import { segmentRequests, segmentSignature, sendLikeSegment } from "../../support/segment-sender";

/**
 * No secret, write key, API key, bearer token, signature or trait value ever reaches the logs.
 * A whole run (signed webhooks with a bearer token, the tracking API with Basic auth and keys in
 * the body, wrong credentials, malformed bodies, the read and admin API, queue and DynamoDB
 * failures answered 503, normalize batches with partial failures, a deletion) is made with
 * credentials and trait values that all contain `MARKER`, with the functions logging at INFO;
 * everything written to stdout, stderr and the console is captured and searched.
 */

const mark = {
  sharedSecret: "whsec_MARKER_shared_secret_5e1f",
  writeKey: "wk_MARKER_write_key_0c9d",
  apiKey: "sk_MARKER_api_key_7b2a",
  wrongWriteKey: "wk_MARKER_wrong_write_key",
  wrongApiKey: "sk_MARKER_wrong_api_key",
  wrongSecret: "whsec_MARKER_wrong_secret",
};

let config: Config;
const servers: HandlerServer[] = [];
let poller: Poller | undefined;
const clients: { destroy(): void }[] = [];
let captured = "";
const restore: (() => void)[] = [];

/** Captures everything written to stdout, stderr and the console from now on (not passed on). */
function startCapture(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      captured += `${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}\n`;
    });
    restore.push(() => spy.mockRestore());
  }
}

function stopCapture(): void {
  for (const undo of restore.splice(0).reverse()) undo();
}

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

afterAll(async () => {
  stopCapture();
  for (const server of servers) await server.close();
  await poller?.stop();
  for (const client of clients) client.destroy();
  if (previousLogLevel === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = previousLogLevel;
});

describe("logs of a whole run", () => {
  it("hold no secret, key, token, signature or trait value", async () => {
    expect(logger.getLevelName()).toBe("INFO");
    const db = createDocumentClient(config);
    const sqs = createSqsClient(config);
    clients.push(db, sqs);
    const ws = freshWorkspace();
    const workspaces = new WorkspaceStore(db, config.entitiesTable);
    await workspaces.createWorkspace({
      id: ws,
      credentials: { sharedSecret: mark.sharedSecret, writeKey: mark.writeKey },
    });
    const { token: bearer } = await workspaces.issueBearerToken(ws);
    await new ApiKeyStore(db, config.entitiesTable).issueApiKey(ws, { key: mark.apiKey });

    startCapture();
    // The capture sees the functions' logger.
    logger.info("capture probe", { probe: 1 });
    expect(captured).toContain("capture probe");

    const counts = noFaults();
    const ingestSqs = createSqsClient(config);
    const normalizeDb = createDocumentClient(config);
    clients.push(ingestSqs, normalizeDb);
    injectSqsSendFaults(ingestSqs, prng(1), { error: 0.3, lostAnswer: 0, failedEntry: 0.1 }, counts);
    injectDynamoFaults(normalizeDb, prng(2), { throttle: 0.05, timeout: 0 }, counts);
    const local = { ...config, credentialCacheSeconds: 0 };
    const ingestDeps = {
      credentials: new WorkspaceStore(db, config.entitiesTable),
      queue: createRawQueueSender(ingestSqs, config.rawQueueUrl, { attempts: 1 }),
    };
    const ingest = createIngestHandler(ingestDeps);
    const stripeIngest = createIngestHandler({ ...ingestDeps, sources: stripeFunctionSources });
    const readApi = createApiHandler(createApiDependencies(local));
    servers.push(await startHandlerServer(localRoutes({ ingest, "stripe-ingest": stripeIngest, api: readApi })));
    const url = servers[0]?.url as string;
    // The same functions over a DynamoDB that does not answer: their 5xx (error level) lines.
    const deadDb = { ...local, dynamoEndpoint: `http://127.0.0.1:${await freePort()}` };
    const brokenDeps = {
      credentials: new WorkspaceStore(createDocumentClient(deadDb), config.entitiesTable),
      queue: createRawQueueSender(sqs, config.rawQueueUrl),
    };
    const broken = {
      ingest: createIngestHandler(brokenDeps),
      "stripe-ingest": createIngestHandler({ ...brokenDeps, sources: stripeFunctionSources }),
      api: createApiHandler(createApiDependencies(deadDb)),
    };
    servers.push(await startHandlerServer(localRoutes(broken)));
    const brokenUrl = servers[1]?.url as string;
    const worker = killableNormalizeHandler(
      createNormalizeHandler({ store: new DynamoModelStore(normalizeDb, config) }),
      prng(3),
      { midBatch: 0, beforeReport: 0, maxRequestsBeforeKill: 0, maxFaultyReceive: 3 },
      counts,
    );
    poller = await startPoller({
      sqs,
      queueUrl: config.rawQueueUrl,
      handler: worker.handler,
      waitTimeSeconds: 1,
      failedVisibilitySeconds: 0,
      log: (line) => console.error(line),
    });

    // Calls whose every trait and property value carries the marker.
    const calls = generateCalls(5, 300).map((call) => ({
      ...call,
      ...(call.traits
        ? { traits: { ...(call.traits as object), note: "TRAIT_MARKER_note", email: "MARKER@example.com" } }
        : {}),
      ...(call.properties ? { properties: { ...(call.properties as object), card: "PROP_MARKER_4111" } } : {}),
      context: { ip: "203.0.113.9", traits: { phone: "CTX_MARKER_555" } },
    }));
    const requests = segmentRequests(
      calls,
      { workspaceId: ws, sharedSecret: mark.sharedSecret, writeKey: mark.writeKey, bearerToken: bearer },
      prng(4),
    );
    const sent = await sendLikeSegment(url, requests, { concurrency: 4 });
    const signatures = requests.map((r) => r.headers["x-signature"]).filter((s): s is string => s !== undefined);

    // Wrong credentials, malformed bodies, and each route of the API, with markers everywhere.
    const body = JSON.stringify({ type: "identify", userId: "u1", traits: { secret: "TRAIT_MARKER_x" } });
    const json = { "content-type": "application/json" };
    const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}` });
    const api = (key: string) => ({ authorization: `Bearer ${key}` });
    const probes: [string, string, string, Record<string, string>, string?][] = [
      [
        url,
        "POST",
        `/v1/webhooks/segment/${ws}`,
        { ...json, "x-signature": segmentSignature(body, mark.wrongSecret), authorization: `Bearer ${bearer}` },
        body,
      ],
      [
        url,
        "POST",
        `/v1/webhooks/segment/${ws}`,
        {
          ...json,
          "x-signature": segmentSignature(body, mark.sharedSecret),
          authorization: "Bearer MARKER_wrong_bearer",
        },
        body,
      ],
      [
        url,
        "POST",
        `/v1/webhooks/segment/${ws}`,
        {
          ...json,
          "x-signature": segmentSignature('{"traits":{"a":"TRAIT_MARKER', mark.sharedSecret),
          authorization: `Bearer ${bearer}`,
        },
        '{"traits":{"a":"TRAIT_MARKER',
      ],
      [url, "POST", "/v1/identify", { ...json, ...basic(mark.wrongWriteKey) }, body],
      [url, "POST", "/v1/identify", json, JSON.stringify({ ...JSON.parse(body), writeKey: mark.wrongWriteKey })],
      [url, "POST", "/v1/track", { ...json, ...basic(mark.writeKey) }, '{"type":"TRAIT_MARKER_type","userId":"u1"}'],
      [
        url,
        "POST",
        "/v1/batch",
        { ...json, ...basic(mark.writeKey) },
        '{"batch":[{"type":"track","traits":{"x":"TRAIT_MARKER_y"}}]}',
      ],
      [
        url,
        "POST",
        "/v1/batch",
        { ...json, ...basic(mark.writeKey) },
        '{"batch":[{"type":"track","userId":"u1","event":"E","properties":{"p":"PROP_MARKER_bad',
      ],
      [url, "GET", "/v1/users/u1", api(mark.apiKey)],
      [url, "GET", "/v1/users/u1/events?limit=5", api(mark.apiKey)],
      [url, "GET", "/v1/accounts?limit=2", api(mark.apiKey)],
      [url, "GET", "/v1/rejects", api(mark.apiKey)],
      [url, "GET", "/v1/pending", api(mark.apiKey)],
      [url, "GET", "/v1/accounts?cursor=MARKER_cursor", api(mark.apiKey)],
      [url, "GET", "/v1/users/u1", api(mark.wrongApiKey)],
      [url, "GET", "/v1/users/u1", basic(mark.writeKey)],
      [
        url,
        "PUT",
        "/v1/entity-maps",
        { ...api(mark.apiKey), ...json },
        JSON.stringify([{ source: "crm", kind: "user", external_id: "e1", canonical_id: "u1" }]),
      ],
      [
        url,
        "PUT",
        "/v1/entity-maps",
        { ...api(mark.apiKey), ...json },
        '[{"source":"crm","kind":"user","external_id":"TRAIT_MARKER_map"',
      ],
      [url, "DELETE", "/v1/users/u2", api(mark.apiKey)],
      [
        brokenUrl,
        "POST",
        `/v1/webhooks/segment/${ws}`,
        { ...json, "x-signature": segmentSignature(body, mark.sharedSecret), authorization: `Bearer ${bearer}` },
        body,
      ],
      [brokenUrl, "POST", "/v1/identify", { ...json, ...basic(mark.writeKey) }, body],
      [brokenUrl, "GET", "/v1/users/u1", api(mark.apiKey)],
      [brokenUrl, "GET", "/health", {}],
    ];
    const statuses: number[] = [];
    for (const [base, method, path, headers, payload] of probes) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    // Let the normalizer work through the queue (throttled batches come back at once): every
    // request has had its answer, so an empty queue means every queued message was normalized.
    await untilQueueEmpty(sqs, config.rawQueueUrl, 90_000);
    await poller.stop();
    stopCapture();

    const lines = captured.split("\n").filter((line) => line.trim() !== "");
    const entries = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const count = (message: string) => entries.filter((e) => e.message === message).length;
    const forbidden = [
      "MARKER",
      bearer,
      ...signatures,
      ...[mark.writeKey, mark.wrongWriteKey].map((k) => Buffer.from(`${k}:`).toString("base64")),
    ];
    const leaks = lines.filter((line) => forbidden.some((secret) => line.includes(secret)));
    console.log(
      [
        `secrets in logs: ${lines.length} lines captured (${captured.length} bytes): ingest ${count("ingest")}, api ${count("api")}, normalize batch ${count("normalize batch")}, error level ${entries.filter((e) => e.level === "ERROR").length}, other ${lines.length - entries.length}`,
        `  run: ${sent.requests} requests (${sent.retried} retried after 503), ${probes.length} probes answered ${[...new Set(statuses)].sort().join("/")}; ${poller.stats.failed} partial failures; faults ${JSON.stringify(counts)}`,
        `  searched for ${forbidden.length} values (every credential, token, signature, Basic header and trait value): ${leaks.length} lines hold one`,
      ].join("\n"),
    );
    if (process.env.DUMP_LOGS) (await import("node:fs")).writeFileSync("/tmp/captured-logs.txt", captured);
    expect(leaks.map((line) => line.slice(0, 300))).toEqual([]);
    // The run did produce what must be searched: a line per request and batch, 5xx lines, partial failures.
    expect(count("ingest")).toBeGreaterThanOrEqual(sent.attempts);
    expect(count("api")).toBeGreaterThan(5);
    expect(count("normalize batch")).toBeGreaterThan(0);
    expect(entries.filter((e) => e.level === "ERROR").length).toBeGreaterThan(0);
    expect(entries.some((e) => e.message === "normalize batch" && Number(e.failedRecords) > 0)).toBe(true);
  }, 120_000);
});
