import { LimitError, ValidationError } from "../errors";
import type { ItemProblem } from "../http/status";
import { describeIssues, SegmentCall } from "../segment/envelope";
import { isCertainlySegmentCall } from "../sources/segment/envelope-check";
import { isJsonObject } from "./body";
import { ingestLimits, requestLimits } from "./limits";

/** A Segment call as received, checked, ready to queue. */
export type QueuedCall = Record<string, unknown>;

/** Answers list at most this many per-event problems; the message gives the full count. */
const maxListedProblems = 50;

function problemsError(
  ErrorClass: typeof ValidationError | typeof LimitError,
  code: string,
  summary: string,
  problems: ItemProblem[],
): Error {
  const listed = problems.slice(0, maxListedProblems);
  const more = problems.length > listed.length ? ` (first ${listed.length} listed)` : "";
  const first = listed[0];
  const example = first ? `: event ${first.index}: ${first.message}` : "";
  return new ErrorClass(code, `${problems.length} ${summary}${more}${example}`, { details: { problems: listed } });
}

/**
 * The JSON text of each checked call and its UTF-8 bytes, found once while measuring its size (the
 * text as sent, when the request's body gave it, else serialised) and reused when the calls are
 * packed into queue messages.
 */
const serialized = new WeakMap<QueuedCall, { text: string; bytes: number }>();

/** A call's JSON text: the one measured by `checkCalls`, or made now. */
export function callJson(call: QueuedCall): string {
  return serialized.get(call)?.text ?? JSON.stringify(call);
}

/** The UTF-8 bytes of `callJson(call)`. */
export function callJsonBytes(call: QueuedCall, json: string): number {
  const known = serialized.get(call);
  return known !== undefined && known.text === json ? known.bytes : Buffer.byteLength(json, "utf8");
}

/** The call without a `writeKey` field: a credential is never queued or stored. */
function withoutWriteKey(call: QueuedCall): QueuedCall {
  if (!Object.hasOwn(call, "writeKey")) return call;
  const { writeKey: _dropped, ...rest } = call;
  return rest;
}

/**
 * Checks the calls of one request against Segment's limits (the event count: the route's, the
 * tracking API's 2,500 unless given) and the envelope schema, and returns
 * them as they will be queued (unchanged but for a dropped `writeKey`). An envelope problem is
 * all or nothing, like Segment's own API: one malformed call refuses the whole request with 400,
 * listing every bad call by index, and nothing is queued. (Id rules and `delete` refusals, which
 * `admitCalls` applies after this, refuse a call on its own and are listed in a 200.)
 *
 * `texts` are the calls' own texts from the request body, where it gives them (`scanCallTexts`):
 * a call's text is measured and queued instead of its serialisation. Only a call over the limit by
 * its text is serialised to measure it (its serialisation can be shorter: white space, escapes).
 *
 * @example
 * const calls = checkCalls(Array.isArray(body) ? body : [body], requestLimits.webhook.maxEventsPerBatch);
 */
export function checkCalls(
  calls: readonly unknown[],
  maxEventsPerBatch: number = requestLimits.tracking.maxEventsPerBatch,
  texts: readonly (string | undefined)[] = [],
): QueuedCall[] {
  if (calls.length === 0) throw new ValidationError("batch.empty", "The batch holds no events");
  if (calls.length > maxEventsPerBatch) {
    throw new LimitError(
      "batch.too_many_events",
      `The batch holds ${calls.length} events; the limit is ${maxEventsPerBatch} events per batch`,
    );
  }

  const tooLarge: ItemProblem[] = [];
  const measured: ({ text: string; bytes: number } | undefined)[] = [];
  calls.forEach((call, index) => {
    const sent = texts[index];
    const sentBytes = sent === undefined ? Number.POSITIVE_INFINITY : Buffer.byteLength(sent, "utf8");
    const text = sentBytes <= ingestLimits.maxEventBytes ? sent : JSON.stringify(call);
    const bytes =
      text !== undefined && text === sent ? sentBytes : text === undefined ? 0 : Buffer.byteLength(text, "utf8");
    measured.push(text === undefined ? undefined : { text, bytes });
    if (bytes > ingestLimits.maxEventBytes) {
      tooLarge.push({
        index,
        message: `event is ${bytes} bytes; the limit is 32 KB (${ingestLimits.maxEventBytes} bytes)`,
      });
    }
  });
  if (tooLarge.length > 0) {
    throw problemsError(LimitError, "event.too_large", "events are over the 32 KB event limit", tooLarge);
  }

  const invalid: ItemProblem[] = [];
  const checked: QueuedCall[] = [];
  calls.forEach((call, index) => {
    if (!isJsonObject(call)) {
      invalid.push({ index, message: "a call must be a JSON object" });
      return;
    }
    // The common valid call passes the hand-written check; zod decides (and explains) the rest.
    if (!isCertainlySegmentCall(call)) {
      const result = SegmentCall.safeParse(call);
      if (!result.success) {
        invalid.push({ index, message: describeIssues(result.error) });
        return;
      }
    }
    const queued = withoutWriteKey(call);
    const text = measured[index];
    if (queued === call && text !== undefined) serialized.set(queued, text);
    checked.push(queued);
  });
  if (invalid.length > 0) {
    throw problemsError(ValidationError, "envelope.invalid", "events are not valid Segment calls", invalid);
  }
  return checked;
}
