import { readFile } from "node:fs/promises";
import type { EntityMap, EntityMapReport, EntityMapUploadResult } from "../../../core/src/api/schemas";
import { ValidationError } from "../../../core/src/errors";
import { apiOptions, apiTargetOf, callApi, listFromApi, listOptions, listUsage, moreHint } from "../api-client";
import { type CliCommand, optionalString } from "../command";
import { cell, formatTable } from "../output";

/** Entity maps through the admin API: list, upload (JSON or CSV, with a dry run), delete one. */

export const listEntityMaps: CliCommand = {
  path: ["entity-maps", "list"],
  summary: "List entity maps (another source's id → canonical user or account id)",
  usage: `[--source S] [--kind user|account] ${listUsage}`,
  options: { ...listOptions, source: { type: "string" }, kind: { type: "string" } },
  async run(values, context) {
    const page = await listFromApi<EntityMap>(
      apiTargetOf(values, context.env),
      "/v1/entity-maps",
      { source: optionalString(values, "source"), kind: optionalString(values, "kind") },
      values,
    );
    return {
      data: page,
      text:
        page.items.length === 0
          ? "No entity maps."
          : formatTable(page.items, [
              { header: "SOURCE", value: (m) => cell(m.source) },
              { header: "KIND", value: (m) => m.kind },
              { header: "EXTERNAL ID", value: (m) => cell(m.external_id) },
              { header: "CANONICAL ID", value: (m) => cell(m.canonical_id) },
              { header: "UPDATED", value: (m) => m.updated_at },
            ]) + moreHint(page),
    };
  },
};

function conflictTable(report: Pick<EntityMapReport, "conflicts">): string {
  return formatTable(report.conflicts, [
    { header: "SOURCE", value: (c) => cell(c.source) },
    { header: "KIND", value: (c) => c.kind },
    { header: "EXTERNAL ID", value: (c) => cell(c.external_id) },
    { header: "CANONICAL ID", value: (c) => cell(c.canonical_id) },
    { header: "CONFLICTS WITH", value: (c) => cell(c.other_canonical_id) },
    { header: "WHY", value: (c) => cell(c.reason) },
  ]);
}

/** CSV for `.csv` files and for text that does not start like JSON; JSON otherwise. */
function contentTypeOf(file: string, text: string): string {
  if (/\.csv$/i.test(file)) return "text/csv";
  if (/\.json$/i.test(file)) return "application/json";
  return /^\s*[[{]/.test(text) ? "application/json" : "text/csv";
}

export const uploadEntityMaps: CliCommand = {
  path: ["entity-maps", "upload"],
  summary: "Upload entity maps from a CSV (source,kind,external_id,canonical_id) or JSON file",
  usage: "FILE [--dry-run] [--replace] [--url URL] [--api-key KEY]",
  options: { ...apiOptions, "dry-run": { type: "boolean" }, replace: { type: "boolean" } },
  positionals: ["FILE"],
  async run(values, context, [file]) {
    const text = await readFile(file as string, "utf8");
    const dryRun = values["dry-run"] === true;
    let report: EntityMapReport | EntityMapUploadResult;
    try {
      report = (await callApi(apiTargetOf(values, context.env), "/v1/entity-maps", {
        method: "PUT",
        query: { dry_run: dryRun ? "true" : undefined, replace: values.replace === true ? "true" : undefined },
        body: text,
        contentType: contentTypeOf(file as string, text),
      })) as EntityMapReport;
    } catch (error) {
      const answer = (error as ValidationError).details?.answer as EntityMapReport | undefined;
      if (error instanceof ValidationError && error.code === "entity_map.conflict" && answer?.conflicts) {
        throw new ValidationError(error.code, `${error.message}\n\n${conflictTable(answer)}`, {
          details: error.details,
        });
      }
      throw error;
    }
    const counts = `${report.created} to create, ${report.changed} to change, ${report.unchanged} unchanged, ${report.conflicts.length} conflicting`;
    const lines = dryRun
      ? [`Dry run (nothing was written): ${counts}.`]
      : [
          `Uploaded: ${report.created} created, ${report.changed} changed, ${report.unchanged} unchanged.`,
          `Released ${(report as EntityMapUploadResult).released} pending call(s) back into the pipeline.`,
        ];
    if (report.conflicts.length > 0) lines.push("", conflictTable(report));
    return { data: report, text: lines.join("\n") };
  },
};

export const deleteEntityMap: CliCommand = {
  path: ["entity-maps", "delete"],
  summary: "Delete one entity map entry",
  usage: "SOURCE KIND EXTERNAL_ID [--url URL] [--api-key KEY]",
  options: apiOptions,
  positionals: ["SOURCE", "KIND", "EXTERNAL_ID"],
  async run(values, context, [source, kind, externalId]) {
    const path = ["/v1/entity-maps", source, kind, externalId]
      .map((p, i) => (i === 0 ? p : encodeURIComponent(p as string)))
      .join("/");
    const answer = await callApi(apiTargetOf(values, context.env), path, { method: "DELETE" });
    return { data: answer, text: `Deleted the ${cell(kind)} map of ${cell(source)} id ${cell(externalId)}.` };
  },
};

export const entityMapCommands: readonly CliCommand[] = [listEntityMaps, uploadEntityMaps, deleteEntityMap];
