import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * Makes a DynamoDB client's BatchExecuteStatement answer as DynamoDB does when the partitions of
 * some items are over their throughput: the statements `throttled` picks come back with the
 * per-statement error `ProvisionedThroughputExceeded` (the request itself succeeds, so the SDK
 * does not retry it), the others are carried out by the real server. The middleware sits in the
 * `initialize` step, outside the SDK's retries; the statements' parameters are as the caller
 * gave them (document form).
 *
 * @example
 * throttleStatements(db, (s) => JSON.stringify(s.Parameters).includes("#U#u-hot"));
 */
export function throttleStatements(
  db: DynamoDBDocumentClient,
  throttled: (statement: { Statement: string; Parameters?: unknown[] }) => boolean,
): void {
  db.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "BatchExecuteStatementCommand") return next(args);
      const input = args.input as { Statements: { Statement: string; Parameters?: unknown[] }[] };
      const held = input.Statements.map(throttled);
      if (!held.includes(true)) return next(args);
      const sent = input.Statements.filter((_, i) => !held[i]);
      const result =
        sent.length > 0
          ? await next({ ...args, input: { ...input, Statements: sent } })
          : { output: { $metadata: {}, Responses: [] }, response: undefined };
      const answers = [...(((result.output as { Responses?: unknown[] }).Responses ?? []) as unknown[])];
      const Responses = held.map((h) =>
        h
          ? { Error: { Code: "ProvisionedThroughputExceeded", Message: "Throughput exceeds the current capacity." } }
          : answers.shift(),
      );
      return { ...result, output: { ...(result.output as object), Responses } } as typeof result;
    },
    { step: "initialize", name: "throttleStatements" },
  );
}
