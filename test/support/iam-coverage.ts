import { existsSync, readFileSync } from "node:fs";
import type { SdkCall } from "../../packages/aws/src/sdk-call-audit";
import { queues, tables } from "../../packages/resources/src/definitions";
import type { InfraModel } from "./infra-model";

/**
 * IAM coverage: the AWS API calls each function was seen to make (packages/aws/src/sdk-call-audit.ts)
 * turned into the IAM actions and resources they need, compared with what infra/ grants that
 * function. IAM authorises some calls by other actions than their names: a transaction by its
 * items' actions (`Put` needs `dynamodb:PutItem`, `ConditionCheck` needs
 * `dynamodb:ConditionCheckItem`; there is no `dynamodb:TransactWriteItems`), the SQS batch calls
 * by their single-message actions (`SendMessageBatch` is `sqs:SendMessage`), PartiQL statements by
 * their verb (`BatchExecuteStatement` of INSERTs needs `dynamodb:PartiQLInsert` on that table).
 */

export interface Need {
  function: string;
  action: string;
  /** In infra's token form: `{{Entities.arn}}`, `{{Entities.arn}}/index/byUser`, `{{RawQueue.arn}}`. */
  resource: string;
  /** The calls that need it. */
  calls: string[];
}

/** Reads an audit file (one JSON call per line). */
export function readSdkCalls(file: string): SdkCall[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as SdkCall);
}

/** The logical table (`Entities`) of a stage's table name (`<prefix>-Entities`). */
function tableOf(name: string): string {
  const found = tables.find((t) => name === t.name || name.endsWith(`-${t.name}`));
  if (!found) throw new Error(`a call touched table ${name}, which no table definition names`);
  return found.name;
}

/** The logical queue (`RawQueue`) of a queue URL. */
function queueOf(url: string): string {
  const last = url.split("/").pop() ?? "";
  const found = queues.find((q) => last === q.name || last.endsWith(`-${q.name}`));
  if (!found) throw new Error(`a call touched queue ${url}, which no queue definition names`);
  return found.name;
}

const sqsAction: Record<string, string> = {
  SendMessageBatch: "SendMessage",
  DeleteMessageBatch: "DeleteMessage",
  ChangeMessageVisibilityBatch: "ChangeMessageVisibility",
};
const transactionItemAction: Record<string, string> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
  Get: "GetItem",
};

/** The (action, resource) pairs one call needs. */
export function needsOf(call: SdkCall): { action: string; resource: string }[] {
  if (call.service === "sqs") {
    const action = `sqs:${sqsAction[call.operation] ?? call.operation}`;
    return call.targets.map((url) => ({ action, resource: `{{${queueOf(url)}.arn}}` }));
  }
  if (call.items) {
    return call.items.map((item) => {
      const [kind = "", table = ""] = item.split(":");
      const action = kind.startsWith("PartiQL") ? kind : transactionItemAction[kind];
      if (!action) throw new Error(`unknown transaction item kind ${kind}`);
      return { action: `dynamodb:${action}`, resource: `{{${tableOf(table)}.arn}}` };
    });
  }
  return call.targets.map((table) => ({
    action: `dynamodb:${call.operation}`,
    resource: `{{${tableOf(table)}.arn}}${call.indexName ? `/index/${call.indexName}` : ""}`,
  }));
}

/** Whether an IAM resource pattern (with `*` wildcards) covers a resource. */
function covers(pattern: string, resource: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  return new RegExp(`^${escaped}$`).test(resource);
}

export interface Coverage {
  needs: Need[];
  /** Needs no statement of the function grants. */
  missing: Need[];
}

/**
 * Compares recorded calls with infra's grants.
 *
 * @example
 * const { missing } = iamCoverage(readSdkCalls(file), await evaluateInfra());
 */
export function iamCoverage(calls: SdkCall[], infra: InfraModel): Coverage {
  const byKey = new Map<string, Need>();
  for (const call of calls) {
    for (const need of needsOf(call)) {
      const key = `${call.function} ${need.action} ${need.resource}`;
      const entry = byKey.get(key) ?? { function: call.function, ...need, calls: [] };
      if (!entry.calls.includes(call.operation)) entry.calls.push(call.operation);
      byKey.set(key, entry);
    }
  }
  const needs = [...byKey.values()].sort((a, b) =>
    `${a.function} ${a.action} ${a.resource}`.localeCompare(`${b.function} ${b.action} ${b.resource}`),
  );
  const missing = needs.filter((need) => {
    const fn = infra.functions[need.function];
    if (!fn) return true;
    return !fn.permissions.some(
      (statement) =>
        statement.actions.includes(need.action) &&
        statement.resources.some((pattern) => covers(pattern, need.resource)),
    );
  });
  return { needs, missing };
}

/** The table printed after a suite: one line per function, action and resource. */
export function coverageTable(title: string, coverage: Coverage): string {
  const missing = new Set(coverage.missing);
  const rows = coverage.needs.map((need) => [
    need.function,
    need.action,
    need.resource.replaceAll("{{", "").replaceAll("}}", "").replace(".arn", ""),
    missing.has(need) ? "NOT GRANTED" : "granted",
    need.calls.join(", "),
  ]);
  const header = ["FUNCTION", "ACTION", "RESOURCE", "INFRA", "CALLS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [
    `IAM coverage (${title}): AWS actions each function used, against infra/`,
    line(header),
    ...rows.map(line),
  ].join("\n");
}
