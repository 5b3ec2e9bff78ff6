import { ValidationError } from "../../core/src/errors";

/**
 * Reading recorded Segment payloads for the replay tool. A file may hold one call, a JSON array of
 * calls, Segment's batch body `{ "batch": [...], "context"?, "integrations"?, "sentAt"? }`, or one
 * of those per line (JSON lines, as Segment's exports and most log pipelines write them).
 */

/** One Segment call as recorded: a JSON object (the server checks its envelope). */
export type RecordedCall = Record<string, unknown>;

/** Batch-level fields that a call of a batch inherits when it has none of its own (as `/v1/batch` does). */
const inheritedFields = ["context", "integrations", "sentAt"] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A call without a `writeKey`: recorded data should not carry a credential onwards. */
function withoutWriteKey(call: Record<string, unknown>): RecordedCall {
  const { writeKey: _dropped, ...rest } = call;
  return rest;
}

function callsOf(value: unknown, where: string): RecordedCall[] {
  if (Array.isArray(value)) {
    return value.map((item, i) => {
      if (!isObject(item)) throw new ValidationError("replay.file_invalid", `${where}: item ${i} is not a JSON object`);
      return withoutWriteKey(item);
    });
  }
  if (!isObject(value))
    throw new ValidationError("replay.file_invalid", `${where}: not a Segment call, array or batch`);
  if ("batch" in value) {
    const batch = value.batch;
    if (!Array.isArray(batch)) throw new ValidationError("replay.file_invalid", `${where}: "batch" is not an array`);
    return callsOf(batch, where).map((call) => {
      const merged: RecordedCall = { ...call };
      for (const field of inheritedFields) {
        if (merged[field] === undefined && value[field] !== undefined) merged[field] = value[field];
      }
      return merged;
    });
  }
  return [withoutWriteKey(value)];
}

/**
 * The calls a recorded file holds, in file order. Throws `replay.file_invalid` naming the file (and
 * line, for JSON lines) when something is not a call.
 *
 * @example
 * parseRecordedCalls('{"batch":[{"type":"track","event":"A","userId":"u1"}]}', "export.json");
 * // [{ type: "track", event: "A", userId: "u1" }]
 */
export function parseRecordedCalls(text: string, fileName: string): RecordedCall[] {
  const content = text.replace(/^\uFEFF/, "").trim();
  if (content === "") return [];
  let whole: unknown;
  let parsedWhole = false;
  try {
    whole = JSON.parse(content);
    parsedWhole = true;
  } catch {
    // Not one JSON document: read it as JSON lines below.
  }
  if (parsedWhole) return callsOf(whole, fileName);

  const calls: RecordedCall[] = [];
  const lines = content.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new ValidationError(
        "replay.file_invalid",
        `${fileName}:${i + 1}: not JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    calls.push(...callsOf(value, `${fileName}:${i + 1}`));
  }
  return calls;
}

/**
 * How many calls repeat a `messageId` that an earlier call of the input has (Segment's retries
 * deliver such repeats; the pipeline stores each messageId once).
 *
 * @example
 * duplicateMessageIds([{ messageId: "a" }, { messageId: "a" }, {}]); // 1
 */
export function duplicateMessageIds(calls: readonly RecordedCall[]): number {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const call of calls) {
    const id = call.messageId;
    if (typeof id !== "string" && typeof id !== "number") continue;
    const key = String(id);
    if (seen.has(key)) duplicates += 1;
    else seen.add(key);
  }
  return duplicates;
}
