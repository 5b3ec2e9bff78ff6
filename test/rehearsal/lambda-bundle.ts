import { createCipheriv } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import type { InfraFunction } from "../support/infra-model";

/**
 * Builds a function's deployment package the way SST's CLI does for the Node.js runtime (its
 * `Runtime.Build`, pkg/runtime/node/build.go in SST's sources), from the build input SST's
 * Function component sends it (recorded by infra-eval.ts: the `nodejs` properties, links and
 * encryption key): one esbuild bundle, ESM, `keepNames`, SST's `require`/`__dirname` banner,
 * `main`/`module` fields, externals (`sharp`, `pg-native` and the configured ones), minified and
 * without source maps when infra asks for that, target `esnext`, written to
 * `<out>/<handler dir>/<file>.mjs`. Beside it SST writes `resource.enc`: the function's linked
 * resources as JSON, AES-256-GCM with a zero nonce under the key it passes in `SST_KEY`.
 */

export const repositoryRoot = resolve(import.meta.dirname, "../..");

/** What the Lambda Node.js runtime provides besides Node's own modules: AWS SDK v3 and its Smithy core. */
export const runtimeProvidedPackages = ["@aws-sdk/", "@smithy/"];

/** SST always leaves these out of the bundle (and installs them into the package when imported). */
const sstForcedExternals = ["sharp", "pg-native"];

/** Handler file extensions SST looks for, in its order. */
const handlerExtensions = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

export interface FunctionPackage {
  /** The package root: Lambda's `/var/task`. */
  dir: string;
  /** `_HANDLER`: `<file without extension>.<export>`, relative to `dir`. */
  handler: string;
  /** The bundle file. */
  file: string;
  bytes: number;
  /** Every import left outside the bundle. */
  externalImports: string[];
  /** The source files bundled (repository-relative). */
  inputs: string[];
}

function handlerSource(handler: string): string {
  const base = handler.slice(0, handler.lastIndexOf("."));
  for (const extension of handlerExtensions) {
    const file = join(repositoryRoot, base + extension);
    if (existsSync(file)) return file;
  }
  throw new Error(`Handler not found: ${handler}`);
}

/** Reproduces SST's encrypted link file: ciphertext followed by the 16-byte GCM tag. */
export function encryptResourceFile(links: Record<string, unknown>, key: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, Buffer.alloc(12, 0));
  const encrypted = Buffer.concat([cipher.update(JSON.stringify(links)), cipher.final()]);
  return Buffer.concat([encrypted, cipher.getAuthTag()]);
}

/**
 * Bundles one function into `outDir` and writes its `resource.enc`.
 *
 * @example
 * const pkg = await packageFunction(infra.functions.ingest, "/tmp/rehearsal/ingest");
 */
export async function packageFunction(fn: InfraFunction, outDir: string): Promise<FunctionPackage> {
  const nodejs = fn.nodejs;
  const esm = nodejs.format !== "cjs";
  const source = handlerSource(fn.handler);
  const relative = source.slice(repositoryRoot.length + 1);
  const fileName = relative
    .slice(relative.lastIndexOf("/") + 1)
    .replace(/\.[^.]+$/, "")
    .replaceAll(".", "-");
  const folder = dirname(relative);
  const exportName = fn.handler.slice(fn.handler.lastIndexOf(".") + 1);
  const file = join(outDir, folder, `${fileName}${esm ? ".mjs" : ".cjs"}`);
  await mkdir(dirname(file), { recursive: true });
  const minify = nodejs.minify === true;
  const result = await build({
    entryPoints: [source],
    platform: "node",
    external: [...sstForcedExternals, ...(nodejs.esbuild?.external ?? [])],
    keepNames: true,
    bundle: true,
    metafile: true,
    outfile: file,
    write: true,
    format: esm ? "esm" : "cjs",
    // SST passes `esnext` (its Go side decodes `nodejs.esbuild` into esbuild's Go options, where a
    // target is an enum, so a string target from infra/ does not reach esbuild).
    target: "esnext",
    mainFields: esm ? ["module", "main"] : ["main"],
    // The same effect as SST's banner: CommonJS globals for bundled code that expects them.
    banner: esm
      ? {
          js: [
            `import { createRequire as sstCreateRequire } from "module";`,
            "const require = sstCreateRequire(import.meta.url);",
            `import { fileURLToPath as sstFileUrlToPath, URL as SstUrl } from "url";`,
            "const __filename = sstFileUrlToPath(import.meta.url);",
            `const __dirname = sstFileUrlToPath(new SstUrl(".", import.meta.url));`,
          ].join("\n"),
        }
      : undefined,
    minifyWhitespace: minify,
    minifySyntax: minify,
    minifyIdentifiers: minify,
    // SST links a source map only when `nodejs.sourceMap` is set (none of ours is).
    sourcemap: nodejs.sourceMap ? "linked" : false,
    logLevel: "silent",
  });
  await writeFile(join(outDir, "resource.enc"), encryptResourceFile(fn.links, Buffer.from(fn.encryptionKey, "base64")));
  return {
    dir: outDir,
    handler: `${join(folder, fileName)}.${exportName}`,
    file,
    bytes: outputBytes(result.metafile),
    externalImports: externalImportsOf(result.metafile),
    inputs: Object.keys(result.metafile.inputs).sort(),
  };
}

function outputBytes(metafile: Metafile): number {
  return Object.values(metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
}

function externalImportsOf(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) if (imported.external) found.add(imported.path);
  }
  return [...found].sort();
}

/** An external import the Lambda runtime cannot satisfy (neither Node's nor the runtime's SDK). */
export function missingAtRuntime(specifier: string): boolean {
  const bare = specifier.replace(/^node:/, "");
  if (builtinModules.includes(bare) || builtinModules.includes(bare.split("/")[0] ?? "")) return false;
  return !runtimeProvidedPackages.some((prefix) => specifier.startsWith(prefix));
}
