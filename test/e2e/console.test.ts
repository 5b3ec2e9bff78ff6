import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { buildConsole } from "../../packages/local/src/console-site";
import { freePort } from "../../packages/local/src/services";
import { chromiumArgs, chromiumBinary } from "../support/chromium";
import {
  killStack,
  repositoryRoot,
  run,
  type StackProcess,
  spawnStack,
  stopStack,
  untilSettled,
  waitUntilReady,
} from "../support/stack-process";

/**
 * The Console in a real browser (Chromium through playwright-core: Debian's, or the one shipped in
 * an npm package where there is none; see test/support/chromium.ts), against the local
 * stack started as `npm start` starts it: sign in with the dev API key, see the replayed
 * fixtures' accounts, events and rejects, and check each view with axe-core. A failing test leaves
 * a screenshot in test/e2e/screenshots/; CONSOLE_SCREENSHOTS=1 keeps one of every view.
 */

const screenshots = join(repositoryRoot, "test/e2e/screenshots");
const apiKey = "e2e-console-api-key-0001";
const credentials = { DEV_SHARED_SECRET: "e2e-console-secret", DEV_WRITE_KEY: "e2e-console-write-key" };

let root: string;
let env: Record<string, string>;
let url: string;
let stack: StackProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let axeSource: string;

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return (await response.json()) as T;
}

/** A screenshot of the page if the running test fails (and of every view with CONSOLE_SCREENSHOTS=1). */
function screenshotOnFailure(name: string): void {
  onTestFailed(async () => {
    await mkdir(screenshots, { recursive: true });
    await page?.screenshot({ path: join(screenshots, `console-${name}-failed.png`), fullPage: true }).catch(() => {});
  });
}

async function keepScreenshot(name: string): Promise<void> {
  if (process.env.CONSOLE_SCREENSHOTS !== "1") return;
  await mkdir(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `console-${name}.png`), fullPage: true });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousViolations(): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")})`);
}

beforeAll(async () => {
  // The Console as it is in this checkout (a stale dist/ would test old code).
  await buildConsole();
  axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

  root = await mkdtemp(join(tmpdir(), "console-e2e-"));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = { PORT: String(port), DATA_DIR: join(root, "data"), DEV_API_KEY: apiKey, ...credentials };
  stack = spawnStack(env);
  await waitUntilReady(stack);

  const fixtures = (await readdir(join(repositoryRoot, "test/fixtures")))
    .filter((f) => /\.jsonl?$/.test(f))
    .map((f) => `test/fixtures/${f}`);
  const replayed = await run("npm", ["run", "--silent", "replay", "--", ...fixtures], env);
  expect(replayed.code, `${replayed.stdout}\n${replayed.stderr}`).toBe(0);
  // The browser checks below read what normalize wrote: wait until it has finished every message
  // the replay queued, so that no view is looked at while the model is still moving.
  await untilSettled(stack);

  const { executablePath } = await chromiumBinary();
  browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs });
  // The stack's pages forbid inline scripts; the test injects axe-core as one.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  if (stack) await stopStack(stack).catch(() => undefined);
  killStack(stack);
  if (root) await rm(root, { recursive: true, force: true });
});

describe("console", () => {
  it("refuses a wrong key with a readable message, then signs in with the dev API key", async () => {
    screenshotOnFailure("sign-in");
    await page.goto(url);
    await page.getByLabel("Workspace API key").fill("not-a-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("The API refused this key");
    expect(await seriousViolations()).toEqual([]);

    await page.getByLabel("Workspace API key").fill(apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Live feed" }).waitFor();
    // The key is kept for this tab only.
    expect(
      await page.evaluate(() => (globalThis as unknown as { localStorage: { length: number } }).localStorage.length),
    ).toBe(0);
  });

  it("shows the live feed of events", async () => {
    screenshotOnFailure("feed");
    await page.getByRole("cell", { name: /Dashboard Created/ }).waitFor();
    await page.getByLabel("User id").fill("usr_alan");
    await page.getByRole("cell", { name: /Subscription Cancelled/ }).waitFor();
    expect(await page.getByRole("cell", { name: /Dashboard Created/ }).count()).toBe(0);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await keepScreenshot("feed");
    expect(await seriousViolations()).toEqual([]);
  });

  it("lists accounts by bucket and opens an account with its events", async () => {
    screenshotOnFailure("accounts");
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Accounts" }).click();
    await page.getByRole("heading", { name: "Accounts", level: 1 }).waitFor();
    await page.getByRole("button", { name: /Trial/ }).click();
    await page.getByRole("link", { name: "Northwind Analytics" }).waitFor();
    expect(await page.getByRole("link", { name: "Globex Corporation" }).count()).toBe(0);
    await page.getByRole("img", { name: /Events per day/ }).waitFor();
    await keepScreenshot("accounts");
    expect(await seriousViolations()).toEqual([]);

    await page.getByRole("link", { name: "Northwind Analytics" }).click();
    await page.getByRole("heading", { name: "Northwind Analytics", level: 1 }).waitFor();
    await page.getByRole("cell", { name: /Dashboard Created/ }).waitFor();
    await page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
    await keepScreenshot("account");
    expect(await seriousViolations()).toEqual([]);
  });

  it("shows on the account page which source and call set each field", async () => {
    screenshotOnFailure("account-provenance");
    type Provenance = Record<string, { source: string; message_id: string; derived_from: string | null }>;
    const { provenance } = await api<{ provenance: Provenance }>("/v1/accounts/acc_northwind?provenance=true");
    expect(provenance.name).toMatchObject({ source: "product", derived_from: null });
    const name = page
      .getByLabel("Account profile")
      .locator("div", { has: page.locator("dt code", { hasText: /^name$/ }) });
    await expect.poll(() => name.textContent()).toContain(`from product · ${provenance.name?.message_id} ·`);
    // A custom trait shows its source too.
    const trait = page.getByRole("row", { name: /employees/ });
    await expect.poll(() => trait.textContent()).toContain(`from ${provenance["traits.employees"]?.source} ·`);
  });

  it("opens a user", async () => {
    screenshotOnFailure("user");
    await page.getByRole("link", { name: "Ada Lovelace" }).click();
    await page.getByRole("heading", { name: "Ada Lovelace", level: 1 }).waitFor();
    await page.getByRole("link", { name: "Northwind Analytics" }).waitFor();
    await keepScreenshot("user");
    expect(await seriousViolations()).toEqual([]);
  });

  it("groups rejects by reason code, with the nested object's field and value", async () => {
    screenshotOnFailure("rejects");
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Rejects" }).click();
    const nested = page.getByRole("region", { name: /trait\.nested_object/ });
    await nested.waitFor();
    await nested.getByRole("cell", { name: "traits.address" }).waitFor();
    expect(await nested.getByRole("cell", { name: /Springfield/ }).count()).toBe(1);
    await keepScreenshot("rejects");
    expect(await seriousViolations()).toEqual([]);
  });

  it("shows pending calls, and entity maps with a dry-run report", async () => {
    screenshotOnFailure("entity-maps");
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Pending calls" }).click();
    await page.getByRole("heading", { name: "No pending calls" }).waitFor();
    await keepScreenshot("pending");
    expect(await seriousViolations()).toEqual([]);

    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Entity maps" }).click();
    await page
      .getByLabel("CSV (header and one entry a line)")
      .fill("source,kind,external_id,canonical_id\nsalesforce,account,001A,acc_northwind\n");
    await page.getByRole("button", { name: "Check (dry run)" }).click();
    await page.getByRole("heading", { name: "Dry run: nothing written yet" }).waitFor();
    await page.getByRole("cell", { name: "001A" }).waitFor();
    await keepScreenshot("entity-maps");
    expect(await seriousViolations()).toEqual([]);
    // A dry run writes nothing.
    expect((await api<{ items: unknown[] }>("/v1/entity-maps")).items).toEqual([]);
  });

  it("says so when the API stops answering", async () => {
    screenshotOnFailure("api-down");
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Live feed" }).click();
    await page.getByRole("cell", { name: /Dashboard Created/ }).waitFor();
    if (stack) await stopStack(stack);
    await page.getByText("The API does not answer").waitFor({ timeout: 20_000 });
    await keepScreenshot("api-down");
  });
});
