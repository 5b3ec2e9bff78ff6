import type { PendingCall, Reject } from "../../../core/src/api/schemas";
import { apiTargetOf, listFromApi, listOptions, listUsage, moreHint } from "../api-client";
import { type CliCommand, optionalString } from "../command";
import { cell, formatTable } from "../output";

/** What could not be stored (rejects) and what waits for entity maps (pending), through the read API. */

export const listRejects: CliCommand = {
  path: ["rejects"],
  summary: "List rejects and data-quality problems (group them with --json and jq)",
  usage: `[--code CODE] ${listUsage}`,
  options: { ...listOptions, code: { type: "string" } },
  async run(values, context) {
    const page = await listFromApi<Reject>(
      apiTargetOf(values, context.env),
      "/v1/rejects",
      { code: optionalString(values, "code") },
      values,
    );
    return {
      data: page,
      text:
        page.items.length === 0
          ? "No rejects."
          : formatTable(page.items, [
              { header: "LAST SEEN", value: (r) => r.last_seen },
              { header: "CODE", value: (r) => cell(r.code) },
              { header: "FIELD", value: (r) => cell(r.field) },
              { header: "SOURCE", value: (r) => cell(r.source) },
              { header: "MESSAGE ID", value: (r) => cell(r.message_id) },
              { header: "SEEN", value: (r) => String(r.seen_count) },
              { header: "MESSAGE", value: (r) => cell(r.message) },
            ]) + moreHint(page),
    };
  },
};

export const listPending: CliCommand = {
  path: ["pending"],
  summary: "List calls of other sources waiting for entity maps, oldest first",
  usage: listUsage,
  options: listOptions,
  async run(values, context) {
    const page = await listFromApi<PendingCall>(apiTargetOf(values, context.env), "/v1/pending", {}, values);
    return {
      data: page,
      text:
        page.items.length === 0
          ? "No pending calls."
          : formatTable(page.items, [
              { header: "TIME", value: (p) => p.time },
              { header: "SOURCE", value: (p) => cell(p.source) },
              { header: "MESSAGE ID", value: (p) => cell(p.message_id) },
              {
                header: "WAITING FOR",
                value: (p) => cell(p.missing.map((m) => `${m.source} ${m.kind} ${m.external_id}`)),
              },
              { header: "HELD SINCE", value: (p) => p.held_at },
            ]) + moreHint(page),
    };
  },
};

export const dataQualityCommands: readonly CliCommand[] = [listRejects, listPending];
