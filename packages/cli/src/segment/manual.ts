import type { WorkspaceStore } from "../../../aws/src/dynamo/workspaces";
import type { DeliveryStatus, SourceStatus } from "../../../core/src/api/source-schemas";
import { DependencyError } from "../../../core/src/errors";
import { type ApiTarget, callApi } from "../api-client";
import { formatFields } from "../output";
import { batchSize, ourSegmentSource, subscribedCallTypes, triggerFor } from "./connect";
import { freshSecret } from "./fresh-secret";

/**
 * `segment connect --manual`, for workspaces without Segment's Public API: makes a fresh shared
 * secret, prints exactly what to enter in Segment's Webhooks (Actions) destination, then watches
 * the source's delivery counters (`GET /v1/sources/{name}`, polled) and prints each change as it
 * arrives, until the first signed delivery after the start has been accepted.
 */

export interface ManualOptions {
  workspaceId: string;
  sourceName: string;
  webhookUrl: string;
  /** The read API, where the counters are. */
  api: ApiTarget;
  /** How long to wait for the first signed delivery. */
  timeoutMs: number;
  /** Between two reads of the counters. */
  pollMs: number;
}

/** The settings a person enters in Segment, in the order Segment's screens ask for them. */
export function manualSettings(webhookUrl: string, secret: string): string {
  const mappings = subscribedCallTypes.map((type, i) =>
    [
      `  ${i + 1}. Mapping "segment-ingest ${type}": action Send, trigger: Event Type is ${type} (${triggerFor(type)})`,
      `     URL ${webhookUrl}  Method POST  Enable Batching on  Batch Size ${batchSize}`,
      "     Data: the whole event (the default, `$.`); no headers",
    ].join("\n"),
  );
  return [
    "In Segment: Connections > Catalog > Webhooks (Actions) > Add destination, on your source.",
    "",
    formatFields([
      ["Settings > Shared Secret", secret],
      ["Webhook URL", webhookUrl],
      ["Batch size", `${batchSize} (Segment allows up to 4,000)`],
    ]),
    "",
    "Mappings (one per call type, each sending the whole event):",
    ...mappings,
    "",
    "Then enable the destination and its mappings. Segment signs each request with the shared secret",
    "(a batch over its first event), which is how the first delivery below is recognised.",
  ].join("\n");
}

/** One line per change of the counters since the last read; empty when nothing changed. */
export function describeChanges(before: DeliveryStatus, after: DeliveryStatus, at: Date): string[] {
  const time = at.toISOString().slice(11, 19);
  const lines: string[] = [];
  const accepted = after.calls_accepted_today - before.calls_accepted_today;
  if (accepted > 0 || after.last_delivery_at !== before.last_delivery_at) {
    const signed = after.last_signed_delivery_at !== before.last_signed_delivery_at ? " (signed webhook)" : "";
    lines.push(`${time}  delivery: ${Math.max(accepted, 0)} call(s) accepted${signed}`);
  }
  for (const [code, count] of Object.entries(after.refused_today_by_code)) {
    const more = count - (before.refused_today_by_code[code] ?? 0);
    if (more <= 0) continue;
    const hint =
      code === "segment.signature_invalid" || code === "segment.signature_missing"
        ? ": check the Shared Secret in Segment's settings"
        : "";
    lines.push(`${time}  refused: ${more} request(s) ${code}${hint}`);
  }
  const rejected = after.rejected_calls_today - before.rejected_calls_today;
  if (rejected > 0) lines.push(`${time}  ${rejected} call(s) refused on their own inside accepted requests`);
  return lines;
}

async function statusOf(options: ManualOptions): Promise<DeliveryStatus> {
  const source = (await callApi(options.api, `/v1/sources/${encodeURIComponent(options.sourceName)}`)) as SourceStatus;
  return source.delivery;
}

/**
 * Prints the settings, then waits for the first signed delivery, printing what arrives.
 *
 * @example
 * await connectManually(options, workspaces, (line) => process.stdout.write(`${line}\n`));
 */
export async function connectManually(
  options: ManualOptions,
  workspaces: Pick<WorkspaceStore, "getSource" | "retireSecret" | "rotateSecret">,
  print: (text: string) => void,
  clock: { now(): Date; sleep(ms: number): Promise<void> } = {
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  },
) {
  await ourSegmentSource(workspaces, options);
  // Read once before changing anything: the API must be reachable to watch for the delivery.
  let last = await statusOf(options);
  const signedBefore = last.last_signed_delivery_at;
  const { secret, retiredOlder } = await freshSecret(workspaces, options.workspaceId, options.sourceName);
  const started = clock.now();
  print(manualSettings(options.webhookUrl, secret));
  if (retiredOlder) print("\n(The source's older shared secret was retired to make room for the new one.)");
  print(`\nWaiting for the first signed delivery (up to ${Math.round(options.timeoutMs / 1000)} s; Ctrl-C stops)…`);

  const deadline = started.getTime() + options.timeoutMs;
  for (;;) {
    await clock.sleep(options.pollMs);
    const now = clock.now();
    const current = await statusOf(options);
    for (const line of describeChanges(last, current, now)) print(line);
    last = current;
    const signedAt = current.last_signed_delivery_at;
    if (signedAt !== null && signedAt !== signedBefore) {
      return {
        data: {
          connected: true,
          webhookUrl: options.webhookUrl,
          sharedSecret: secret,
          firstSignedDeliveryAt: signedAt,
        },
        text: `Connected: the first signed delivery arrived at ${signedAt}.`,
      };
    }
    if (now.getTime() >= deadline) {
      throw new DependencyError(
        "segment.no_delivery",
        `no signed delivery arrived in ${Math.round(options.timeoutMs / 1000)} s: check the destination is enabled, its URL and its Shared Secret`,
      );
    }
  }
}
