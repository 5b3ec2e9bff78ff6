import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleFunction, type FunctionBundle } from "../../bench/cold-start";

/**
 * What each HTTP function's bundle carries, bundled as SST bundles it (bench/cold-start.ts): the
 * Stripe SDK only in the function that serves Stripe's webhooks, and the Segment/tracking ingest
 * function within its cold-start budget (docs/performance.md).
 */
const dir = mkdtempSync(join(tmpdir(), "bundles-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundles = new Map<string, Promise<FunctionBundle>>();
const bundle = (name: string) => {
  let built = bundles.get(name);
  if (!built) {
    built = bundleFunction(name, join(dir, `${name}.mjs`));
    bundles.set(name, built);
  }
  return built;
};
const stripeSdk = (b: FunctionBundle) => b.inputs.filter((input) => input.startsWith("node_modules/stripe/"));

describe("function bundles", () => {
  it("keeps the Stripe SDK out of the Segment webhook and tracking API ingest function, under 300 KB", async () => {
    const ingest = await bundle("ingest");
    expect(stripeSdk(ingest).slice(0, 3)).toEqual([]);
    // The Stripe source's receive (verification, re-fetch) neither: only its route declaration.
    expect(ingest.inputs.filter((input) => input.includes("sources/stripe/"))).toEqual([
      "packages/core/src/sources/stripe/routes.ts",
    ]);
    expect(ingest.bytes).toBeLessThan(300 * 1024);
  });

  it("serves Stripe's webhooks from their own function, which carries the SDK", async () => {
    expect(existsSync("functions/stripe-ingest.ts")).toBe(true);
    const stripe = await bundle("stripe-ingest");
    expect(stripeSdk(stripe).length).toBeGreaterThan(0);
    expect(stripe.inputs).toContain("packages/core/src/sources/stripe/refetch.ts");
  });

  it("keeps the Stripe SDK out of the read and admin API", async () => {
    expect(stripeSdk(await bundle("api")).slice(0, 3)).toEqual([]);
  });
});
