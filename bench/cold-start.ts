/**
 * Cold start: each function bundled as SST bundles it (esbuild, minified, ESM, AWS SDK left to the
 * Lambda runtime), its size, and the time a fresh Node process takes to import it (module
 * initialisation: what a cold start adds before the first request).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { median } from "./measure";

export interface ColdStartResult {
  function: string;
  bundleBytes: number;
  initMs: number;
}

/** What went into a function's bundle. */
export interface FunctionBundle {
  bytes: number;
  /** The bundled source files, repository-relative (`node_modules/stripe/…`, `packages/core/src/…`). */
  inputs: string[];
}

/**
 * Bundles `functions/<name>.ts` into `outfile` as SST does (esbuild, minified, ESM, the AWS SDK
 * left to the Lambda runtime).
 *
 * @example
 * const { bytes, inputs } = await bundleFunction("ingest", "/tmp/ingest.mjs");
 */
export async function bundleFunction(name: string, outfile: string): Promise<FunctionBundle> {
  const result = await build({
    entryPoints: [`functions/${name}.ts`],
    absWorkingDir: process.cwd(),
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    outfile,
    external: ["@aws-sdk/*", "@smithy/*"],
    // ESM bundles of CommonJS dependencies need `require`.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
    metafile: true,
  });
  const output = Object.values(result.metafile.outputs)[0];
  return { bytes: output?.bytes ?? 0, inputs: Object.keys(output?.inputs ?? {}) };
}

export async function benchColdStart(functions: string[], quick: boolean): Promise<ColdStartResult[]> {
  // Inside the project, so the bundles' `@aws-sdk/*` imports resolve as the runtime's would.
  const dir = mkdtempSync(join(process.cwd(), "node_modules", ".bench-"));
  const results: ColdStartResult[] = [];
  for (const name of functions) {
    const outfile = join(dir, `${name}.mjs`);
    await bundleFunction(name, outfile);
    const probe = join(dir, `${name}-probe.mjs`);
    writeFileSync(
      probe,
      `const t = performance.now(); const m = await import(${JSON.stringify(outfile)}); if (typeof m.handler !== "function") throw new Error("no handler"); console.log(performance.now() - t);`,
    );
    const samples: number[] = [];
    for (let i = 0; i < (quick ? 3 : 9); i++) {
      const out = execFileSync(process.execPath, [probe], {
        env: { ...process.env, AWS_REGION: "us-east-1" },
      });
      samples.push(Number(out.toString().trim()));
    }
    results.push({ function: name, bundleBytes: statSync(outfile).size, initMs: median(samples) });
  }
  execFileSync("rm", ["-rf", dir]);
  return results;
}
