import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiTargetOf } from "../../../packages/cli/src/api-client";
import type { CliContext } from "../../../packages/cli/src/command";
import { runCli } from "../../../packages/cli/src/main";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";

const account = (id: string, name: string | null, bucket: string, mrr: number | null) => ({
  workspace_id: "acme",
  account_id: id,
  name,
  bucket,
  plan_name: bucket === "trial" ? null : "Pro",
  mrr,
  last_seen_at: "2024-05-01T12:00:00.000Z",
});

/** A stand-in for the API: two pages of accounts for the key `good-key`, 401 for any other. */
const seen: { path: string; query: string; authorization?: string }[] = [];
async function stubApi(event: APIGatewayProxyEventV2) {
  seen.push({ path: event.rawPath, query: event.rawQueryString, authorization: event.headers.authorization });
  const json = (statusCode: number, body: unknown) => ({
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (event.headers.authorization !== "Bearer good-key") {
    return json(401, { success: false, code: "auth.api_key_invalid", message: "Unknown or revoked API key" });
  }
  if (event.rawPath === "/v1/accounts/missing") {
    return json(404, { success: false, code: "account.not_found", message: "No account missing in this workspace" });
  }
  const second = new URLSearchParams(event.rawQueryString).get("cursor") === "page-2";
  return json(
    200,
    second
      ? { items: [account("initech", "Initech\u001b[31m", "churned", null)], next_cursor: null }
      : {
          items: [account("acme", "Acme Inc", "subscribed", 1200), account("globex", null, "trial", 0)],
          next_cursor: "page-2",
        },
  );
}

let server: HandlerServer;
beforeAll(async () => {
  server = await startHandlerServer([{ prefix: "/", handler: stubApi }]);
});
afterAll(async () => {
  await server?.close();
});

const context: CliContext = {
  env: {},
  workspaces: () => Promise.reject(new Error("not used")),
  apiKeys: () => Promise.reject(new Error("not used")),
};

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), context });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("CLI over the read API", () => {
  it("prints a readable table by default, with how to get the next page", async () => {
    const { code, out } = await cli("accounts", "list", "--url", server.url, "--api-key", "good-key", "--limit", "2");
    expect(code).toBe(0);
    expect(out.split("\n")).toEqual([
      "ACCOUNT  NAME      BUCKET      PLAN  MRR   LAST SEEN",
      "acme     Acme Inc  subscribed  Pro   1200  2024-05-01T12:00:00.000Z",
      "globex   -         trial       -     0     2024-05-01T12:00:00.000Z",
      "",
      "More: run again with --cursor page-2 (or --all)",
    ]);
    expect(seen.at(-1)).toEqual({ path: "/v1/accounts", query: "limit=2", authorization: "Bearer good-key" });
  });

  it("prints the API's JSON with --json, and follows cursors with --all", async () => {
    const page = await cli(
      "accounts",
      "list",
      "--bucket",
      "trial",
      "--url",
      server.url,
      "--api-key",
      "good-key",
      "--json",
    );
    expect(page.code).toBe(0);
    expect(JSON.parse(page.out)).toEqual({
      items: [account("acme", "Acme Inc", "subscribed", 1200), account("globex", null, "trial", 0)],
      next_cursor: "page-2",
    });
    expect(seen.at(-1)?.query).toBe("bucket=trial");

    const all = await cli("accounts", "list", "--all", "--url", server.url, "--api-key", "good-key", "--json");
    expect(JSON.parse(all.out).items.map((a: { account_id: string }) => a.account_id)).toEqual([
      "acme",
      "globex",
      "initech",
    ]);
    expect(JSON.parse(all.out).next_cursor).toBeNull();
  });

  it("keeps control characters of customer data out of the terminal", async () => {
    const { out } = await cli("accounts", "list", "--cursor", "page-2", "--url", server.url, "--api-key", "good-key");
    expect(out).toContain("Initech [31m");
    expect(out).not.toContain("\u001b");
  });

  it("says plainly when the stack is not running", async () => {
    const stopped = await startHandlerServer([{ prefix: "/", handler: stubApi }]);
    await stopped.close();
    const { code, err } = await cli("accounts", "list", "--url", stopped.url, "--api-key", "good-key");
    expect(code).toBe(1);
    expect(err).toBe(`Error: cannot reach the API at ${stopped.url}: is \`npm start\` running? (cli.api_unreachable)`);
  });

  it("says plainly when the API key is refused", async () => {
    const { code, err } = await cli("accounts", "get", "acme", "--url", server.url, "--api-key", "wrong-key");
    expect(code).toBe(1);
    expect(err).toMatch(/^Error: the API key was refused by http:\/\/127\.0\.0\.1:\d+ .*\(cli\.api_key_refused\)$/);
  });

  it("shows the API's own error, and its body with --json", async () => {
    const text = await cli("accounts", "get", "missing", "--url", server.url, "--api-key", "good-key");
    expect(text.code).toBe(1);
    expect(text.err).toBe("Error: No account missing in this workspace (account.not_found)");
    const json = await cli("accounts", "get", "missing", "--url", server.url, "--api-key", "good-key", "--json");
    expect(JSON.parse(json.out)).toEqual({
      success: false,
      code: "account.not_found",
      message: "No account missing in this workspace",
    });
  });

  it("asks for the missing positional argument before calling anything", async () => {
    const before = seen.length;
    const { code, err } = await cli("accounts", "get", "--url", server.url, "--api-key", "good-key");
    expect(code).toBe(2);
    expect(err).toContain("ACCOUNT_ID is required");
    expect(seen.length).toBe(before);
  });
});

describe("where the CLI finds the API and its key", () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-api-"));
  const file = join(dir, "dev-credentials.json");
  writeFileSync(file, JSON.stringify({ workspaceId: "dev", sharedSecret: "s", writeKey: "w", apiKey: "from-file" }));

  it("takes --url and --api-key first", () => {
    expect(
      apiTargetOf({ url: "http://h:1/", "api-key": "flag" }, { SEGMENT_INGEST_API_KEY: "env", PORT: "9" }, file),
    ).toEqual({
      url: "http://h:1",
      apiKey: "flag",
    });
  });

  it("then SEGMENT_INGEST_API_KEY and PORT, then the local stack's saved credentials", () => {
    expect(apiTargetOf({}, { SEGMENT_INGEST_API_KEY: "env", PORT: "4000" }, file)).toEqual({
      url: "http://127.0.0.1:4000",
      apiKey: "env",
    });
    expect(apiTargetOf({}, {}, file)).toEqual({ url: "http://127.0.0.1:3000", apiKey: "from-file" });
  });

  it("refuses to guess when there is no key anywhere", () => {
    expect(() => apiTargetOf({}, {}, join(dir, "absent.json"))).toThrowError(/no API key/);
  });

  it("reads the saved credentials under DATA_DIR, as the local stack writes them, whatever the working directory", () => {
    // `dir` holds dev-credentials.json, as the stack leaves it in DATA_DIR; the CLI runs elsewhere.
    expect(apiTargetOf({}, { DATA_DIR: dir })).toEqual({ url: "http://127.0.0.1:3000", apiKey: "from-file" });
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      expect(apiTargetOf({}, { DATA_DIR: dir })).toEqual({ url: "http://127.0.0.1:3000", apiKey: "from-file" });
      // With DATA_DIR elsewhere and no key anywhere, the message names the file it looked for.
      expect(() => apiTargetOf({}, { DATA_DIR: join(dir, "elsewhere") })).toThrowError(
        join(dir, "elsewhere", "dev-credentials.json"),
      );
    } finally {
      process.chdir(cwd);
    }
  });
});
