import { randomUUID } from "node:crypto";
import { readFile, rename, rm, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { HandlerRoute, HttpApiLambda } from "./http-adapter";
import { apiPaths, ingestPaths, stripeIngestPaths } from "./routes";

/**
 * The Console (packages/console) on the local stack: its built files at `/`, with every other
 * path that is not an API or ingest route answered by index.html (the Console routes in the
 * browser). It is served as the catch-all `/` route of the local server, so the adapter's longest
 * prefix match gives every API and ingest path to its handler first; this handler refuses those
 * paths too, so a static file can never stand in for an API answer.
 */

/** packages/console, from this file (packages/local/src/console-site.ts). */
export const consoleRoot = fileURLToPath(new URL("../../console/", import.meta.url));
/** Where `npm run console:build` writes the site. */
export const consoleDist = join(consoleRoot, "dist");

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** The content type of a file name; unknown extensions are opaque bytes. */
export function contentTypeOf(path: string): string {
  return contentTypes[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/** The page may load images from anywhere (account avatars) and call the API wherever it is. */
const pageSecurityHeaders = {
  "content-security-policy":
    "default-src 'self'; img-src * data:; connect-src *; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  "referrer-policy": "no-referrer",
};

/** True for paths an API or ingest route owns (also `/v1` and anything under it). */
export function isApiPath(path: string): boolean {
  const owned = [...apiPaths, ...ingestPaths, ...stripeIngestPaths, "/v1"];
  return owned.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * Builds the Console with Vite's JS API into `outDir`. It builds into a sibling folder first and
 * renames it into place, so a half-written site is never served and two stacks building at once
 * do not mix their files.
 *
 * @example
 * await buildConsole(); // packages/console/dist
 */
export async function buildConsole(outDir: string = consoleDist): Promise<void> {
  const { build } = await import("vite");
  const staging = `${outDir}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await build({
      root: consoleRoot,
      configFile: join(consoleRoot, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir: staging, emptyOutDir: true },
    });
    await rm(outDir, { recursive: true, force: true });
    await rename(staging, outDir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process put its build in place first: theirs is as good as ours.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export interface ConsoleSiteOptions {
  /** The built site. Default packages/console/dist. */
  distDir?: string;
  /** Makes `distDir` when it has no index.html. Default: `buildConsole` (Vite). */
  build?: (outDir: string) => Promise<void>;
  /** One line per build. */
  log?: (line: string) => void;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(body) };
}

function text(statusCode: number, body: string, contentType = "text/plain; charset=utf-8") {
  return { statusCode, headers: { "content-type": contentType, "cache-control": "no-store" }, body };
}

/**
 * The handler that serves the built Console: GET and HEAD only; a file of the site when the path
 * names one, else index.html (SPA fallback); 404 for a missing file with an extension (a broken
 * asset link should fail, not return a page). API and ingest paths answer 404 `route.not_found`,
 * as the server does for any unknown route. The first request that finds no build builds it
 * (once; concurrent requests wait for the same build).
 *
 * @example
 * startHandlerServer([...localRoutes(localHttpHandlers(config)), { prefix: "/", handler: consoleSite() }]);
 */
export function consoleSite(options: ConsoleSiteOptions = {}): HttpApiLambda {
  const dist = resolve(options.distDir ?? consoleDist);
  const buildSite = options.build ?? buildConsole;
  const log = options.log ?? (() => {});
  let building: Promise<void> | undefined;

  const ensureBuilt = async () => {
    if (await isFile(join(dist, "index.html"))) return;
    building ??= (async () => {
      log(`console: no build in ${dist}; building it once with Vite (npm run console:build rebuilds it)…`);
      const started = Date.now();
      await buildSite(dist);
      log(`console: built in ${Date.now() - started} ms`);
    })().finally(() => {
      building = undefined;
    });
    await building;
  };

  return async (event: APIGatewayProxyEventV2) => {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath || "/";
    if ((method !== "GET" && method !== "HEAD") || isApiPath(path)) {
      return json(404, { success: false, code: "route.not_found", message: `No endpoint at ${path}` });
    }
    let relative: string;
    try {
      relative = decodeURIComponent(path);
    } catch {
      return text(400, "Bad path");
    }
    const file = resolve(dist, `.${relative}`);
    if (relative.includes("\0") || (file !== dist && !file.startsWith(`${dist}${sep}`))) return text(404, "Not found");

    try {
      await ensureBuilt();
    } catch (error) {
      log(`console: build failed: ${error instanceof Error ? error.message : String(error)}`);
      return text(
        503,
        "<!doctype html><title>Console not built</title><p>The Console is not built and building it failed. Run <code>npm run console:build</code> and look at its output, then reload.</p>",
        "text/html; charset=utf-8",
      );
    }

    if (file !== dist && (await isFile(file))) {
      const immutable = relative.startsWith("/assets/");
      return {
        statusCode: 200,
        headers: {
          "content-type": contentTypeOf(file),
          "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
          "x-content-type-options": "nosniff",
          ...(file.endsWith(".html") ? pageSecurityHeaders : {}),
        },
        body: (await readFile(file)).toString("base64"),
        isBase64Encoded: true,
      };
    }
    if (extname(relative) !== "") return text(404, "Not found");
    return {
      statusCode: 200,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        ...pageSecurityHeaders,
      },
      body: await readFile(join(dist, "index.html"), "utf8"),
    };
  };
}

/**
 * The Console as the local server's catch-all route (`/`): API and ingest routes have longer
 * prefixes, so they always win.
 *
 * @example
 * startHandlerServer([...localRoutes(localHttpHandlers(config)), consoleSiteRoute({ log })]);
 */
export function consoleSiteRoute(options: ConsoleSiteOptions = {}): HandlerRoute {
  return { prefix: "/", handler: consoleSite(options) };
}
