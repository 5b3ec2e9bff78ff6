import { rmSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { coverageTable, iamCoverage, readSdkCalls } from "./iam-coverage";
import { evaluateInfra } from "./infra-model";

/**
 * IAM coverage of the integration suite: its project sets `AWS_CALL_LOG`, so every SDK client the
 * handlers' factories make records its calls (packages/aws/src/sdk-call-audit.ts). After the last
 * file this prints the table of actions per function and fails the run when a function used an
 * action that infra/ does not grant it.
 */
export default async function setup(project: TestProject) {
  const file = project.config.env?.AWS_CALL_LOG;
  if (!file) throw new Error("iam-coverage-setup needs AWS_CALL_LOG in the project's env");
  rmSync(file, { force: true });
  // SST's components take a few seconds under Pulumi's mocks: evaluate while the tests run.
  const infra = evaluateInfra();
  infra.catch(() => {});
  return async () => {
    const calls = readSdkCalls(file);
    rmSync(file, { force: true });
    if (calls.length === 0) return;
    let coverage: ReturnType<typeof iamCoverage>;
    try {
      coverage = iamCoverage(calls, await infra);
    } catch (error) {
      console.error(`IAM coverage could not be checked: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
      return;
    }
    console.info(`\n${coverageTable(project.name, coverage)}\n`);
    if (coverage.missing.length > 0) {
      const list = coverage.missing.map((m) => `${m.function}: ${m.action} on ${m.resource} (${m.calls.join(", ")})`);
      console.error(`IAM coverage: actions used but not granted in infra/:\n  ${list.join("\n  ")}`);
      // A teardown's exception is only logged by vitest; the exit code is what CI reads.
      process.exitCode = 1;
    }
  };
}
