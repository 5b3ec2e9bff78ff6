import { describe, expect, it } from "vitest";
import type { CliContext } from "../../../packages/cli/src/command";
import { runCli } from "../../../packages/cli/src/main";

const context: CliContext = {
  env: {},
  workspaces: async () => {
    throw new Error("no store in this test");
  },
  apiKeys: async () => {
    throw new Error("no store in this test");
  },
};

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), context });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("CLI usage (commander)", () => {
  it("shows one command's usage, summary and options with --help", async () => {
    const { code, out } = await run("accounts", "get", "--help");
    expect(code).toBe(0);
    expect(out).toContain("Usage: npm run cli -- accounts get ACCOUNT_ID [--url URL] [--api-key KEY]");
    expect(out).toContain("Show one account");
    expect(out).toMatch(/--api-key <value>/);
    expect(out).toMatch(/--json/);
  });

  it("lists a group's commands with --help, and answers the group's word alone as an unknown command", async () => {
    const group = await run("entity-maps", "--help");
    expect(group.code).toBe(0);
    for (const word of ["list", "upload", "delete"]) expect(group.out).toContain(word);
    const alone = await run("entity-maps");
    expect(alone.code).toBe(2);
    expect(alone.err).toContain("Unknown command: entity-maps");
  });

  it("refuses an option without its value, extra arguments and bad values with exit code 2 and the usage", async () => {
    const missing = await run("workspaces", "create", "--id");
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/'--id <value>' argument missing\nUsage: npm run cli -- workspaces create --id ID/);
    const extra = await run("accounts", "get", "a", "b");
    expect(extra.code).toBe(2);
    expect(extra.err).toContain("too many arguments");
    const bad = await run("accounts", "list", "--limit", "0", "--api-key", "k");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--limit takes a positive whole number");
  });

  it("suggests the command a mistyped word was close to", async () => {
    const { code, err } = await run("workspaces", "creat");
    expect(code).toBe(2);
    expect(err).toContain("Unknown command: workspaces creat (Did you mean create?)");
  });

  it("answers a usage error as JSON on stdout with --json", async () => {
    const { code, out } = await run("workspaces", "list", "--colour", "--json");
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({
      success: false,
      code: "cli.usage",
      message: expect.stringContaining("--colour"),
    });
  });
});
