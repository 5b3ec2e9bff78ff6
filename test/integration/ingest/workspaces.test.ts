import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { runCli } from "../../../packages/cli/src/main";
import { hashCredential } from "../../../packages/core/src/workspace/credentials";
import { callsOf, drainQueue, type IngestStack, post, segmentSign, startIngestStack } from "./ingest-stack";

let stack: IngestStack;

beforeAll(async () => {
  stack = await startIngestStack();
});
afterAll(async () => {
  await stack?.close();
});

/** Runs the CLI as `npm run cli -- …` would, against this file's tables (from the environment). */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("workspaces CLI against DynamoDB Local", () => {
  it("creates a workspace whose printed webhook URL, secret and write key work", async () => {
    const created = await cli(
      "workspaces",
      "create",
      "--id",
      "acme",
      "--name",
      "Acme Inc",
      "--base-url",
      stack.server.url,
      "--json",
    );
    expect(created.code).toBe(0);
    const data = JSON.parse(created.out);
    expect(data).toMatchObject({
      workspace: { id: "acme", name: "Acme Inc" },
      source: "product",
      webhookUrl: `${stack.server.url}/v1/webhooks/segment/acme`,
      sharedSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      writeKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });

    const call = { type: "track", userId: "u1", event: "Signed Up" };
    const body = JSON.stringify(call);
    expect((await post(data.webhookUrl, body, { "x-signature": segmentSign(body, data.sharedSecret) })).status).toBe(
      200,
    );
    const tracked = await post(`${stack.server.url}/v1/track`, JSON.stringify({ ...call, writeKey: data.writeKey }));
    expect(tracked.status).toBe(200);
    // The tracking API call also gets our receive time (clock-skew correction).
    expect(callsOf(await drainQueue(stack.sqs, stack.config.rawQueueUrl))).toEqual([
      call,
      { ...call, receivedAt: expect.any(String) },
    ]);
  });

  it("prints readable text without --json, with a URL template when no base URL is known", async () => {
    const created = await cli("workspaces", "create", "--id", "globex");
    expect(created.code).toBe(0);
    expect(created.out).toContain("Created workspace globex (globex) with source product.");
    expect(created.out).toMatch(/Segment webhook URL: +<base>\/v1\/webhooks\/segment\/globex/);
    expect(created.out).toMatch(/Shared secret: +[A-Za-z0-9_-]{43}/);
    expect(created.out).toMatch(/Write key: +[A-Za-z0-9_-]{43}/);
    expect(created.out).toContain("shown once");
  });

  it("lists workspaces", async () => {
    const listed = await cli("workspaces", "list");
    expect(listed.code).toBe(0);
    const lines = listed.out.split("\n");
    expect(lines[0]).toMatch(/^ID +NAME +CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/).slice(0, 2))).toEqual([
      ["acme", "Acme Inc"],
      ["globex", "globex"],
    ]);
    expect(JSON.parse((await cli("workspaces", "list", "--json")).out).map((w: { id: string }) => w.id)).toEqual([
      "acme",
      "globex",
    ]);
  });

  it("refuses a duplicate or invalid workspace id (exit code 1, code in the message)", async () => {
    const again = await cli("workspaces", "create", "--id", "acme");
    expect(again.code).toBe(1);
    expect(again.err).toContain("workspace.exists");
    const invalid = await cli("workspaces", "create", "--id", "Not Valid!", "--json");
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.out)).toMatchObject({ success: false, code: "workspace.id_invalid" });
  });

  it("rotates and retires a secret: both work during the rotation, then only the new one", async () => {
    const url = `${stack.server.url}/v1/webhooks/segment/rot`;
    const first = JSON.parse((await cli("workspaces", "create", "--id", "rot", "--json")).out).sharedSecret as string;
    const rotated = await cli("workspaces", "rotate-secret", "--id", "rot", "--json");
    expect(rotated.code).toBe(0);
    const rotation = JSON.parse(rotated.out);
    expect(rotation).toMatchObject({ workspaceId: "rot", source: "product", activeSecrets: 2 });
    const second = rotation.sharedSecret as string;

    const body = JSON.stringify({ type: "identify", userId: "u1" });
    const send = (secret: string) => post(url, body, { "x-signature": segmentSign(body, secret) });
    expect((await send(first)).status).toBe(200);
    expect((await send(second)).status).toBe(200);

    const third = await cli("workspaces", "rotate-secret", "--id", "rot");
    expect(third.code).toBe(1);
    expect(third.err).toContain("secret.rotation_pending");

    const retired = await cli("workspaces", "retire-secret", "--id", "rot");
    expect(retired.code).toBe(0);
    expect(retired.out).toContain("only the newest one is accepted");
    expect((await send(first)).status).toBe(401);
    expect((await send(second)).status).toBe(200);
    expect(await cli("workspaces", "retire-secret", "--id", "rot")).toMatchObject({ code: 1 });
    await drainQueue(stack.sqs, stack.config.rawQueueUrl);
  });

  it("answers a rotation for an unknown workspace with source.not_found", async () => {
    const missing = await cli("workspaces", "rotate-secret", "--id", "nobody", "--json");
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({ code: "source.not_found" });
  });

  it("issues and clears a webhook bearer token", async () => {
    const issued = JSON.parse((await cli("workspaces", "bearer-token", "--id", "globex", "--json")).out);
    expect(issued).toMatchObject({ bearerTokenRequired: true, bearerToken: expect.any(String) });
    const cleared = JSON.parse((await cli("workspaces", "bearer-token", "--id", "globex", "--clear", "--json")).out);
    expect(cleared).toMatchObject({ bearerTokenRequired: false });
  });
});

describe("workspace store", () => {
  it("stores write keys and bearer tokens only as SHA-256, with a write key look-up item", async () => {
    const created = await stack.store.createWorkspace({ id: "hashed" });
    const { token } = await stack.store.issueBearerToken("hashed");
    const db = createDocumentClient(stack.config);
    const items = (await db.send(new ScanCommand({ TableName: stack.config.entitiesTable }))).Items ?? [];
    db.destroy();
    const dump = JSON.stringify(items);
    expect(dump).not.toContain(created.writeKey);
    expect(dump).not.toContain(token);
    expect(dump).toContain(hashCredential(created.writeKey));
    expect(items.find((i) => i.pk === `WRITEKEY#${hashCredential(created.writeKey)}`)).toMatchObject({
      workspaceId: "hashed",
      source: "product",
    });
    expect(await stack.store.findSourceByWriteKeyHash(hashCredential(created.writeKey))).toEqual({
      workspaceId: "hashed",
      source: "product",
    });
  });

  it("caches look-ups for the configured time, then sees changes", async () => {
    let now = Date.parse("2024-05-01T12:00:00.000Z");
    const db = createDocumentClient(stack.config);
    const cached = new WorkspaceStore(db, stack.config.entitiesTable, { cacheSeconds: 30, now: () => new Date(now) });
    const created = await stack.store.createWorkspace({ id: "cached" });

    expect((await cached.findSource("cached", "product"))?.secrets.map((s) => s.value)).toEqual([created.sharedSecret]);
    const { secret } = await stack.store.rotateSecret("cached");
    now += 29_000;
    expect((await cached.findSource("cached", "product"))?.secrets).toHaveLength(1);
    now += 2_000;
    expect((await cached.findSource("cached", "product"))?.secrets.map((s) => s.value)).toEqual([
      created.sharedSecret,
      secret,
    ]);

    // A miss is remembered only briefly, so a new workspace is found within seconds.
    expect(await cached.findSource("later", "product")).toBeUndefined();
    await stack.store.createWorkspace({ id: "later" });
    now += 6_000;
    expect(await cached.findSource("later", "product")).toBeDefined();
    db.destroy();
  });

  it("creates a workspace with given credentials and replaces them; the old ones stop working", async () => {
    const created = await stack.store.createWorkspace({
      id: "given",
      credentials: { sharedSecret: "given-secret", writeKey: "given-key" },
    });
    expect(created).toMatchObject({ sharedSecret: "given-secret", writeKey: "given-key" });
    const url = `${stack.server.url}/v1/webhooks/segment/given`;
    const body = JSON.stringify({ type: "track", userId: "u1", event: "Signed Up" });
    const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}` });
    expect((await post(url, body, { "x-signature": segmentSign(body, "given-secret") })).status).toBe(200);
    expect((await post(`${stack.server.url}/v1/track`, body, basic("given-key"))).status).toBe(200);

    await stack.store.replaceCredentials("given", "product", { sharedSecret: "new-secret", writeKey: "new-key" });
    expect((await post(url, body, { "x-signature": segmentSign(body, "given-secret") })).status).toBe(401);
    expect((await post(url, body, { "x-signature": segmentSign(body, "new-secret") })).status).toBe(200);
    expect((await post(`${stack.server.url}/v1/track`, body, basic("given-key"))).body.code).toBe(
      "auth.write_key_invalid",
    );
    expect((await post(`${stack.server.url}/v1/track`, body, basic("new-key"))).status).toBe(200);
    await drainQueue(stack.sqs, stack.config.rawQueueUrl);
  });

  it("refuses to move a write key onto a source when another source has it", async () => {
    const a = await stack.store.createWorkspace({ id: "owner-a" });
    await stack.store.createWorkspace({ id: "owner-b" });
    await expect(stack.store.replaceCredentials("owner-b", "product", { writeKey: a.writeKey })).rejects.toMatchObject({
      code: "credential.write_key_taken",
    });
    expect(await stack.store.findSourceByWriteKeyHash(hashCredential(a.writeKey))).toEqual({
      workspaceId: "owner-a",
      source: "product",
    });
  });
});
