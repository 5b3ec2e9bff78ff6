import type { ReplayMode } from "./plan";
import type { RejectedGroup } from "./send";

/** The summary a replay ends with (`--json` prints it as is). */
export interface ReplaySummary {
  target: string;
  mode: ReplayMode;
  batchSize: number;
  files: number;
  calls: number;
  sent: { calls: number; requests: number };
  accepted: number;
  rejected: { calls: number; byCode: Record<string, RejectedGroup> };
  retried: number;
  skipped: { calls: number; reason?: string };
  /** Calls repeating a messageId of an earlier call in the input (stored once). */
  duplicates: number;
  aborted?: string;
}

/** The readable summary. */
export function formatSummary(summary: ReplaySummary): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const how =
    summary.mode === "webhook"
      ? `webhook, signed, ${summary.batchSize === 1 ? "one call per request" : `batches of up to ${summary.batchSize} (Actions)`}`
      : `tracking API, write key, ${summary.batchSize === 1 ? "one call per request" : `/v1/batch of up to ${summary.batchSize}`}`;
  const lines = [
    `Replayed ${unit(summary.calls, "call")} from ${unit(summary.files, "file")} to ${summary.target} (${how})`,
    `  sent        ${unit(summary.sent.calls, "call")} in ${unit(summary.sent.requests, "request")}`,
    `  accepted    ${summary.accepted}`,
    `  rejected    ${summary.rejected.calls}`,
  ];
  for (const [code, group] of Object.entries(summary.rejected.byCode).sort((a, b) => b[1].calls - a[1].calls)) {
    lines.push(`    ${code}  ${unit(group.calls, "call")}, e.g. ${group.example}`);
  }
  lines.push(`  retried     ${unit(summary.retried, "time")}`);
  if (summary.skipped.calls > 0) lines.push(`  skipped     ${summary.skipped.calls} (${summary.skipped.reason})`);
  lines.push(
    `  duplicates  ${summary.duplicates}${summary.duplicates > 0 ? " (repeat a messageId earlier in the input: stored once)" : ""}`,
  );
  if (summary.aborted) lines.push(`Stopped: ${summary.aborted}`);
  return lines.join("\n");
}
