import { webhookPath } from "../../../core/src/sources/webhook-path";
import { primarySourceName } from "../../../core/src/workspace/workspace";
import { apiOptions, apiTargetOf } from "../api-client";
import {
  type CliCommand,
  type CliContext,
  type OptionValues,
  optionalString,
  requiredString,
  UsageError,
} from "../command";
import { formatFields, formatTable } from "../output";
import { batchSize, type ConnectResult, connectSegment, subscribedCallTypes } from "./connect";
import { connectManually } from "./manual";
import { defaultPublicApiUrl, type RetryPolicy, SegmentPublicApi } from "./public-api";

/**
 * `segment connect`: the command line around connectSegment (connect.ts), which takes the parsed
 * options; this file only reads them and prints the result.
 */

/** Parsed options of `segment connect`, as any argument parser can produce them. */
export interface SegmentConnectArgs {
  workspace: string;
  source?: string;
  sourceId: string;
  token: string;
  baseUrl: string;
  apiUrl?: string;
  dryRun?: boolean;
}

/**
 * Runs `segment connect` with parsed options and returns what the CLI prints.
 *
 * @example
 * const { text } = await runSegmentConnect(args, await context.workspaces());
 */
export async function runSegmentConnect(
  args: SegmentConnectArgs,
  workspaces: Parameters<typeof connectSegment>[1]["workspaces"],
  retry?: RetryPolicy,
) {
  const retried: string[] = [];
  const api = new SegmentPublicApi({
    token: args.token,
    baseUrl: args.apiUrl ?? defaultPublicApiUrl,
    retry,
    onRetry: (operation, status, waitMs) =>
      retried.push(`${operation} answered ${status ?? "nothing"}; retried after ${Math.round(waitMs / 100) / 10} s`),
  });
  const sourceName = args.source ?? primarySourceName;
  const result = await connectSegment(
    {
      workspaceId: args.workspace,
      sourceName,
      segmentSourceId: args.sourceId,
      webhookUrl: `${args.baseUrl.replace(/\/$/, "")}${webhookPath(args.workspace, sourceName)}`,
      dryRun: args.dryRun === true,
    },
    { api, workspaces },
  );
  return { data: { ...result, retries: retried }, text: describeResult(result, retried) };
}

function describeResult(result: ConnectResult, retried: readonly string[]): string {
  const verb = (action: string) => (result.dryRun ? `would ${action}` : action === "create" ? "created" : "updated");
  const plan = formatTable(result.steps, [
    { header: "", value: (s) => verb(s.action) },
    { header: "WHAT", value: (s) => s.kind },
    { header: "NAME", value: (s) => s.name },
    { header: "ID", value: (s) => s.id ?? "-" },
  ]);
  const fields: [string, string][] = [
    ["Segment source", `${result.segmentSource.name} (${result.segmentSource.id})`],
    ["Destination", `Webhooks (Actions), catalog id ${result.destination.metadataId}`],
    ["Webhook URL", result.webhookUrl],
    ["Batching", `on, up to ${batchSize} events a request`],
    ["Mappings", `${subscribedCallTypes.join(", ")}: the whole event, POST`],
    ["Shared secret", result.sharedSecret ?? (result.dryRun ? "a new one (not generated in a dry run)" : "-")],
  ];
  return [
    result.dryRun ? "Dry run: nothing was changed. The plan:" : "Connected Segment:",
    "",
    plan,
    "",
    formatFields(fields),
    ...(result.retiredOlderSecret
      ? ["", "The source's older shared secret was retired to make room for the new one."]
      : []),
    ...(result.dryRun
      ? []
      : [
          "",
          "The new shared secret is in Segment and active here; the previous one stays valid until",
          "`workspaces retire-secret` (or the next connect).",
        ]),
    ...(retried.length > 0 ? ["", "Segment rate limited or failed some calls; they were retried:", ...retried] : []),
    "",
    result.tierNote,
  ].join("\n");
}

/** `--manual`: what to paste into Segment, then wait for the first signed delivery. */
async function runManual(values: OptionValues, context: CliContext) {
  const env = context.env;
  const baseUrl = (optionalString(values, "base-url") ?? env.INGEST_URL)?.replace(/\/$/, "");
  if (!baseUrl) throw new UsageError("--base-url is required (or INGEST_URL): the ingest API's base URL");
  const timeout = optionalString(values, "timeout") ?? "600";
  if (!/^[1-9]\d*$/.test(timeout)) throw new UsageError("--timeout takes a whole number of seconds");
  const workspaceId = requiredString(values, "workspace");
  const sourceName = optionalString(values, "source") ?? primarySourceName;
  const api = apiTargetOf({ ...values, url: optionalString(values, "url") ?? baseUrl }, env);
  const print = context.progress ?? (() => {});
  return connectManually(
    {
      workspaceId,
      sourceName,
      webhookUrl: `${baseUrl}${webhookPath(workspaceId, sourceName)}`,
      api,
      timeoutMs: Number(timeout) * 1000,
      pollMs: 250,
    },
    await context.workspaces(),
    print,
  );
}

function parse(values: OptionValues, env: Readonly<Record<string, string | undefined>>): SegmentConnectArgs {
  const token = optionalString(values, "token") ?? env.SEGMENT_PUBLIC_API_TOKEN;
  if (!token) throw new UsageError("--token is required (or SEGMENT_PUBLIC_API_TOKEN): a Segment Public API token");
  const baseUrl = optionalString(values, "base-url") ?? env.INGEST_URL;
  if (!baseUrl) throw new UsageError("--base-url is required (or INGEST_URL): the ingest API's base URL");
  return {
    workspace: requiredString(values, "workspace"),
    source: optionalString(values, "source"),
    sourceId: requiredString(values, "source-id"),
    token,
    baseUrl,
    apiUrl: optionalString(values, "api-url") ?? env.SEGMENT_PUBLIC_API_URL,
    dryRun: values["dry-run"] === true,
  };
}

export const segmentConnectCommand: CliCommand = {
  path: ["segment", "connect"],
  summary:
    "Create (or update) a Webhooks (Actions) destination on a Segment source through Segment's Public API (Team/Business tiers); --manual prints the settings to paste and waits for the first signed delivery",
  usage:
    "--workspace ID --source-id SEGMENT_SOURCE_ID --token TOKEN --base-url URL [--source product] [--api-url URL] [--dry-run]\n" +
    "      | --manual --workspace ID --base-url URL [--source product] [--url API_URL] [--api-key KEY] [--timeout SECONDS]",
  options: {
    manual: { type: "boolean" },
    timeout: { type: "string" },
    ...apiOptions,
    workspace: { type: "string" },
    source: { type: "string" },
    "source-id": { type: "string" },
    token: { type: "string" },
    "base-url": { type: "string" },
    "api-url": { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(values, context) {
    if (values.manual === true) return runManual(values, context);
    const args = parse(values, context.env);
    return runSegmentConnect(args, await context.workspaces());
  },
};
