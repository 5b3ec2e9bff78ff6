import { createHmac } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsole } from "../../packages/local/src/console-site";
import { freePort } from "../../packages/local/src/services";
import { chromiumArgs, chromiumBinary } from "../support/chromium";
import { killStack, type StackProcess, spawnStack, stopStack, waitUntilReady } from "../support/stack-process";

/**
 * The Console's Sources page in a real browser against a fresh local stack (`npm start`), before
 * anything was delivered: the webhook URL with its copy button, the "waiting for the first event"
 * state, then a refused and an accepted delivery, each shown within a second of its answer.
 */

const apiKey = "e2e-sources-api-key-0001";
const secret = "e2e-sources-secret";

let root: string;
let url: string;
let stack: StackProcess | undefined;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  await buildConsole();
  root = await mkdtemp(join(tmpdir(), "console-sources-e2e-"));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  stack = spawnStack({
    PORT: String(port),
    DATA_DIR: join(root, "data"),
    DEV_API_KEY: apiKey,
    DEV_SHARED_SECRET: secret,
  });
  await waitUntilReady(stack);
  const { executablePath } = await chromiumBinary();
  browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  if (stack) await stopStack(stack).catch(() => undefined);
  killStack(stack);
  if (root) await rm(root, { recursive: true, force: true });
});

const deliver = (body: string, signature: string) =>
  fetch(`${url}/v1/webhooks/segment/dev`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "x-signature": signature },
  });

/** Milliseconds from now until the field `label` of the product source shows `value`. */
async function msUntilShown(label: string, value: string): Promise<number> {
  const started = Date.now();
  const field = page.getByRole("region", { name: "Source product" }).locator("dl > div", { hasText: label });
  await expect.poll(() => field.locator("dd").textContent(), { interval: 20, timeout: 5000 }).toBe(value);
  return Date.now() - started;
}

describe("console: Sources", () => {
  it("shows the webhook URL, copies it, and waits for the first event", async () => {
    await page.goto(url);
    await page.getByLabel("Workspace API key").fill(apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Sources" }).click();
    const source = page.getByRole("region", { name: "Source product" });
    await source.getByText("Waiting for the first event").waitFor();
    const webhookUrl = `${url}/v1/webhooks/segment/dev`;
    expect(await source.locator(".webhook-url code").textContent()).toBe(webhookUrl);
    await source.getByRole("button", { name: "Copy URL" }).click();
    await source.getByText("Copied.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(webhookUrl);

    const axe = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    await page.addScriptTag({ content: axe });
    const violations = await page.evaluate(async () => {
      const run = (
        globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string }[] }> } }
      ).axe;
      return (await run.run()).violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    });
    expect(violations.map((v) => v.id)).toEqual([]);
  });

  it("shows a bad signature as a counted failure and a delivery, each within a second", async () => {
    const body = JSON.stringify({ type: "track", event: "Seat Added", userId: "u1", messageId: "sources-1" });
    expect((await deliver(body, "0".repeat(40))).status).toBe(401);
    const failureMs = await msUntilShown("Signature failures today", "1");
    expect(
      await page
        .getByRole("region", { name: "Source product" })
        .getByText("segment.signature_invalid: 1 request")
        .count(),
    ).toBe(1);

    expect((await deliver(body, createHmac("sha1", secret).update(body).digest("hex"))).status).toBe(200);
    const deliveryMs = await msUntilShown("Calls accepted today", "1");
    console.log(`Sources page: signature failure shown after ${failureMs} ms, delivery after ${deliveryMs} ms`);
    expect(failureMs).toBeLessThan(1000);
    expect(deliveryMs).toBeLessThan(1000);
  });
});
