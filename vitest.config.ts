import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

const env = {
  AWS_EC2_METADATA_DISABLED: "true",
  SST_TELEMETRY_DISABLED: "1",
};

/** The integration suite's SDK call audit, read by its IAM coverage check (test/support/iam-coverage-setup.ts). */
const integrationCallLog = join(tmpdir(), `segment-ingest-sdk-calls-${process.pid}.jsonl`);

export default defineConfig({
  test: {
    env,
    // The default report, headed by the Node version the run is on (test/support/runtime-header.ts).
    reporters: ["default", "./test/support/runtime-header.ts"],
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], env },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts", "test/support/iam-coverage-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          env: { ...env, AWS_CALL_LOG: integrationCallLog },
        },
      },
      {
        test: {
          name: "rehearsal",
          include: ["test/rehearsal/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          env,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          env,
        },
      },
    ],
  },
});
