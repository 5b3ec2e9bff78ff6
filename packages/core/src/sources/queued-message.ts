/**
 * The normalize side of the source seam: a raw queue message, read and handed to the source whose
 * kind it carries.
 */
import type { RejectRecord } from "../pipeline/model-store";
import { RawQueueMessage } from "../queue-message";
import { describeIssues } from "../segment/envelope";
import { decoders } from "./decoders";
import { defaultSourceKind } from "./kinds";
import type { DecodedMessage } from "./source";

/** The reject of a record that is not a raw queue message at all. */
function invalidMessage(record: { id: string; body: string }, body: unknown, why: string): RejectRecord {
  const workspaceId = (body as { workspaceId?: unknown } | undefined)?.workspaceId;
  return {
    workspaceId: typeof workspaceId === "string" ? workspaceId : "unknown",
    source: "unknown",
    messageId: `sqs-${record.id}`,
    code: "message.invalid",
    field: "body",
    message: `queue message is not a raw ingest message: ${why}`,
    value: record.body.slice(0, 2048),
  };
}

/**
 * Decodes one SQS record of the raw queue: its JSON, its envelope (`RawQueueMessage`), then its
 * calls by the source its `route` names (a message without one is a webhook delivery). A record
 * that is not a raw message (a `route` no source has included) is one `message.invalid` reject; a call
 * its source cannot use is a reject of its own. Pure.
 *
 * @example
 * const { units, rejects } = decodeQueuedMessage({ id: record.messageId, body: record.body });
 */
export function decodeQueuedMessage(record: { id: string; body: string }): DecodedMessage {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    body = undefined;
  }
  const message = RawQueueMessage.safeParse(body);
  if (!message.success) {
    return { units: [], rejects: [{ reject: invalidMessage(record, body, describeIssues(message.error)) }] };
  }
  // The envelope checked that `route` names a registered source.
  return decoders[message.data.route ?? defaultSourceKind](message.data);
}
