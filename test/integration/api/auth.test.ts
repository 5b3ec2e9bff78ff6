import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../../packages/aws/src/api/cursor";
import { createApiDependencies, createApiHandler } from "../../../packages/aws/src/api/handler";
import { keys } from "../../../packages/aws/src/dynamo/keys";
import { runCli } from "../../../packages/cli/src/main";
import { ErrorBody, Health } from "../../../packages/core/src/api/schemas";
import { routes } from "../../../packages/core/src/http/routes";
import { startHandlerServer } from "../../../packages/local/src/http-adapter";
import { type ApiStack, call, conforms, deliver, startApiStack, workspaceWithKey } from "./api-stack";

let stack: ApiStack;
beforeAll(async () => {
  stack = await startApiStack();
});
afterAll(async () => {
  await stack?.close();
});

const group = (groupId: string, name: string) => ({
  type: "group",
  messageId: `g-${groupId}`,
  groupId,
  userId: `user-of-${groupId}`,
  timestamp: "2024-05-01T00:00:00Z",
  traits: { name },
});

describe("API keys", () => {
  it("answers 401 without a key, with a wrong key, and with another scheme", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer sk_wrong" },
      { authorization: "Basic c2tfd3Jvbmc6" },
    ];
    for (const headers of attempts) {
      const answer = await call(stack, "/v1/accounts", { headers });
      expect(answer.status).toBe(401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
      conforms(ErrorBody, answer.body);
    }
    expect((await call(stack, "/v1/accounts")).body.code).toBe("auth.api_key_missing");
    expect((await call(stack, "/v1/accounts", { key: "sk_wrong" })).body.code).toBe("auth.api_key_invalid");
  });

  it("stores only a hash, lists keys without secrets, and stops accepting a revoked key", async () => {
    const { ws, key, keyId } = await workspaceWithKey(stack);
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect((await call(stack, "/v1/accounts", { key })).status).toBe(200);
    const listed = await stack.apiKeys.listApiKeys(ws);
    expect(listed).toEqual([{ keyId, name: "tests", createdAt: expect.any(String), hint: `sk_…${key.slice(-4)}` }]);
    expect(JSON.stringify(listed)).not.toContain(key);

    await stack.apiKeys.revokeApiKey(ws, keyId);
    const revoked = await call(stack, "/v1/accounts", { key });
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe("auth.api_key_invalid");
    await expect(stack.apiKeys.revokeApiKey(ws, keyId)).rejects.toMatchObject({ code: "api_key.not_found" });
  });

  it("stores a given key (the local stack's DEV_API_KEY) once, and refuses it to another workspace", async () => {
    const { ws } = await workspaceWithKey(stack);
    const first = await stack.apiKeys.issueApiKey(ws, { key: `dev-key-${ws}` });
    expect(first.apiKey).toBe(`dev-key-${ws}`);
    expect(await stack.apiKeys.issueApiKey(ws, { key: `dev-key-${ws}` })).toEqual(first);
    expect(await stack.apiKeys.authenticate(`dev-key-${ws}`)).toEqual({ workspaceId: ws, keyId: first.keyId });
    const other = await workspaceWithKey(stack);
    await expect(stack.apiKeys.issueApiKey(other.ws, { key: `dev-key-${ws}` })).rejects.toMatchObject({
      code: "api_key.exists",
    });
    await expect(stack.apiKeys.issueApiKey("no-such-workspace")).rejects.toMatchObject({ code: "workspace.not_found" });
    await expect(stack.apiKeys.issueApiKey(ws, { key: "short" })).rejects.toMatchObject({ code: "api_key.invalid" });
  });

  it("reads only its own workspace: ids of another workspace are unknown", async () => {
    const a = await workspaceWithKey(stack);
    const b = await workspaceWithKey(stack);
    await deliver(stack.config, b.ws, [
      group("globex", "Globex"),
      { type: "track", messageId: "t1", userId: "user-of-globex", event: "Seen", timestamp: "2024-05-02T00:00:00Z" },
    ]);
    expect((await call(stack, "/v1/accounts/globex", { key: b.key })).status).toBe(200);
    for (const [path, code] of [
      ["/v1/accounts/globex", "account.not_found"],
      ["/v1/accounts/globex/users", "account.not_found"],
      ["/v1/accounts/globex/events", "account.not_found"],
      ["/v1/users/user-of-globex", "user.not_found"],
      ["/v1/users/user-of-globex/accounts", "user.not_found"],
      ["/v1/users/user-of-globex/events", "user.not_found"],
    ]) {
      const answer = await call(stack, path as string, { key: a.key });
      expect(answer.status, path).toBe(404);
      expect(answer.body.code).toBe(code);
    }
    expect((await call(stack, "/v1/accounts", { key: a.key })).body.items).toEqual([]);
  });

  it("refuses a cursor made from another workspace's keys", async () => {
    const a = await workspaceWithKey(stack);
    const b = await workspaceWithKey(stack);
    await deliver(stack.config, b.ws, [group("b1", "B1"), group("b2", "B2"), group("b3", "B3")]);
    const firstPage = await call(stack, "/v1/accounts?limit=1", { key: b.key });
    expect(firstPage.body.next_cursor).toEqual(expect.any(String));

    // B's own cursor, replayed with A's key.
    const stolen = await call(stack, `/v1/accounts?limit=1&cursor=${firstPage.body.next_cursor}`, { key: a.key });
    expect(stolen.status).toBe(400);
    expect(stolen.body.code).toBe("cursor.invalid");

    // A cursor crafted to look like A's listing but pointing into B's partition.
    const crafted = encodeCursor({
      scope: "accounts",
      position: "subscribed",
      key: { ...keys.account(b.ws, "b1"), ...keys.bucketIndex(b.ws, "subscribed", "b1") },
    });
    const answer = await call(stack, `/v1/accounts?cursor=${crafted}`, { key: a.key });
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe("cursor.invalid");

    // A's key in B-looking index partition with A's table key: still refused.
    const mixed = encodeCursor({
      scope: "accounts",
      position: "subscribed",
      key: { ...keys.account(a.ws, "b1"), ...keys.bucketIndex(b.ws, "subscribed", "b1") },
    });
    expect((await call(stack, `/v1/accounts?cursor=${mixed}`, { key: a.key })).body.code).toBe("cursor.invalid");

    // A cursor of one listing is not accepted by another, nor by the same listing of another account.
    const ownPage = await call(stack, "/v1/accounts?limit=1", { key: b.key });
    const elsewhere = await call(stack, `/v1/rejects?cursor=${ownPage.body.next_cursor}`, { key: b.key });
    expect(elsewhere.body.code).toBe("cursor.invalid");
    expect((await call(stack, "/v1/pending?cursor=garbage!", { key: b.key })).body.code).toBe("cursor.invalid");
    expect((await call(stack, "/v1/pending?cursor=Z2FyYmFnZQ", { key: b.key })).body.code).toBe("cursor.invalid");
  });
});

describe("service routes", () => {
  it("answers /health without a key once DynamoDB answers", async () => {
    const answer = await call(stack, "/health");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok", version: "test-1" });
    conforms(Health, answer.body);
  });

  it("answers /health 503 while DynamoDB cannot be reached", async () => {
    const handler = createApiHandler(
      createApiDependencies({ ...stack.config, dynamoEndpoint: "http://127.0.0.1:9", credentialCacheSeconds: 0 }),
    );
    const server = await startHandlerServer([{ prefix: "/", handler }]);
    try {
      const response = await fetch(`${server.url}/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ success: false, code: "health.unavailable" });
    } finally {
      await server.close();
    }
  });

  it("serves a valid OpenAPI 3.1 document of every public route without a key", async () => {
    const answer = await call(stack, "/openapi.json");
    expect(answer.status).toBe(200);
    const result = await validate(answer.body);
    expect(result.valid).toBe(true);
    const documented = Object.entries(answer.body.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("serves every API route of the route table (no route.not_found for any of them)", async () => {
    const { key } = await workspaceWithKey(stack);
    for (const route of routes.filter((r) => r.function === "api")) {
      const path = route.path
        .replace("{accountId}", "a1")
        .replace("{userId}", "u1")
        .replace("{source}", "salesforce")
        .replace("{kind}", "account")
        .replace("{externalId}", "x1");
      const answer = await call(stack, path, {
        key,
        method: route.method,
        ...(route.method === "PUT" ? { body: "[]", contentType: "application/json" } : {}),
      });
      expect(answer.body?.code, `${route.method} ${route.path}`).not.toBe("route.not_found");
      expect(answer.status, `${route.method} ${route.path}`).toBeLessThan(500);
    }
  });

  it("answers unknown routes 404 and known routes with another method 405, as JSON", async () => {
    const { key } = await workspaceWithKey(stack);
    for (const path of ["/v1/accounts/a1/nope", "/v1/users/u1/events/e1", "/v1/entity-maps/salesforce"]) {
      const answer = await call(stack, path, { key });
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ success: false, code: "route.not_found" });
    }
    const post = await call(stack, "/v1/accounts", { key, method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
    expect(post.body.code).toBe("request.method_not_allowed");
  });

  it("logs one line per request with ids and outcome, never the key", async () => {
    const { ws, key, keyId } = await workspaceWithKey(stack);
    await deliver(stack.config, ws, [
      {
        type: "group",
        messageId: "g",
        groupId: "acme",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "Secret Name Co" },
      },
    ]);
    stack.logLines.length = 0;
    await call(stack, "/v1/accounts?limit=10", { key });
    await call(stack, "/v1/accounts/nobody", { key });
    expect(stack.logLines).toHaveLength(2);
    expect(stack.logLines[0]).toMatchObject({
      level: "info",
      message: "api",
      attributes: {
        operation: "listAccounts",
        route: "/v1/accounts",
        workspaceId: ws,
        keyId,
        status: 200,
        outcome: "ok",
        items: 1,
        durationMs: expect.any(Number),
      },
    });
    expect(stack.logLines[1]?.attributes).toMatchObject({ status: 404, outcome: "account.not_found" });
    const logged = JSON.stringify(stack.logLines);
    expect(logged).not.toContain(key);
    expect(logged).not.toContain("Secret Name Co");
  });
});

describe("API key administration in the CLI", () => {
  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("issues a key that works (shown once), lists it without the secret, and revokes it", async () => {
    const { ws } = await workspaceWithKey(stack);
    const created = await cli("workspaces", "create-api-key", "--id", ws, "--name", "dashboard", "--json");
    expect(created.code).toBe(0);
    const { apiKey, keyId } = JSON.parse(created.out);
    expect((await call(stack, "/v1/accounts", { key: apiKey })).status).toBe(200);

    const listed = await cli("workspaces", "list-api-keys", "--id", ws);
    expect(listed.out).toMatch(/^KEY ID\s+NAME\s+KEY\s+CREATED/);
    expect(listed.out).toContain(keyId);
    expect(listed.out).toContain("dashboard");
    expect(listed.out).not.toContain(apiKey);

    const text = await cli("workspaces", "create-api-key", "--id", ws);
    expect(text.out).toMatch(/API key: +sk_[A-Za-z0-9_-]{43}/);
    expect(text.out).toContain("shown once");

    expect((await cli("workspaces", "revoke-api-key", "--id", ws, "--key-id", keyId)).code).toBe(0);
    expect((await call(stack, "/v1/accounts", { key: apiKey })).status).toBe(401);
    const again = await cli("workspaces", "revoke-api-key", "--id", ws, "--key-id", keyId);
    expect(again.code).toBe(1);
    expect(again.err).toContain("api_key.not_found");
  });
});
