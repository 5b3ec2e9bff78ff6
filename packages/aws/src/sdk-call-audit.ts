import { appendFileSync } from "node:fs";

/**
 * An opt-in record of the AWS API calls each function makes, for the IAM coverage check
 * (test/support/iam-coverage.ts): with `AWS_CALL_LOG` set to a file path, every SDK client made for
 * a function appends one JSON line per distinct call shape (function, service, operation, the
 * tables, index or queue it touched, and a transaction's item kinds). Nothing is recorded when the
 * variable is unset, as on AWS; no key, item or message content is ever written.
 */

/** The functions of infra/functions.ts, named by their handler file under functions/. */
export type AuditedFunction = "ingest" | "stripe-ingest" | "api" | "normalize" | "sweep";

export interface SdkCall {
  function: AuditedFunction;
  service: "dynamodb" | "sqs";
  /** The API operation: `GetItem`, `TransactWriteItems`, `SendMessageBatch`, … */
  operation: string;
  /** Table names (DynamoDB) or queue URLs (SQS). */
  targets: string[];
  indexName?: string;
  /**
   * `TransactWriteItems` / `TransactGetItems`: each item's kind with its table, `Put:<table>`;
   * `BatchExecuteStatement` / `ExecuteStatement`: each statement's PartiQL action, `PartiQLInsert:<table>`.
   */
  items?: string[];
}

/** The part of an SDK client's middleware stack used here (every v3 client has it). */
interface InitializeStack {
  add(
    middleware: (
      next: (args: { input: unknown }) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: { input: unknown }) => Promise<unknown>,
    options: { step: "initialize"; name: string },
  ): void;
}

const written = new Set<string>();

function describeCall(fn: AuditedFunction, service: SdkCall["service"], operation: string, input: unknown): SdkCall {
  const given = (input ?? {}) as Record<string, unknown>;
  const targets = new Set<string>();
  const call: SdkCall = { function: fn, service, operation, targets: [] };
  if (typeof given.TableName === "string") targets.add(given.TableName);
  if (typeof given.QueueUrl === "string") targets.add(given.QueueUrl);
  if (typeof given.IndexName === "string") call.indexName = given.IndexName;
  if (given.RequestItems && typeof given.RequestItems === "object") {
    for (const table of Object.keys(given.RequestItems)) targets.add(table);
  }
  if (Array.isArray(given.TransactItems)) {
    const items = new Set<string>();
    for (const item of given.TransactItems as Record<string, { TableName?: string }>[]) {
      for (const [kind, detail] of Object.entries(item)) {
        items.add(`${kind}:${detail?.TableName ?? ""}`);
        if (detail?.TableName) targets.add(detail.TableName);
      }
    }
    call.items = [...items].sort();
  }
  if (Array.isArray(given.Statements) || typeof given.Statement === "string") {
    // PartiQL: IAM authorises each statement by its verb on its table (`PartiQLInsert:<table>`).
    const statements = Array.isArray(given.Statements) ? (given.Statements as { Statement?: string }[]) : [given];
    const items = new Set<string>();
    for (const { Statement } of statements as { Statement?: string }[]) {
      const found = /^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\b.*?\bFROM)\s+"([^"]+)"/is.exec(Statement ?? "");
      const verb = (found?.[1] ?? "").split(/\s/)[0]?.toUpperCase() ?? "";
      const kind = { INSERT: "Insert", UPDATE: "Update", DELETE: "Delete", SELECT: "Select" }[verb] ?? "Unknown";
      items.add(`PartiQL${kind}:${found?.[2] ?? ""}`);
      if (found?.[2]) targets.add(found[2]);
    }
    call.items = [...items].sort();
  }
  call.targets = [...targets].sort();
  return call;
}

/**
 * Adds the recording middleware to a client when `AWS_CALL_LOG` is set.
 *
 * @example
 * auditSdkCalls(new DynamoDBClient({}), "ingest", "dynamodb");
 */
export function auditSdkCalls(
  client: { middlewareStack: object },
  fn: AuditedFunction,
  service: SdkCall["service"],
): void {
  const file = process.env.AWS_CALL_LOG;
  if (!file) return;
  (client.middlewareStack as InitializeStack).add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      const line = JSON.stringify(describeCall(fn, service, operation, args.input));
      if (!written.has(line)) {
        written.add(line);
        appendFileSync(file, `${line}\n`);
      }
      return next(args);
    },
    { step: "initialize", name: "sdkCallAudit" },
  );
}
