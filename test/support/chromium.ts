import { accessSync, constants } from "node:fs";

/**
 * The Chromium the browser tests drive through playwright-core: Debian's `/usr/bin/chromium` when
 * this machine has it, else the headless Chromium shipped inside the `@sparticuz/chromium` npm
 * package (unpacked on first use into the temporary directory), so `npm ci && npm test` needs no
 * system browser. `CHROMIUM_PATH` names another binary.
 */

/** Where Debian (and Ubuntu) install Chromium. */
export const systemChromium = "/usr/bin/chromium";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Which Chromium the tests use, and where it came from (for a failure message or the run's header). */
export interface ChromiumBinary {
  executablePath: string;
  source: "CHROMIUM_PATH" | "system" | "@sparticuz/chromium";
}

/**
 * @example
 * const { executablePath } = await chromiumBinary();
 * const browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs });
 */
export async function chromiumBinary(
  env: Readonly<Record<string, string | undefined>> = process.env,
  system = systemChromium,
): Promise<ChromiumBinary> {
  if (env.CHROMIUM_PATH) return { executablePath: env.CHROMIUM_PATH, source: "CHROMIUM_PATH" };
  if (isExecutable(system)) return { executablePath: system, source: "system" };
  const { default: packaged } = await import("@sparticuz/chromium");
  return { executablePath: await packaged.executablePath(), source: "@sparticuz/chromium" };
}

/** Flags for a headless Chromium in a test run: no sandbox (root in CI), no GPU, no calls home. */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
