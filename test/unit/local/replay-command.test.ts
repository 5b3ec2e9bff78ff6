import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReplay } from "../../../packages/local/src/replay/run";

const empty = mkdtempSync(join(tmpdir(), "replay-command-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

async function replay(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runReplay(argv, {
    stdout: (t) => out.push(t),
    stderr: { isTTY: false, write: (t: string) => err.push(t) },
    env: { DATA_DIR: empty },
  });
  return { code, out: out.join("\n"), err: err.join("") };
}

describe("npm run replay's command line", () => {
  it("prints the help with every option and exit code 0", async () => {
    const { code, out } = await replay("--help");
    expect(code).toBe(0);
    expect(out).toContain("Usage: npm run replay -- FILE... [options]");
    for (const option of ["--url", "--workspace", "--secret", "--write-key", "--direct", "--batch", "--rate"]) {
      expect(out).toContain(option);
    }
    for (const option of ["--concurrency", "--retries", "--json"]) expect(out).toContain(option);
    expect(out).toContain("Exit code: 0 all accepted, 1 something was rejected or could not be sent, 2 usage error.");
  });

  it.each([
    [["test/fixtures", "--batch", "0"], "--batch must be an integer ≥ 1"],
    [["test/fixtures", "--batch", "2501"], "--batch is at most 2500 (Segment's limit)"],
    [["test/fixtures", "--rate", "fast"], "--rate must be an integer ≥ 1"],
    [["test/fixtures", "--retries", "-1"], "--retries must be an integer ≥ 0"],
    [["test/fixtures", "--concurrency", "1.5"], "--concurrency must be an integer ≥ 1"],
    [["test/fixtures", "--colour"], "unknown option '--colour'"],
    [["test/fixtures", "--url"], "argument missing"],
    [[], "No files given."],
    [["test/fixtures", "--secret", "s", "--workspace", "dev", "missing.json"], "No such file: missing.json"],
    [["test/fixtures"], "No shared secret: pass --secret"],
    [["test/fixtures", "--direct"], "No write key: pass --write-key"],
  ])("refuses %j with exit code 2 and says why", async (argv, why) => {
    const { code, err, out } = await replay(...argv);
    expect(code).toBe(2);
    expect(err).toContain(why);
    expect(out).toBe("");
  });

  describe("against a server", () => {
    let server: Server;
    let url: string;
    const seen: string[] = [];
    beforeAll(async () => {
      server = createServer((request, response) => {
        seen.push(request.url ?? "");
        request.resume();
        request.on("end", () => {
          response.writeHead(200, { "content-type": "application/json" });
          response.end('{"success":true}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("takes options before and after the files, and prints the summary as JSON", async () => {
      const { code, out } = await replay(
        "--direct",
        "test/fixtures/track.json",
        "--write-key",
        "wk",
        "--url",
        url,
        "--batch",
        "3",
        "--json",
      );
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({
        target: url,
        mode: "direct",
        batchSize: 3,
        files: 1,
        calls: 4,
        sent: { calls: 4, requests: 2 },
        accepted: 4,
      });
      expect(seen).toEqual(["/v1/batch", "/v1/batch"]);
    });
  });
});
