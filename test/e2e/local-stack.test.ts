import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../packages/local/src/services";
import { eventually } from "../support/eventually";
import {
  killStack,
  leftOver,
  processesMentioning,
  run,
  type StackProcess,
  spawnStack,
  stopStack,
  untilSettled,
  waitUntilReady,
} from "../support/stack-process";

/**
 * The local stack end to end, as a newcomer uses it: `npm start` (as a child process), the replay
 * CLI sending the fixtures as Segment webhooks and through the tracking API, and the read API
 * over HTTP with the dev API key. Then a restart on the same data, and stops that leave nothing
 * running.
 */

const credentials = {
  DEV_SHARED_SECRET: "e2e-shared-secret",
  DEV_WRITE_KEY: "e2e-write-key",
  DEV_API_KEY: "e2e-api-key-0001",
};

let root: string;
let dataDir: string;
let port: number;
let env: Record<string, string>;
let stack: StackProcess | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "local-stack-e2e-"));
  dataDir = join(root, "data");
  port = await freePort();
  env = { PORT: String(port), DATA_DIR: dataDir, ...credentials };
  stack = spawnStack(env);
  await waitUntilReady(stack);
});

// The stack's own output says why a read never came true: print its end when a test fails.
afterEach((context) => {
  if (context.task.result?.state === "fail" && stack) {
    process.stderr.write(`--- local stack output (last 6000 characters) ---\n${stack.output().slice(-6000)}\n`);
  }
});

afterAll(async () => {
  if (stack) await stopStack(stack).catch(() => undefined);
  killStack(stack);
  await rm(root, { recursive: true, force: true });
});

const url = () => `http://127.0.0.1:${port}`;

/** GET on the read API with the dev API key. */
async function api<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url()}${path}`, { headers: { authorization: `Bearer ${credentials.DEV_API_KEY}` } });
  return { status: response.status, body: (await response.json()) as T };
}

interface List<T = Record<string, unknown>> {
  items: T[];
}

const settled = () => untilSettled(stack);

/** `npm run replay -- …` with `--json`; returns the exit code and the parsed summary. */
async function replay(...args: string[]) {
  const result = await run("npm", ["run", "--silent", "replay", "--", ...args, "--json"], env);
  let summary: Record<string, unknown> = {};
  try {
    summary = JSON.parse(result.stdout);
  } catch {
    throw new Error(`replay printed no JSON summary (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, summary, stderr: result.stderr };
}

const eventNames = (list: List) => list.items.map((e) => e.event_name).sort();

describe("npm start", () => {
  it("prints the URLs, the credentials and a curl whose signed event is stored", async () => {
    const output = stack?.output() ?? "";
    expect(output).toContain(`Local stack ready at ${url()} (workspace dev)`);
    expect(output).toContain(`${url()}/v1/webhooks/segment/dev`);
    for (const value of Object.values(credentials)) expect(output).toContain(value);

    const curl = /^ {2}(curl -sS -X POST [\s\S]*?--data-raw '.*')$/m.exec(output)?.[1];
    expect(curl).toBeDefined();
    expect(execFileSync("sh", ["-c", curl as string], { encoding: "utf8" })).toBe('{"success":true}');
    await eventually(
      () => api<List>("/v1/accounts/account-1/events"),
      (r) =>
        expect(r.body.items).toEqual([
          expect.objectContaining({ event_id: "first-event-1", user_id: "user-1", source: "product" }),
        ]),
      { what: "the curl's event on account-1" },
    );
  });

  it("serves health without a key and refuses the API without one", async () => {
    expect((await fetch(`${url()}/health`)).status).toBe(200);
    const refused = await fetch(`${url()}/v1/accounts`);
    expect(refused.status).toBe(401);
  });
});

describe("replay through the tracking API (--direct)", () => {
  it("sends a Segment batch file to /v1/batch and single calls to /v1/<type>; the read API shows them", async () => {
    const batched = await replay("test/fixtures/batch.json", "test/fixtures/track.json", "--direct", "--batch", "3");
    expect(batched.code).toBe(0);
    expect(batched.summary).toMatchObject({
      mode: "direct",
      calls: 8,
      sent: { calls: 8, requests: 3 },
      accepted: 8,
      rejected: { calls: 0 },
    });
    const single = await replay("test/fixtures/screen.json", "--direct");
    expect(single.code).toBe(0);
    expect(single.summary).toMatchObject({ accepted: 1, sent: { requests: 1 } });

    await settled();
    const marie = await api("/v1/users/usr_marie");
    expect(marie.status).toBe(200);
    expect(marie.body).toMatchObject({
      first_name: "Marie",
      last_name: "Curie",
      email: "marie@initech.example",
      account_ids: ["acc_initech"],
    });
    const events = await api<List>("/v1/users/usr_marie/events");
    expect(eventNames(events.body)).toEqual(["Report Exported", "Seat Added"]);
    expect(events.body.items.map((e) => e.account_id)).toEqual(["acc_initech", "acc_initech"]);

    const screens = await api<List>("/v1/users/usr_grace/events");
    expect(screens.body.items.filter((e) => e.type === "screen")).toEqual([
      expect.objectContaining({ event_name: "Account Overview", account_id: "acc_initech" }),
    ]);
  });
});

describe("replay as Segment webhooks", () => {
  it("sends every fixture signed; accounts, users, events, identity and rejects come back through the API", async () => {
    const replayed = await replay("test/fixtures");
    expect(replayed.code).toBe(0);
    expect(replayed.summary).toMatchObject({
      mode: "webhook",
      files: 8,
      calls: 20,
      sent: { calls: 20, requests: 20 },
      accepted: 20,
      rejected: { calls: 0 },
    });

    // Everything the replay queued has been normalized: what the API shows from here on is final.
    await settled();
    const linus = await api("/v1/users/usr_linus");
    expect(linus.status).not.toBe(200);
    expect(linus.body.code).toBe("user.deleted");
    // Two outcomes are right, depending on the order in which the replay's four parallel requests
    // were normalized: the identify of usr_linus before his deletion is stored and then deleted
    // (no reject); after it, it is refused with a `user.deleted` reject.
    const rejects = (await api<List>("/v1/rejects")).body.items.map((r) => [r.code, r.field]).sort();
    const nested = [
      ["property.nested_object", "properties.feedback"],
      ["trait.nested_object", "traits.address"],
    ];
    expect([nested, [...nested, ["user.deleted", "userId"]].sort()]).toContainEqual(rejects);

    const buckets = async (bucket: string) =>
      (await api<List>(`/v1/accounts?bucket=${bucket}`)).body.items.map((a) => a.account_id);
    expect(await buckets("trial")).toEqual(["acc_northwind"]);
    expect(await buckets("churned")).toEqual(["acc_globex"]);
    expect(await buckets("subscribed")).toContain("acc_initech");

    expect((await api("/v1/accounts/acc_northwind")).body).toMatchObject({
      name: "Northwind Analytics",
      is_trial: true,
      trial_start_date: "2024-05-01T00:00:00.000Z",
      trial_expiry_date: "2024-05-15T00:00:00.000Z",
      bucket: "trial",
      traits: { employees: 45, regions: ["eu-west", "us-east"] },
      missing_recommended: [],
    });
    expect((await api("/v1/accounts/acc_globex")).body).toMatchObject({
      is_churned: true,
      bucket: "churned",
      company_bio: "Industrial automation and widgets",
    });
    expect((await api("/v1/accounts/acc_initech")).body).toMatchObject({
      mrr: 1299.5,
      plan_name: "Enterprise",
      avatar_url: "https://cdn.example.com/logos/initech.png",
      bucket: "subscribed",
    });

    // camelCase and snake_case traits map to the same fields.
    expect((await api("/v1/users/usr_ada")).body).toMatchObject({
      first_name: "Ada",
      last_name: "Lovelace",
      key_user: true,
      linkedin_url: "https://www.linkedin.com/in/ada-lovelace-example",
      account_ids: ["acc_northwind"],
    });
    expect((await api("/v1/users/usr_grace")).body).toMatchObject({
      first_name: "Grace",
      created_at: "2023-11-20T14:03:00.000Z",
      key_user: true,
      traits: { favorite_reports: ["weekly-usage", "churn-risk"] },
    });
    const alan = (await api("/v1/users/usr_alan")).body;
    expect(alan).toMatchObject({ first_name: "Alan", account_ids: ["acc_globex"] });
    expect(alan.traits).not.toHaveProperty("address");

    // The alias attributes the anonymous pricing page view to Ada.
    const ada = await api<List>("/v1/users/usr_ada/events");
    expect(eventNames(ada.body)).toEqual(["Dashboard Created", "Pricing", "Report Exported"]);

    const initech = await api<List>("/v1/accounts/acc_initech/events");
    expect(initech.body.items.map((e) => [e.type, e.event_name]).sort()).toEqual([
      ["page", "Dashboard"],
      ["screen", "Account Overview"],
      ["track", "Invite Sent"],
      ["track", "Report Exported"],
      ["track", "Seat Added"],
    ]);
    // Newest first.
    const times = initech.body.items.map((e) => String(e.timestamp));
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("accepts the same calls batched like Segment Actions and stores nothing twice", async () => {
    const before = (await api<List>("/v1/accounts/acc_initech/events")).body.items.length;
    const replayed = await replay("test/fixtures", "--batch", "8");
    expect(replayed.code).toBe(0);
    // 19 calls in batches of 8, and the deletion alone (a batch's signature covers only its first call).
    expect(replayed.summary).toMatchObject({ accepted: 20, sent: { requests: 4 }, rejected: { calls: 0 } });
    await settled();
    expect((await api<List>("/v1/accounts/acc_initech/events")).body.items).toHaveLength(before);
    expect((await api<List>("/v1/users/usr_ada/events")).body.items).toHaveLength(3);
  });

  it("reports a wrong secret as rejected, by code, with exit code 1", async () => {
    const replayed = await replay("test/fixtures/track.json", "--secret", "not-the-secret");
    expect(replayed.code).toBe(1);
    expect(replayed.summary).toMatchObject({
      accepted: 0,
      rejected: { calls: 4, byCode: { "segment.signature_invalid": { calls: 4 } } },
    });
  });
});

describe("stopping and restarting", () => {
  it("refuses a second stack on the same port with one clear line", async () => {
    const other = join(root, "other");
    const result = await run("npm", ["start"], { ...env, DATA_DIR: other });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Error: Port ${port} on 127.0.0.1 is already in use`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(processesMentioning(other)).toEqual([]);
  });

  it("stops on SIGTERM right after a replay with exit code 0, keeping what was accepted and leaving no process", async () => {
    const running = stack as StackProcess;
    const late = join(root, "late.jsonl");
    const calls = Array.from({ length: 40 }, (_, i) => ({
      type: "track",
      event: "Late Event",
      userId: "usr_ada",
      messageId: `late-${i}`,
      timestamp: `2024-06-01T00:00:${String(i).padStart(2, "0")}.000Z`,
      context: { groupId: "acc_northwind" },
    }));
    await writeFile(late, calls.map((c) => JSON.stringify(c)).join("\n"));
    expect((await replay(late)).summary).toMatchObject({ accepted: 40 });

    expect(processesMentioning(dataDir).some((line) => line.includes("DynamoDBLocal"))).toBe(true);
    expect(running.pids.size).toBeGreaterThanOrEqual(4); // npm, node, the DynamoDB guard, java
    const exit = await stopStack(running, "SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(running.output()).toContain("Stopped.");
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(await leftOver(running.pids)).toEqual([]);
  });

  it("keeps the data and the credentials across a restart, and stops on Ctrl-C (SIGINT to the group)", async () => {
    const saved = await readFile(join(dataDir, "dev-credentials.json"), "utf8");
    stack = spawnStack(env);
    await waitUntilReady(stack);
    expect(await readFile(join(dataDir, "dev-credentials.json"), "utf8")).toBe(saved);
    expect(stack.output()).not.toContain("Created workspace dev");

    expect((await api("/v1/accounts/acc_northwind")).body).toMatchObject({
      name: "Northwind Analytics",
      bucket: "trial",
    });
    const northwind = await api<List>("/v1/accounts/acc_northwind/events?limit=100");
    expect(northwind.body.items.filter((e) => e.event_name === "Late Event")).toHaveLength(40);
    expect((await api<List>("/v1/accounts/acc_initech/events")).body.items).toHaveLength(5);
    expect((await api("/v1/users/usr_marie")).body).toMatchObject({ first_name: "Marie" });

    const exit = await stopStack(stack, "SIGINT", "group");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(await leftOver(stack.pids)).toEqual([]);
  });

  it("says in one line that Java is missing, without a stack trace", async () => {
    const bin = join(root, "bin-without-java");
    await mkdir(bin, { recursive: true });
    // What npm start needs, and no java.
    await symlink(process.execPath, join(bin, "node"));
    await symlink(execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim(), join(bin, "npm"));
    await symlink("/bin/sh", join(bin, "sh"));
    const noJava = join(root, "no-java");
    const result = await run("npm", ["start"], {
      ...env,
      PORT: String(await freePort()),
      DATA_DIR: noJava,
      PATH: bin,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: Java 17 or newer is needed for DynamoDB Local");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(processesMentioning(noJava)).toEqual([]);
  });
});
