import { LimitError } from "../errors";
import type { RawQueueMessage } from "../queue-message";
import type { CallMeasures, QueuedCall } from "./calls";

/** What every raw queue message of one request says about where its calls came from. */
export type RawMessageMeta = Pick<RawQueueMessage, "workspaceId" | "source" | "receivedAt" | "requestId" | "route">;

/**
 * Characters SQS refuses in a message body (it allows #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD
 * and #x10000-#x10FFFF). Matched per UTF-16 unit, so astral characters (emoji) are escaped too:
 * some SQS emulators check units, not code points. In JSON text they can only be inside strings,
 * where `\uXXXX` means the same character.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to escape.
const outsideSqsCharset = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g;

/** JSON text of a value that SQS accepts byte for byte. */
export function sqsSafeJson(value: unknown): string {
  return sqsSafeText(JSON.stringify(value));
}

/** `outsideSqsCharset` without the global flag: a test of whether there is anything to escape at all. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to escape.
const anyOutsideSqsCharset = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/;

/** JSON text made safe for SQS (see `outsideSqsCharset`); most text has nothing to escape, and is returned as it is. */
function sqsSafeText(json: string): string {
  if (!anyOutsideSqsCharset.test(json)) return json;
  return json.replace(outsideSqsCharset, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Splits the calls of one request into raw queue message bodies (serialised `RawQueueMessage`s),
 * each at most `maxBytes` bytes of UTF-8, keeping every call exactly once and in order. Calls are
 * packed greedily; the sizes are exact because each body is assembled from the calls' own JSON
 * (the text `checkCalls` measured, in `measures`, else serialised now).
 *
 * @example
 * const bodies = splitBatch(calls, { workspaceId, source, receivedAt, requestId }, maxRawMessageBodyBytes);
 */
export function splitBatch(
  calls: readonly QueuedCall[],
  meta: RawMessageMeta,
  maxBytes: number,
  measures?: CallMeasures,
): string[] {
  const head = messageHead(meta);
  const fixedBytes = Buffer.byteLength(head, "utf8") + 2;

  const bodies: string[] = [];
  let parts: string[] = [];
  let bytes = fixedBytes;
  for (const call of calls) {
    const known = measures?.get(call);
    let json: string;
    let callBytes: number;
    if (known?.sqsSafe) {
      json = known.text;
      callBytes = known.bytes;
    } else {
      json = sqsSafeText(known?.text ?? JSON.stringify(call));
      callBytes = known !== undefined && json === known.text ? known.bytes : Buffer.byteLength(json, "utf8");
    }
    if (fixedBytes + callBytes > maxBytes) {
      throw new LimitError("event.too_large", `An event of ${callBytes} bytes does not fit a queue message`);
    }
    const separator = parts.length > 0 ? 1 : 0;
    if (bytes + separator + callBytes > maxBytes) {
      bodies.push(`${head}${parts.join(",")}]}`);
      parts = [];
      bytes = fixedBytes;
    }
    bytes += (parts.length > 0 ? 1 : 0) + callBytes;
    parts.push(json);
  }
  if (parts.length > 0) bodies.push(`${head}${parts.join(",")}]}`);
  return bodies;
}

/**
 * The text every message body of a request starts with: its `RawQueueMessage` serialised with no
 * calls yet, less the closing `]}` (`calls` is the last key). Written key by key, as
 * `JSON.stringify` writes the envelope object (`messageHeadOf`, which also serves a meta that is
 * not all strings, and which the unit test holds it to).
 */
function messageHead(meta: RawMessageMeta): string {
  const { workspaceId, source, receivedAt, requestId, route } = meta;
  if (
    typeof workspaceId !== "string" ||
    typeof source !== "string" ||
    typeof receivedAt !== "string" ||
    typeof requestId !== "string" ||
    (route !== undefined && typeof route !== "string")
  ) {
    return messageHeadOf(meta);
  }
  const routeKey = route === undefined ? "" : `,"route":${JSON.stringify(route)}`;
  return sqsSafeText(
    `{"v":1,"workspaceId":${JSON.stringify(workspaceId)},"source":${JSON.stringify(source)},"receivedAt":${JSON.stringify(receivedAt)},"requestId":${JSON.stringify(requestId)}${routeKey},"calls":[`,
  );
}

/**
 * `messageHead` from the envelope object itself.
 *
 * @example
 * messageHeadOf({ workspaceId: "w", source: "product", receivedAt, requestId: "r" }); // '{"v":1,"workspaceId":"w",…,"calls":['
 */
export function messageHeadOf(meta: RawMessageMeta): string {
  const envelope: RawQueueMessage = {
    v: 1,
    workspaceId: meta.workspaceId,
    source: meta.source,
    receivedAt: meta.receivedAt,
    requestId: meta.requestId,
    ...(meta.route === undefined ? {} : { route: meta.route }),
    calls: [],
  };
  return sqsSafeJson(envelope).slice(0, -2);
}
