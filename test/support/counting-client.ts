import { createDocumentClient } from "../../packages/aws/src/clients";
import type { Config } from "../../packages/aws/src/config";

/**
 * A document client on the real local DynamoDB that lists the requests it sends, by operation
 * (`BatchExecuteStatement`, `UpdateItem`, ...), for tests that hold a stage to a request count.
 *
 * @example
 * const { db, sent, count } = countingClient(config);
 */
export function countingClient(config: Config) {
  const db = createDocumentClient(config);
  const sent: string[] = [];
  db.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName).replace(/Command$/, ""));
      return next(args);
    },
    { step: "initialize", name: "countRequests" },
  );
  const count = (name: string) => sent.filter((s) => s === name).length;
  return { db, sent, count };
}
