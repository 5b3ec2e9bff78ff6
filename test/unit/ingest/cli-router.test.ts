import { describe, expect, it } from "vitest";
import type { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import type { CliContext } from "../../../packages/cli/src/command";
import { commands, runCli } from "../../../packages/cli/src/main";

function run(argv: string[], store: Partial<WorkspaceStore> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let connected = false;
  const context: CliContext = {
    env: {},
    async workspaces() {
      connected = true;
      return store as WorkspaceStore;
    },
    async apiKeys() {
      connected = true;
      throw new Error("no API keys in this test");
    },
  };
  return runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), context }).then((code) => ({
    code,
    out: out.join("\n"),
    err: err.join("\n"),
    connected,
  }));
}

describe("CLI router", () => {
  it("lists every command in the help", async () => {
    const { code, out } = await run(["--help"]);
    expect(code).toBe(0);
    for (const command of commands) expect(out).toContain(command.path.join(" "));
  });

  it("answers an unknown command with exit code 2 and the help", async () => {
    const { code, err } = await run(["workspaces", "explode"]);
    expect(code).toBe(2);
    expect(err).toContain("Unknown command: workspaces explode");
    expect(err).toContain("workspaces create");
  });

  it("answers a missing required option with exit code 2 before connecting anywhere", async () => {
    const { code, err, connected } = await run(["workspaces", "create"]);
    expect(code).toBe(2);
    expect(err).toContain("--id is required");
    expect(connected).toBe(false);
  });

  it("answers an unknown option with exit code 2", async () => {
    const { code, err } = await run(["workspaces", "list", "--colour"]);
    expect(code).toBe(2);
    expect(err).toContain("--colour");
  });

  it("prints readable text by default and data with --json", async () => {
    const store = {
      listWorkspaces: async () => [
        { id: "acme", name: "Acme Inc", createdAt: "2024-05-01T12:00:00.000Z" },
        { id: "globex", name: "Globex", createdAt: "2024-05-02T12:00:00.000Z" },
      ],
    };
    const text = await run(["workspaces", "list"], store);
    expect(text.out.split("\n")).toEqual([
      "ID      NAME      CREATED",
      "acme    Acme Inc  2024-05-01T12:00:00.000Z",
      "globex  Globex    2024-05-02T12:00:00.000Z",
    ]);
    const json = await run(["workspaces", "list", "--json"], store);
    expect(JSON.parse(json.out)).toEqual(await store.listWorkspaces());
  });

  it("reports a failed command with its code and exit code 1 (JSON body with --json)", async () => {
    const { ValidationError } = await import("../../../packages/core/src/errors");
    const store = {
      retireSecret: async () => {
        throw new ValidationError("secret.nothing_to_retire", "Source product has one active secret");
      },
    };
    const text = await run(["workspaces", "retire-secret", "--id", "acme"], store);
    expect(text.code).toBe(1);
    expect(text.err).toBe("Error: Source product has one active secret (secret.nothing_to_retire)");
    const json = await run(["workspaces", "retire-secret", "--id", "acme", "--json"], store);
    expect(JSON.parse(json.out)).toEqual({
      success: false,
      code: "secret.nothing_to_retire",
      message: "Source product has one active secret",
    });
  });
});
