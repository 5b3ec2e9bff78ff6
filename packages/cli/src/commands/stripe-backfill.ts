import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createSqsClient } from "../../../aws/src/clients";
import { loadConfig } from "../../../aws/src/config";
import { createRawQueueSender } from "../../../aws/src/sqs/raw-queue";
import { type BackfillState, runStripeBackfill, stripeClient } from "../../../aws/src/stripe/backfill";
import { NotFoundError } from "../../../core/src/errors";
import { defaultStripeSourceName } from "../../../core/src/sources/stripe";
import { type CliCommand, optionalString, requiredString, UsageError } from "../command";
import { formatFields } from "../output";

/** A progress line, redrawn in place on a terminal; nothing when stderr is not one (tests, pipes). */
function progress(state: BackfillState): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\rcustomers ${state.customers.queued}  subscriptions ${state.subscriptions.queued}  queued`);
}

export const stripeBackfill: CliCommand = {
  path: ["stripe", "backfill"],
  summary: "Pull a Stripe source's customers and subscriptions through the queue (resumable: --resume)",
  usage:
    "--workspace W [--source stripe] [--api-key rk_… | env STRIPE_API_KEY] [--state FILE] [--resume] [--api-base URL]",
  options: {
    workspace: { type: "string" },
    source: { type: "string" },
    "api-key": { type: "string" },
    "api-base": { type: "string" },
    state: { type: "string" },
    resume: { type: "boolean" },
  },
  async run(values, context) {
    const workspaceId = requiredString(values, "workspace");
    const sourceName = optionalString(values, "source") ?? defaultStripeSourceName;
    const apiKey = optionalString(values, "api-key") ?? context.env.STRIPE_API_KEY;
    if (!apiKey) throw new UsageError("--api-key (or STRIPE_API_KEY) is required: a restricted key with read access");
    const stateFile = optionalString(values, "state") ?? `.stripe-backfill-${workspaceId}-${sourceName}.json`;
    const resumed =
      values.resume === true && existsSync(stateFile)
        ? (JSON.parse(readFileSync(stateFile, "utf8")) as BackfillState)
        : undefined;
    if (values.resume !== true && existsSync(stateFile)) {
      throw new UsageError(`${stateFile} holds an interrupted run: add --resume to continue it, or delete it`);
    }
    const source = await (await context.workspaces()).getSource(workspaceId, sourceName);
    if (source?.kind !== "stripe") {
      throw new NotFoundError("source.not_found", `No Stripe source ${sourceName} in workspace ${workspaceId}`);
    }
    const config = await loadConfig();
    const sqs = createSqsClient(config);
    try {
      const state = await runStripeBackfill(
        source,
        {
          stripe: stripeClient(apiKey, optionalString(values, "api-base")),
          queue: createRawQueueSender(sqs, config.rawQueueUrl),
          save: async (s) => writeFileSync(stateFile, JSON.stringify(s)),
          progress,
        },
        resumed,
      );
      rmSync(stateFile, { force: true });
      if (process.stderr.isTTY) process.stderr.write("\n");
      const summary = {
        workspaceId,
        source: sourceName,
        customers: state.customers.queued,
        subscriptions: state.subscriptions.queued,
        pulledAt: new Date(state.pulledAt * 1000).toISOString(),
        resumed: resumed !== undefined,
      };
      return {
        data: summary,
        text: [
          `Backfilled ${workspaceId}/${sourceName}${summary.resumed ? " (resumed)" : ""}.`,
          "",
          formatFields([
            ["Customers queued", String(summary.customers)],
            ["Subscriptions queued", String(summary.subscriptions)],
            ["As of", summary.pulledAt],
          ]),
        ].join("\n"),
      };
    } finally {
      sqs.destroy();
    }
  },
};
