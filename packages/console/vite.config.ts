import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The Console: a static single-page app over the public read API. `npm run console:build` writes
 * `dist/`, which the local stack serves at `/` and `infra/console.ts` deploys. `npm run console:dev`
 * serves it with hot reload and forwards the API paths to the local stack (`PORT`, default 3000).
 */
const stack = `http://127.0.0.1:${process.env.PORT || 3000}`;

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  // Preact's JSX runtime through Vite's own transformer: no Babel, no plugin.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: true },
  server: {
    proxy: Object.fromEntries(["/v1", "/health", "/openapi.json"].map((path) => [path, stack])),
  },
});
