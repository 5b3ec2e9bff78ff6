import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** What `leaveUnprocessed` held back so far. */
export interface UnprocessedCounts {
  writesLeft: number;
  readsLeft: number;
}

/**
 * Makes a DynamoDB client's BatchWriteItem and BatchGetItem answer as DynamoDB does when some
 * partitions are over their throughput: only part of each request is carried out and the rest comes
 * back in `UnprocessedItems` / `UnprocessedKeys` (the request itself succeeds, so the SDK does not
 * retry it). `share` of each request (rounded up) is held back, for the first `times` requests of each kind.
 * The middleware sits in the `initialize` step, outside the SDK's retries, and hands back the
 * request's own entries, so it works whichever form (document or marshalled) it sees them in.
 *
 * @example
 * const counts = leaveUnprocessed(db, { share: 0.5, times: 3 });
 */
export function leaveUnprocessed(
  db: DynamoDBDocumentClient,
  options: { share: number; times: number },
): UnprocessedCounts {
  const counts: UnprocessedCounts = { writesLeft: 0, readsLeft: 0 };
  const faulty = { BatchWriteCommand: 0, BatchGetCommand: 0 };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      // The document client's commands run as the low-level client's (`BatchWriteItemCommand`).
      const name = ({ BatchWriteItemCommand: "BatchWriteCommand", BatchGetItemCommand: "BatchGetCommand" } as const)[
        context.commandName as "BatchWriteItemCommand"
      ];
      if (name === undefined || faulty[name] >= options.times) return next(args);
      faulty[name]++;
      const input = args.input as { RequestItems: Record<string, unknown> };
      const [table, request] = Object.entries(input.RequestItems)[0] as [string, unknown];
      const entries = (name === "BatchWriteCommand" ? request : (request as { Keys: unknown[] }).Keys) as unknown[];
      const held = Math.ceil(entries.length * options.share);
      const sent = entries.slice(0, entries.length - held);
      const left = entries.slice(entries.length - held);
      const asRequest = (list: unknown[]) =>
        name === "BatchWriteCommand" ? list : { ...(request as Record<string, unknown>), Keys: list };
      const result =
        sent.length > 0
          ? await next({ ...args, input: { ...input, RequestItems: { [table]: asRequest(sent) } } })
          : { output: { $metadata: {} }, response: undefined };
      const output = result.output as Record<string, unknown>;
      if (name === "BatchWriteCommand") {
        counts.writesLeft += left.length;
        return { ...result, output: { ...output, UnprocessedItems: { [table]: left } } } as typeof result;
      }
      counts.readsLeft += left.length;
      return {
        ...result,
        output: {
          ...output,
          Responses: output.Responses ?? { [table]: [] },
          UnprocessedKeys: { [table]: asRequest(left) },
        },
      } as typeof result;
    },
    { step: "initialize", name: "leaveUnprocessed", priority: "high" },
  );
  return counts;
}
