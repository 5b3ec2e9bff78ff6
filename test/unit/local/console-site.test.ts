import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleSiteRoute, contentTypeOf } from "../../../packages/local/src/console-site";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { localRoutes } from "../../../packages/local/src/routes";

/** The Console's static site behind the local server's routes, with stand-in API and ingest handlers. */

let root: string;
let server: HandlerServer;
let builds = 0;

async function writeSite(dir: string) {
  await mkdir(join(dir, "assets"), { recursive: true });
  await writeFile(join(dir, "index.html"), "<!doctype html><title>Console</title>");
  await writeFile(join(dir, "assets/index-abc.js"), "console.log(1)");
  await writeFile(join(dir, "assets/index-abc.css"), "body{}");
  // Files named like API routes: they must never answer in the API's place.
  await writeFile(join(dir, "health"), "static health");
  await writeFile(join(dir, "openapi.json"), "{}");
  await mkdir(join(dir, "v1/accounts"), { recursive: true });
  await writeFile(join(dir, "v1/accounts/index.html"), "static accounts");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "console-site-"));
  await writeFile(join(root, "secret.txt"), "outside the site");
  const answer = (name: string) => async (event: APIGatewayProxyEventV2) => ({
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ handler: name, path: event.rawPath }),
  });
  server = await startHandlerServer([
    ...localRoutes({ ingest: answer("ingest"), "stripe-ingest": answer("stripe-ingest"), api: answer("api") }),
    consoleSiteRoute({
      distDir: join(root, "dist"),
      build: async (outDir) => {
        builds++;
        await new Promise((r) => setTimeout(r, 50));
        await writeSite(outDir);
      },
    }),
  ]);
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("console site on the local server", () => {
  it("builds the site once, on the first requests, when it is missing", async () => {
    const answers = await Promise.all([fetch(`${server.url}/`), fetch(`${server.url}/accounts`)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(builds).toBe(1);
    await fetch(`${server.url}/`);
    expect(builds).toBe(1);
  });

  it("serves files with their content types, and hashed assets as immutable", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(await page.text()).toContain("<title>Console</title>");
    const script = await fetch(`${server.url}/assets/index-abc.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("cache-control")).toContain("immutable");
    expect(await script.text()).toBe("console.log(1)");
    expect((await fetch(`${server.url}/assets/index-abc.css`)).headers.get("content-type")).toBe(
      "text/css; charset=utf-8",
    );
    expect(contentTypeOf("a.svg")).toBe("image/svg+xml");
  });

  it("answers the Console's own paths with index.html (SPA fallback)", async () => {
    for (const path of ["/accounts", "/accounts/acc_northwind", "/users/usr%2Fada", "/rejects", "/healthz"]) {
      const answer = await fetch(`${server.url}${path}`);
      expect([path, answer.status, await answer.text()]).toEqual([path, 200, "<!doctype html><title>Console</title>"]);
    }
  });

  it("never answers an API or ingest path with a static file", async () => {
    for (const path of ["/health", "/openapi.json", "/v1/accounts", "/v1/accounts/"]) {
      const answer = await fetch(`${server.url}${path}`);
      expect([path, ((await answer.json()) as { handler: string }).handler]).toEqual([path, "api"]);
    }
    const track = await fetch(`${server.url}/v1/track`, { method: "POST", body: "{}" });
    expect(((await track.json()) as { handler: string }).handler).toBe("ingest");
  });

  it("answers 404 for unknown API paths, other methods, missing assets and paths outside the site", async () => {
    for (const [method, path] of [
      ["GET", "/v1/unknown"],
      ["GET", "/v1"],
      ["POST", "/"],
      ["PUT", "/accounts"],
    ] as const) {
      const answer = await fetch(`${server.url}${path}`, { method, ...(method === "GET" ? {} : { body: "{}" }) });
      expect([method, path, answer.status, ((await answer.json()) as { code: string }).code]).toEqual([
        method,
        path,
        404,
        "route.not_found",
      ]);
    }
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    const outside = await fetch(`${server.url}/..%2fsecret.txt`);
    expect(outside.status).toBe(404);
    expect(await outside.text()).not.toContain("outside the site");
  });
});
