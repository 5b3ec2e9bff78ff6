import type { Reporter } from "vitest/node";
import { lambdaRuntime } from "../../packages/resources/src/definitions";

/**
 * A reporter that only prints, at the top of a test run, which Node runs the tests (the test
 * workers are started with this same binary) next to the Lambda runtime production uses.
 */
export default class RuntimeHeader implements Reporter {
  onInit(): void {
    process.stdout.write(`Node ${process.version} (${process.execPath}); Lambda runtime ${lambdaRuntime}\n`);
  }
}
