import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import {
  Account,
  EntityMapConflictError,
  EntityMapPage,
  EntityMapReport,
  EntityMapUploadResult,
  PendingCallPage,
} from "../../../packages/core/src/api/schemas";
import { drainQueue } from "../ingest/ingest-stack";
import {
  type ApiStack,
  allPages,
  call,
  conforms,
  deliver,
  normalize,
  normalizedAt,
  startApiStack,
  workspaceWithKey,
} from "./api-stack";

let stack: ApiStack;
beforeAll(async () => {
  stack = await startApiStack();
});
afterAll(async () => {
  await stack?.close();
});

const csv = (...rows: string[]) => ["source,kind,external_id,canonical_id", ...rows].join("\n");
const put = (key: string, body: string, query = "", contentType = "text/csv") =>
  call(stack, `/v1/entity-maps${query}`, { key, method: "PUT", body, contentType });

const salesforceGroup = (groupId: string, time: string, traits: Record<string, unknown>) => ({
  type: "group",
  messageId: `sf-${groupId}-${time}`,
  groupId,
  timestamp: time,
  traits,
});

describe("entity map upload", () => {
  it("dry run reports without writing; conflicts write nothing; a real upload releases the pending call", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    await deliver(stack.config, ws, [
      {
        type: "group",
        messageId: "p-g",
        groupId: "globex",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "Globex" },
      },
    ]);
    const held = salesforceGroup("001B", "2024-05-03T00:00:00Z", { plan: "Enterprise", mrr: 4200 });
    await deliver(stack.config, ws, [held], "salesforce");

    // The unmapped call waits in pending.
    const pending = await call(stack, "/v1/pending", { key });
    conforms(PendingCallPage, pending.body);
    expect(pending.body.items).toEqual([
      {
        source: "salesforce",
        message_id: held.messageId,
        time: "2024-05-03T00:00:00.000Z",
        held_at: normalizedAt,
        received_at: "2024-06-01T00:00:00.000Z",
        missing: [{ source: "salesforce", kind: "account", external_id: "001B" }],
        call: held,
      },
    ]);

    // Dry run: the report, and nothing written or released.
    const dry = await put(key, csv("salesforce,account,001B,globex", "salesforce,user,003U,ada"), "?dry_run=true");
    expect(dry.status).toBe(200);
    conforms(EntityMapReport, dry.body);
    expect(dry.body).toEqual({
      dry_run: true,
      created: 2,
      changed: 0,
      unchanged: 0,
      conflicts: [],
      rows: {
        created: [
          { source: "salesforce", kind: "account", external_id: "001B", canonical_id: "globex" },
          { source: "salesforce", kind: "user", external_id: "003U", canonical_id: "ada" },
        ],
        changed: [],
        unchanged: [],
      },
    });
    expect((await call(stack, "/v1/entity-maps", { key })).body.items).toEqual([]);
    expect((await call(stack, "/v1/pending", { key })).body.items).toHaveLength(1);

    // Conflicts (one external id to two canonical ids): 409 with the report, nothing written.
    const conflict = await put(
      key,
      JSON.stringify([
        { source: "salesforce", kind: "account", external_id: "001B", canonical_id: "globex" },
        { source: "salesforce", kind: "account", external_id: "001B", canonical_id: "initech" },
        { source: "salesforce", kind: "account", external_id: "001C", canonical_id: "c" },
      ]),
      "",
      "application/json",
    );
    expect(conflict.status).toBe(409);
    conforms(EntityMapConflictError, conflict.body);
    expect(conflict.body).toMatchObject({
      success: false,
      code: "entity_map.conflict",
      dry_run: false,
      created: 1,
      conflicts: [
        {
          source: "salesforce",
          kind: "account",
          external_id: "001B",
          canonical_id: "initech",
          other_canonical_id: "globex",
          reason: "mapped to two canonical ids in this upload",
        },
      ],
    });
    expect((await call(stack, "/v1/entity-maps", { key })).body.items).toEqual([]);
    expect((await call(stack, "/v1/pending", { key })).body.items).toHaveLength(1);

    // The real upload writes the maps and sends the pending call back through the raw queue.
    const real = await put(key, csv("salesforce,account,001B,globex", "salesforce,user,003U,ada"));
    expect(real.status).toBe(200);
    conforms(EntityMapUploadResult, real.body);
    expect(real.body).toMatchObject({ dry_run: false, created: 2, released: 1 });
    expect((await call(stack, "/v1/pending", { key })).body.items).toEqual([]);

    const received = await drainQueue(stack.sqs, stack.config.rawQueueUrl);
    expect(received).toHaveLength(1);
    expect(received[0]?.message).toMatchObject({
      v: 1,
      workspaceId: ws,
      source: "salesforce",
      receivedAt: "2024-06-01T00:00:00.000Z",
      calls: [held],
    });
    expect((await call(stack, "/v1/accounts/globex", { key })).body.plan_name).toBeNull();
    await normalize(
      stack.config,
      received.map((r) => r.message),
    );
    const globex = await call(stack, "/v1/accounts/globex", { key });
    conforms(Account, globex.body);
    expect(globex.body).toMatchObject({ account_id: "globex", name: "Globex", plan_name: "Enterprise", mrr: 4200 });
    expect((await call(stack, "/v1/accounts/001B", { key })).status).toBe(404);

    // Uploading the same maps again changes nothing; a different canonical id needs replace=true.
    const again = await put(key, csv("salesforce,account,001B,globex"));
    expect(again.body).toMatchObject({ created: 0, unchanged: 1, released: 0 });
    const moved = await put(key, csv("salesforce,account,001B,initech"));
    expect(moved.status).toBe(409);
    expect(moved.body.conflicts[0]).toMatchObject({
      other_canonical_id: "globex",
      reason: "already mapped to another canonical id",
    });
    const replaced = await put(key, csv("salesforce,account,001B,initech"), "?replace=true");
    expect(replaced.body).toMatchObject({
      changed: 1,
      rows: { changed: [{ external_id: "001B", canonical_id: "initech", previous_canonical_id: "globex" }] },
    });
  });

  it("refuses bodies that are not entity maps", async () => {
    const { key } = await workspaceWithKey(stack);
    const badHeader = await put(key, "src,kind,ext,canonical\na,b,c,d");
    expect(badHeader).toMatchObject({ status: 400, body: { code: "entity_map.invalid" } });
    const badRow = await put(key, csv("salesforce,company,001,acme"));
    expect(badRow.status).toBe(400);
    expect(badRow.body.message).toContain("line 2");
    const primary = await put(key, csv("product,account,001,acme"));
    expect(primary.body.message).toContain("canonical");
    const xml = await put(key, "<maps/>", "", "application/xml");
    expect(xml).toMatchObject({ status: 415, body: { code: "request.content_type_unsupported" } });
    expect((await put(key, "[]", "?dry_run=maybe", "application/json")).body.code).toBe("query.invalid");
  });

  it("lists maps by source and kind page by page, and deletes one", async () => {
    const { key } = await workspaceWithKey(stack);
    const rows = [
      ...Array.from({ length: 6 }, (_, i) => `salesforce,account,A${i},acc-${i}`),
      ...Array.from({ length: 4 }, (_, i) => `salesforce,user,U${i},user-${i}`),
      ...Array.from({ length: 3 }, (_, i) => `hubspot,account,H${i},acc-${i}`),
    ];
    expect((await put(key, csv(...rows))).body.created).toBe(13);

    const all = await allPages(stack, "/v1/entity-maps", key, { limit: "4" });
    expect(all.items.map((m) => `${m.source},${m.kind},${m.external_id},${m.canonical_id}`)).toEqual([
      ...rows.slice(10),
      ...rows.slice(0, 6),
      ...rows.slice(6, 10),
    ]);
    const page = await call(stack, "/v1/entity-maps?limit=2", { key });
    conforms(EntityMapPage, page.body);
    const users = await allPages(stack, "/v1/entity-maps", key, { kind: "user", limit: "3" });
    expect(users.items.map((m) => m.external_id)).toEqual(["U0", "U1", "U2", "U3"]);
    const hubspot = await allPages(stack, "/v1/entity-maps", key, { source: "hubspot" });
    expect(hubspot.items.map((m) => m.external_id)).toEqual(["H0", "H1", "H2"]);

    const deleted = await call(stack, "/v1/entity-maps/salesforce/user/U1", { key, method: "DELETE" });
    expect(deleted).toMatchObject({
      status: 200,
      body: { deleted: true, source: "salesforce", kind: "user", external_id: "U1" },
    });
    expect((await call(stack, "/v1/entity-maps/salesforce/user/U1", { key, method: "DELETE" })).body.code).toBe(
      "entity_map.not_found",
    );
    expect((await call(stack, "/v1/entity-maps/salesforce/company/U1", { key, method: "DELETE" })).body.code).toBe(
      "path.invalid",
    );
    const after = await allPages(stack, "/v1/entity-maps", key, { kind: "user" });
    expect(after.items.map((m) => m.external_id)).toEqual(["U0", "U2", "U3"]);
  });

  it("works from the CLI: dry run, conflicts, upload and listing", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    await deliver(
      stack.config,
      ws,
      [salesforceGroup("009", "2024-05-03T00:00:00Z", { industry: "Anvils" })],
      "salesforce",
    );
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli([...argv, "--url", stack.server.url, "--api-key", key], {
        stdout: (t) => out.push(t),
        stderr: (t) => err.push(t),
      });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const file = join(tmpdir(), `maps-${ws}.csv`);
    writeFileSync(file, csv("salesforce,account,009,acme"));

    const pending = await cli("pending");
    expect(pending.out).toMatch(/^TIME\s+SOURCE\s+MESSAGE ID\s+WAITING FOR\s+HELD SINCE$/m);
    expect(pending.out).toContain("salesforce account 009");

    const dry = await cli("entity-maps", "upload", file, "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.out).toBe("Dry run (nothing was written): 1 to create, 0 to change, 0 unchanged, 0 conflicting.");

    const conflicting = join(tmpdir(), `conflicts-${ws}.json`);
    writeFileSync(
      conflicting,
      JSON.stringify([
        { source: "salesforce", kind: "account", external_id: "009", canonical_id: "acme" },
        { source: "salesforce", kind: "account", external_id: "009", canonical_id: "other" },
      ]),
    );
    const refused = await cli("entity-maps", "upload", conflicting);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("nothing was written");
    expect(refused.err).toMatch(/EXTERNAL ID\s+CANONICAL ID\s+CONFLICTS WITH/);
    const refusedJson = await cli("entity-maps", "upload", conflicting, "--json");
    expect(JSON.parse(refusedJson.out)).toMatchObject({ success: false, code: "entity_map.conflict", conflicts: [{}] });

    const done = await cli("entity-maps", "upload", file);
    expect(done.out).toContain("Uploaded: 1 created, 0 changed, 0 unchanged.");
    expect(done.out).toContain("Released 1 pending call(s)");
    await drainQueue(stack.sqs, stack.config.rawQueueUrl);

    const list = await cli("entity-maps", "list", "--json");
    expect(JSON.parse(list.out).items).toMatchObject([{ external_id: "009", canonical_id: "acme" }]);
    const table = await cli("entity-maps", "list");
    expect(table.out.split("\n")[0]).toMatch(/^SOURCE\s+KIND\s+EXTERNAL ID\s+CANONICAL ID\s+UPDATED$/);
    expect((await cli("entity-maps", "delete", "salesforce", "account", "009")).code).toBe(0);
    expect((await cli("entity-maps", "list")).out).toBe("No entity maps.");
  });
});
