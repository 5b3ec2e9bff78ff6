import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent } from "aws-lambda";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../../packages/aws/src/api/cursor";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { ApiKeyStore } from "../../../packages/aws/src/dynamo/api-keys";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { addStripeSource } from "../../../packages/aws/src/dynamo/stripe-sources";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { type RouteDefinition, routes } from "../../../packages/core/src/http/routes";
import { canonicalJson } from "../../../packages/core/src/normalize/message-id";
import { localHttpHandlers } from "../../../packages/local/src/handlers";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { type Poller, startPoller } from "../../../packages/local/src/poller";
import { localRoutes } from "../../../packages/local/src/routes";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";
import { untilQueueEmpty } from "../../support/queue";
import { segmentSignature } from "../../support/segment-sender";

/**
 * Tenant isolation across every route of the route table: with every credential of workspace A
 * (its shared secrets, write keys, webhook bearer token and API key), nothing of workspace B can
 * be read or written. A and B hold the same account, user, event and map ids with different
 * values (B's carry its marker), so a leak shows as B's marker in an answer, and B's items are compared byte for byte
 * before and after. Every message that reaches the queue is recorded: all must be A's.
 */

let config: Config;
let server: HandlerServer | undefined;
let poller: Poller | undefined;
const clients: { destroy(): void }[] = [];
/** A client that afterAll destroys with the others. */
const tracked = <T extends { destroy(): void }>(client: T): T => {
  clients.push(client);
  return client;
};
const queuedWorkspaces: string[] = [];

interface Tenant {
  ws: string;
  marker: string;
  secret: string;
  crmSecret: string;
  writeKey: string;
  crmWriteKey: string;
  bearer: string;
  apiKey: string;
  /** The signing secret of its Stripe source `stripe`. */
  stripeSecret: string;
}
let A: Tenant;
let B: Tenant;

const calls = (marker: string, ws: string) => [
  {
    type: "group",
    messageId: "g1",
    groupId: "acc1",
    userId: "u1",
    timestamp: "2024-05-01T00:00:00Z",
    traits: { name: `${marker} Corp` },
  },
  {
    type: "identify",
    messageId: "i1",
    userId: "u1",
    timestamp: "2024-05-01T00:00:01Z",
    traits: { first_name: marker, company: { id: "acc1" } },
  },
  {
    type: "identify",
    messageId: "i2",
    userId: "u-del",
    timestamp: "2024-05-01T00:00:01Z",
    traits: { first_name: marker },
  },
  {
    type: "track",
    messageId: "m-1",
    userId: "u1",
    event: "Clicked",
    timestamp: "2024-05-02T00:00:00Z",
    properties: { who: marker },
  },
  {
    type: "track",
    messageId: "m-2",
    userId: "u1",
    event: "Viewed",
    timestamp: "2024-05-03T00:00:00Z",
    properties: { who: marker },
  },
  {
    type: "identify",
    messageId: "r1",
    userId: "u1",
    timestamp: "2024-05-01T00:00:02Z",
    traits: { nested: { who: marker } },
  },
  ...(ws === "B"
    ? [
        {
          type: "group",
          messageId: "g2",
          groupId: "only-b",
          userId: "only-b-user",
          timestamp: "2024-05-01T00:00:00Z",
          traits: { name: `${marker} Only` },
        },
      ]
    : []),
];

async function request(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string; json: Record<string, unknown> | undefined }> {
  const response = await fetch(`${server?.url}${path}`, {
    method,
    headers: options.headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/**
 * A source's delivery counters count the requests refused at its URL (signature failures, refused
 * requests by code): anyone can send those, and the source's owner wants to see them. What A's
 * requests must never change there is what B accepted, so those counts are compared, not the
 * refusal ones.
 */
function acceptedCountsOnly(item: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!String(item.sk).startsWith("DELIVERY#")) return item;
  const accepted = Object.entries(item).filter(
    ([name]) =>
      /^m\d+$/.test(name) || ["accepted", "rejected_calls", "last_delivery_at", "last_signed_at"].includes(name),
  );
  return accepted.length === 0 ? undefined : { pk: item.pk, sk: item.sk, ...Object.fromEntries(accepted) };
}

/** Every item of a workspace in both tables, including its workspace, source, key and look-up items. */
async function itemsOf(ws: string): Promise<string> {
  const db = createDocumentClient(config);
  try {
    const all: Record<string, unknown>[] = [];
    for (const table of [config.entitiesTable, config.eventsTable]) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) {
          const pk = String(item.pk);
          if (pk === `WS#${ws}` || pk.startsWith(`WS#${ws}#`) || item.workspaceId === ws || item.workspace_id === ws) {
            const compared = acceptedCountsOnly(item);
            if (compared) all.push(compared);
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return canonicalJson(all.sort((a, b) => (`${a.pk} ${a.sk}` < `${b.pk} ${b.sk}` ? -1 : 1)));
  } finally {
    db.destroy();
  }
}

async function tenant(workspaces: WorkspaceStore, apiKeys: ApiKeyStore, marker: string): Promise<Tenant> {
  const ws = freshWorkspace();
  const created = await workspaces.createWorkspace({ id: ws });
  const crm = await workspaces.addSource(ws, "crm");
  const { token } = await workspaces.issueBearerToken(ws);
  const { apiKey } = await apiKeys.issueApiKey(ws, { name: "isolation" });
  const stripeSecret = `whsec_isolation_${marker}_0123456789`;
  await addStripeSource(workspaces, { workspaceId: ws, sourceName: "stripe", signingSecret: stripeSecret });
  return {
    ws,
    marker,
    secret: created.sharedSecret,
    crmSecret: crm.sharedSecret,
    writeKey: created.writeKey,
    crmWriteKey: crm.writeKey,
    bearer: token,
    apiKey,
    stripeSecret,
  };
}

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  const sqs = createSqsClient(config);
  clients.push(db, sqs);
  const workspaces = new WorkspaceStore(db, config.entitiesTable);
  const apiKeys = new ApiKeyStore(db, config.entitiesTable);
  A = await tenant(workspaces, apiKeys, "A-MARK");
  B = await tenant(workspaces, apiKeys, "B-MARK");
  const local = { ...config, credentialCacheSeconds: 0 };
  server = await startHandlerServer(localRoutes(localHttpHandlers(local)));
  const normalize = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
  const recording = async (event: SQSEvent) => {
    for (const record of event.Records) queuedWorkspaces.push(JSON.parse(record.body).workspaceId);
    return normalize(event);
  };
  // The same data in both workspaces, with each one's marker; B has an account and user of its own.
  for (const t of [A, B]) {
    const result = await normalize(
      sqsEvent([
        rawMessage(t.ws, calls(t.marker, t === A ? "A" : "B")),
        rawMessage(
          t.ws,
          [{ type: "identify", messageId: "p1", userId: "ext-unmapped", traits: { first_name: t.marker } }],
          "crm",
        ),
      ]),
    );
    expect(result.batchItemFailures).toEqual([]);
    const maps = [{ source: "crm", kind: "user", external_id: "ext-1", canonical_id: "u1" }];
    if (t === B) {
      maps.push({ source: "crm", kind: "account", external_id: "only-b-ext", canonical_id: `acct-${B.marker}` });
      maps.push({ source: "crm", kind: "account", external_id: "only-b-ext2", canonical_id: `acct-${B.marker}` });
    }
    const upload = await request("PUT", "/v1/entity-maps", {
      headers: { authorization: `Bearer ${t.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(maps),
    });
    expect(upload.status, upload.text).toBe(200);
  }
  poller = await startPoller({ sqs, queueUrl: config.rawQueueUrl, handler: recording, waitTimeSeconds: 1 });
});

afterAll(async () => {
  await server?.close();
  await poller?.stop();
  for (const client of clients) client.destroy();
});

interface Attempt {
  route: string;
  label: string;
  status: number;
  text: string;
  /** What the answer must be. */
  expect: "refused" | "ok-own-data";
}

/** The credentials of A in every place a credential can go. */
function aCredentialsAsBearer(): string[] {
  return [A.secret, A.crmSecret, A.writeKey, A.crmWriteKey, A.bearer, A.stripeSecret];
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

/** The attacks of each route, keyed `METHOD path` as in the route table. */
function attacks(): Record<string, (route: RouteDefinition) => Promise<Attempt[]>> {
  const at =
    (route: RouteDefinition, label: string, expectation: Attempt["expect"]) =>
    async (answer: Promise<{ status: number; text: string }>): Promise<Attempt> => {
      const { status, text } = await answer;
      return { route: `${route.method} ${route.path}`, label, status, text, expect: expectation };
    };
  const webhookWithA = async (route: RouteDefinition, path: string) => {
    const body = JSON.stringify({
      type: "track",
      messageId: "x-1",
      userId: "u1",
      event: "Forged",
      properties: { who: A.marker },
    });
    const batch = JSON.stringify([
      JSON.parse(body),
      { type: "identify", messageId: "x-2", userId: "u1", traits: { first_name: A.marker } },
    ]);
    const out: Attempt[] = [];
    for (const [name, secret] of [
      ["A's product secret", A.secret],
      ["A's crm secret", A.crmSecret],
    ] as const) {
      out.push(
        await at(
          route,
          `${path} signed with ${name} and A's bearer`,
          "refused",
        )(
          request("POST", path, {
            headers: {
              "content-type": "application/json",
              "x-signature": segmentSignature(body, secret),
              authorization: `Bearer ${A.bearer}`,
            },
            body,
          }),
        ),
        await at(
          route,
          `${path} batch signed on its first call with ${name}`,
          "refused",
        )(
          request("POST", path, {
            headers: {
              "content-type": "application/json",
              "x-signature": segmentSignature(body, secret),
              authorization: `Bearer ${A.bearer}`,
            },
            body: batch,
          }),
        ),
      );
    }
    out.push(
      await at(
        route,
        `${path} with A's write key (Basic)`,
        "refused",
      )(
        request("POST", path, {
          headers: { "content-type": "application/json", authorization: basic(A.writeKey) },
          body,
        }),
      ),
      await at(
        route,
        `${path} with A's write key in the body`,
        "refused",
      )(
        request("POST", path, {
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...JSON.parse(body), writeKey: A.writeKey }),
        }),
      ),
    );
    return out;
  };
  const tracking = async (route: RouteDefinition) => {
    const type = route.path.slice("/v1/".length);
    const call = (i: number) => ({
      ...(["batch", "b"].includes(type) ? { type: "track" } : {}),
      messageId: `t-${type}-${i}`,
      userId: "u1",
      previousId: "anon-1",
      groupId: "acc1",
      event: "Forged",
      name: "Home",
      // Fields that name B: the write key decides the workspace, never the body.
      workspaceId: B.ws,
      context: { workspaceId: B.ws, groupId: "acc1" },
      properties: { who: A.marker },
    });
    const body = ["batch", "b"].includes(type) ? { batch: [call(1)], workspaceId: B.ws } : call(1);
    return [
      await at(
        route,
        `${route.path} with A's write key, body naming B`,
        "ok-own-data",
      )(
        request("POST", route.path, {
          headers: { "content-type": "application/json", authorization: basic(A.writeKey) },
          body: JSON.stringify(body),
        }),
      ),
      await at(
        route,
        `${route.path} with A's crm write key in the body`,
        "ok-own-data",
      )(
        request("POST", route.path, {
          headers: { "content-type": "text/plain" },
          body: JSON.stringify({ ...body, writeKey: A.crmWriteKey }),
        }),
      ),
      ...(await Promise.all(
        [A.secret, A.apiKey, A.bearer].map((wrong, i) =>
          at(
            route,
            `${route.path} with another A credential (#${i}) as write key`,
            "refused",
          )(
            request("POST", route.path, {
              headers: { "content-type": "application/json", authorization: basic(wrong) },
              body: JSON.stringify(body),
            }),
          ),
        ),
      )),
    ];
  };
  /** A read route with A's key on ids both workspaces have, ids only B has, a forged cursor, and A's other credentials. */
  const read =
    (shared: string, onlyB?: string, list = false, onlyBExpect: Attempt["expect"] = "refused") =>
    async (route: RouteDefinition) => {
      const key = { authorization: `Bearer ${A.apiKey}` };
      const out: Attempt[] = [
        await at(route, `${shared} with A's API key`, "ok-own-data")(request(route.method, shared, { headers: key })),
      ];
      if (onlyB)
        out.push(
          await at(
            route,
            `${onlyB} (only B has it) with A's API key`,
            onlyBExpect,
          )(request(route.method, onlyB, { headers: key })),
        );
      if (list) {
        const forged = encodeCursor({ scope: "x", key: { ...keys.account(B.ws, "acc1") } });
        const forgedAccounts = encodeCursor({
          scope: "accounts",
          position: "subscribed",
          key: { ...keys.account(B.ws, "acc1"), ...keys.bucketIndex(B.ws, "subscribed", "acc1") },
        });
        for (const cursor of [forged, forgedAccounts]) {
          out.push(
            await at(
              route,
              `${shared} with a cursor into B`,
              "refused",
            )(request(route.method, `${shared}${shared.includes("?") ? "&" : "?"}cursor=${cursor}`, { headers: key })),
          );
        }
      }
      for (const credential of aCredentialsAsBearer()) {
        out.push(
          await at(
            route,
            `${onlyB ?? shared} with an A ingest credential as API key`,
            "refused",
          )(request(route.method, onlyB ?? shared, { headers: { authorization: `Bearer ${credential}` } })),
        );
      }
      return out;
    };
  // A Stripe event naming B's account, signed with each of A's secrets (its Stripe one first).
  const stripeWithA = async (route: RouteDefinition, path: string) => {
    const body = JSON.stringify({
      id: "evt_forged",
      object: "event",
      type: "customer.created",
      created: 1714521600,
      data: { object: { id: "cus_forged", object: "customer", metadata: { account_id: "acc1", who: A.marker } } },
    });
    const out: Attempt[] = [];
    for (const [name, secret] of [
      ["A's Stripe signing secret", A.stripeSecret],
      ["A's product secret", A.secret],
    ] as const) {
      const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
      out.push(
        await at(
          route,
          `${path} signed with ${name}`,
          "refused",
        )(request("POST", path, { headers: { "content-type": "application/json", "stripe-signature": header }, body })),
      );
    }
    return out;
  };
  const trackingCases = Object.fromEntries(
    routes
      .filter((r) => r.function === "ingest" && !r.path.includes("webhooks"))
      .map((r) => [`${r.method} ${r.path}`, tracking]),
  );
  return {
    "POST /v1/webhooks/segment/{workspaceId}": (route) => webhookWithA(route, `/v1/webhooks/segment/${B.ws}`),
    "POST /v1/webhooks/segment/{workspaceId}/{sourceName}": async (route) => [
      ...(await webhookWithA(route, `/v1/webhooks/segment/${B.ws}/product`)),
      ...(await webhookWithA(route, `/v1/webhooks/segment/${B.ws}/crm`)),
    ],
    "POST /v1/webhooks/stripe/{workspaceId}": (route) => stripeWithA(route, `/v1/webhooks/stripe/${B.ws}`),
    "POST /v1/webhooks/stripe/{workspaceId}/{sourceName}": async (route) => [
      ...(await stripeWithA(route, `/v1/webhooks/stripe/${B.ws}/stripe`)),
      ...(await stripeWithA(route, `/v1/webhooks/stripe/${B.ws}/product`)),
    ],
    ...trackingCases,
    "GET /health": async (route) => [await at(route, "/health", "ok-own-data")(request("GET", "/health"))],
    "GET /openapi.json": async (route) => [
      await at(route, "/openapi.json", "ok-own-data")(request("GET", "/openapi.json")),
    ],
    "GET /v1/accounts": read("/v1/accounts", undefined, true),
    "GET /v1/accounts/{accountId}": read("/v1/accounts/acc1", "/v1/accounts/only-b"),
    "GET /v1/accounts/{accountId}/users": read("/v1/accounts/acc1/users", "/v1/accounts/only-b/users", true),
    "GET /v1/accounts/{accountId}/events": read("/v1/accounts/acc1/events", "/v1/accounts/only-b/events", true),
    "GET /v1/users/{userId}": read("/v1/users/u1", "/v1/users/only-b-user"),
    "GET /v1/users/{userId}/accounts": read("/v1/users/u1/accounts", "/v1/users/only-b-user/accounts", true),
    "GET /v1/users/{userId}/events": read("/v1/users/u1/events", "/v1/users/only-b-user/events", true),
    // A deletion with A's key deletes in A (B's user of the same id stays), even for a user only B has.
    "DELETE /v1/users/{userId}": read("/v1/users/u-del", "/v1/users/only-b-user", false, "ok-own-data"),
    "GET /v1/entity-maps": read("/v1/entity-maps", undefined, true),
    "PUT /v1/entity-maps": async (route) => {
      const headers = { authorization: `Bearer ${A.apiKey}`, "content-type": "application/json" };
      const body = JSON.stringify([
        { source: "crm", kind: "user", external_id: "ext-1", canonical_id: "u-other" },
        { source: "crm", kind: "account", external_id: "only-b-ext", canonical_id: "acc1" },
        { source: "crm", kind: "user", external_id: "ext-unmapped", canonical_id: "u1" },
      ]);
      const out = [
        await at(
          route,
          "PUT maps of B's ids with A's key (replace)",
          "ok-own-data",
        )(request("PUT", "/v1/entity-maps?replace=true", { headers, body })),
      ];
      for (const credential of aCredentialsAsBearer()) {
        out.push(
          await at(
            route,
            "PUT with an A ingest credential as API key",
            "refused",
          )(
            request("PUT", "/v1/entity-maps", { headers: { ...headers, authorization: `Bearer ${credential}` }, body }),
          ),
        );
      }
      return out;
    },
    "DELETE /v1/entity-maps/{source}/{kind}/{externalId}": read(
      "/v1/entity-maps/crm/user/ext-1",
      "/v1/entity-maps/crm/account/only-b-ext2",
    ),
    "GET /v1/rejects": read("/v1/rejects", undefined, true),
    "GET /v1/pending": read("/v1/pending", undefined, true),
    "GET /v1/sources": read("/v1/sources"),
    "GET /v1/sources/{name}": read("/v1/sources/product"),
  };
}

describe("every credential is scoped to its workspace, on every route", () => {
  it("A's secrets, write keys, bearer token and API key never read or write B", async () => {
    const before = await itemsOf(B.ws);
    const cases = attacks();
    const covered = routes.map((r) => `${r.method} ${r.path}`);
    expect(
      covered.filter((r) => !cases[r]),
      "routes without an isolation case",
    ).toEqual([]);

    const attempts: Attempt[] = [];
    for (const route of routes)
      attempts.push(
        ...(await (cases[`${route.method} ${route.path}`] as (r: RouteDefinition) => Promise<Attempt[]>)(route)),
      );
    // Every attempt has had its answer: once the queue is empty, all that was queued is normalized.
    await untilQueueEmpty(tracked(createSqsClient(config)), config.rawQueueUrl);
    const after = await itemsOf(B.ws);

    const problems: string[] = [];
    for (const a of attempts) {
      // Every item of B carries B's marker (A's forged calls name B's id, so the id itself proves nothing).
      if (a.text.includes(B.marker))
        problems.push(`${a.route}: ${a.label}: the answer shows B's data: ${a.text.slice(0, 600)}`);
      const refused = a.status >= 400 && a.status < 500;
      if (a.expect === "refused" && !refused)
        problems.push(`${a.route}: ${a.label}: ${a.status} ${a.text.slice(0, 120)}`);
      if (a.expect === "ok-own-data" && (a.status < 200 || a.status >= 300))
        problems.push(`${a.route}: ${a.label}: ${a.status} ${a.text.slice(0, 120)}`);
    }
    const reads = attempts.filter((a) => a.expect === "ok-own-data" && a.route.startsWith("GET /v1/"));
    const sawOwnData = reads.filter((a) => a.text.includes(A.marker)).length;
    const byStatus = new Map<number, number>();
    for (const a of attempts) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    console.log(
      `tenant isolation: ${routes.length} routes, ${attempts.length} attempts with A's credentials against B; ` +
        `answers ${[...byStatus]
          .sort()
          .map(([s, n]) => `${s}: ${n}`)
          .join(", ")}; ` +
        `${attempts.filter((a) => a.expect === "refused").length} refused as expected; ${sawOwnData}/${reads.length} reads showed A's own data; ` +
        `queued messages by workspace: A ${queuedWorkspaces.filter((w) => w === A.ws).length}, B ${queuedWorkspaces.filter((w) => w === B.ws).length}; B's items ${after === before ? "unchanged" : "CHANGED"} (${before.length} bytes)`,
    );
    expect(problems).toEqual([]);
    expect(queuedWorkspaces.filter((w) => w !== A.ws)).toEqual([]);
    expect(queuedWorkspaces.length).toBeGreaterThan(0);
    expect(sawOwnData).toBeGreaterThan(0);
    expect(after).toBe(before);
  }, 120_000);
});
