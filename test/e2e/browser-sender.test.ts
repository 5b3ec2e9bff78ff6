import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../packages/local/src/services";
import { chromiumArgs, chromiumBinary } from "../support/chromium";
import { eventually } from "../support/eventually";
import { type ReadApi, readApi } from "../support/read-api";
import {
  killStack,
  repositoryRoot,
  type StackProcess,
  spawnStack,
  stopStack,
  waitUntilReady,
} from "../support/stack-process";

/**
 * analytics.js as customers' websites run it: `@segment/analytics-next` (bundled from the pinned
 * package) in Debian's Chromium, on a page served from another origin than the API, with `apiHost`
 * pointed at the local stack. The browser itself sends the CORS preflights (analytics-next always
 * sends `Authorization: Basic`); no request routing, which would answer preflights itself and hide
 * a CORS failure. Both delivery strategies, each checked through the read API.
 */

const credentials = {
  DEV_SHARED_SECRET: "e2e-browser-secret",
  DEV_WRITE_KEY: "e2e-browser-write-key",
  DEV_API_KEY: "e2e-browser-api-key-0001",
};

let root: string;
let port: number;
let stack: StackProcess | undefined;
let site: Server | undefined;
let siteUrl: string;
let browser: Browser | undefined;
let read: ReadApi;
/** Requests the page's origin saw the browser make to the API, with their answers. */
const apiExchanges: { method: string; url: string; status: number }[] = [];

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer site</title></head>
<body><h1>Pricing</h1><script src="/analytics.js"></script></body></html>`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "browser-sender-e2e-"));
  port = await freePort();
  stack = spawnStack({ PORT: String(port), DATA_DIR: join(root, "data"), LOG_LEVEL: "WARN", ...credentials });

  const bundle = await build({
    stdin: {
      contents:
        'import { AnalyticsBrowser } from "@segment/analytics-next"; globalThis.AnalyticsBrowser = AnalyticsBrowser;',
      resolveDir: repositoryRoot,
    },
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.text ?? "";
  site = createServer((request, response) => {
    if (request.url === "/analytics.js") {
      response.writeHead(200, { "content-type": "text/javascript" });
      response.end(script);
    } else {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(page);
    }
  });
  await new Promise<void>((resolve) => site?.listen(0, "127.0.0.1", resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

  await waitUntilReady(stack);
  read = readApi(`http://127.0.0.1:${port}`, credentials.DEV_API_KEY);
  const { executablePath } = await chromiumBinary();
  browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs });
});

afterEach((context) => {
  if (context.task.result?.state === "fail") {
    process.stderr.write(`--- browser requests to the API ---\n${JSON.stringify(apiExchanges, null, 1)}\n`);
    if (stack) process.stderr.write(`--- local stack output ---\n${stack.output().slice(-3000)}\n`);
  }
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
  if (stack) await stopStack(stack).catch(() => undefined);
  killStack(stack);
  await rm(root, { recursive: true, force: true });
});

interface StoredEvent {
  event_name: string;
  type: string;
  account_id: string | null;
  properties: Record<string, unknown>;
}

/**
 * Opens the customer page, loads analytics-next with settings that point Segment.io at the local
 * stack (given inline, so no CDN is asked), and sends identify, group, track and page.
 */
async function runAnalytics(prefix: string, deliveryStrategy: Record<string, unknown> | undefined): Promise<void> {
  if (!browser) throw new Error("no browser");
  const context = await browser.newContext();
  const tab = await context.newPage();
  tab.on("response", (response) => {
    const request = response.request();
    if (request.url().startsWith(`http://127.0.0.1:${port}/`)) {
      apiExchanges.push({ method: request.method(), url: request.url(), status: response.status() });
    }
  });
  const failures: string[] = [];
  tab.on("requestfailed", (request) => {
    if (request.url().startsWith(`http://127.0.0.1:${port}/`))
      failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  await tab.goto(siteUrl);
  expect(new URL(tab.url()).origin).not.toBe(`http://127.0.0.1:${port}`);
  await tab.evaluate(
    async ({ writeKey, apiHost, prefix, deliveryStrategy }) => {
      type Call = (...args: unknown[]) => Promise<unknown>;
      const { AnalyticsBrowser } = globalThis as unknown as {
        AnalyticsBrowser: { load(settings: unknown): { identify: Call; group: Call; track: Call; page: Call } };
      };
      const analytics = AnalyticsBrowser.load({
        writeKey,
        cdnSettings: {
          integrations: {
            "Segment.io": {
              apiKey: writeKey,
              apiHost,
              protocol: "http",
              ...(deliveryStrategy ? { deliveryStrategy } : {}),
            },
          },
        },
      });
      await analytics.identify(`${prefix}-user`, {
        email: `${prefix}@example.com`,
        first_name: "Jo",
        last_name: "Doe",
      });
      await analytics.group(`${prefix}-acct`, { name: `${prefix} Inc`, plan: "Starter" });
      await analytics.track("Report Exported", { format: "csv", account_id: `${prefix}-acct` });
      await analytics.page("Docs", "Pricing", { account_id: `${prefix}-acct` });
    },
    { writeKey: credentials.DEV_WRITE_KEY, apiHost: `127.0.0.1:${port}/v1`, prefix, deliveryStrategy },
  );
  // analytics-next resolves a call once it is delivered (standard) or buffered (batching); a
  // batching buffer is flushed on its timeout, so wait for the model rather than the page.
  await eventually(
    () => read.get<Record<string, unknown>>(`/v1/users/${prefix}-user`),
    (user) => {
      expect(user.status, JSON.stringify(user.body)).toBe(200);
      expect(user.body).toMatchObject({
        email: `${prefix}@example.com`,
        first_name: "Jo",
        last_name: "Doe",
        account_ids: [`${prefix}-acct`],
      });
    },
    { what: `the user ${prefix}-user with their traits and account` },
  );
  expect(failures).toEqual([]);
  await eventually(
    () => read.get<Record<string, unknown>>(`/v1/accounts/${prefix}-acct`),
    (account) => expect(account.body).toMatchObject({ name: `${prefix} Inc`, plan_name: "Starter" }),
    { what: `the account ${prefix}-acct` },
  );
  await eventually(
    () => read.all<StoredEvent>(`/v1/users/${prefix}-user/events`),
    (events) =>
      expect(events.map((e) => [e.type, e.event_name, e.account_id]).sort()).toEqual([
        ["page", "Pricing", `${prefix}-acct`],
        ["track", "Report Exported", `${prefix}-acct`],
      ]),
    { what: `the page and track of ${prefix}-user` },
  );
  await context.close();
}

describe("@segment/analytics-next in Chromium on another origin", () => {
  it("standard delivery: identify, group, track, page arrive (after CORS preflights) and are modelled", async () => {
    // Authorization: Basic is not a CORS-safelisted header: every call needs a preflight first.
    await runAnalytics("ajs-standard", undefined);
    expect(apiExchanges.some((e) => e.method === "POST" && e.url.endsWith("/v1/t") && e.status === 200)).toBe(true);
  });

  it("batching delivery: the batch arrives at /v1/b and is modelled", async () => {
    await runAnalytics("ajs-batching", { strategy: "batching", config: { size: 4, timeout: 500 } });
    expect(apiExchanges.some((e) => e.method === "POST" && e.url.endsWith("/v1/b") && e.status === 200)).toBe(true);
  });
});
