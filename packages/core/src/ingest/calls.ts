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

/** A call's JSON text, its UTF-8 bytes, and whether SQS takes it unescaped (false: not known). */
export interface MeasuredCall {
  text: string;
  bytes: number;
  sqsSafe: boolean;
}

/**
 * The JSON text of each checked call of one request, found once while measuring its size (the text
 * as sent, when the request's body gave it) and reused when the calls are packed into queue
 * messages. One plain map per request, dropped with it: a WeakMap's entries cost the garbage
 * collector more (a long-lived one more than it saved, a per-request one still more than a Map).
 */
export type CallMeasures = Map<QueuedCall, MeasuredCall>;

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
 * a call's text is measured instead of its serialisation, and kept in `measures` to be queued. Only a call over the limit by
 * its text is serialised to measure it (its serialisation can be shorter: white space, escapes).
 *
 * @example
 * const calls = checkCalls(Array.isArray(body) ? body : [body], requestLimits.webhook.maxEventsPerBatch);
 */
export function checkCalls(
  calls: readonly unknown[],
  maxEventsPerBatch: number = requestLimits.tracking.maxEventsPerBatch,
  texts: readonly (MeasuredCall | undefined)[] = [],
  measures?: CallMeasures,
): QueuedCall[] {
  if (calls.length === 0) throw new ValidationError("batch.empty", "The batch holds no events");
  if (calls.length > maxEventsPerBatch) {
    throw new LimitError(
      "batch.too_many_events",
      `The batch holds ${calls.length} events; the limit is ${maxEventsPerBatch} events per batch`,
    );
  }

  const tooLarge: ItemProblem[] = [];
  const measured: (MeasuredCall | undefined)[] = [];
  calls.forEach((call, index) => {
    let known = texts[index];
    // A text over the limit is measured again as serialised: white space and escapes may be all it is over by.
    if (known === undefined || known.bytes > ingestLimits.maxEventBytes) {
      const text = JSON.stringify(call);
      known = text === undefined ? undefined : { text, bytes: Buffer.byteLength(text, "utf8"), sqsSafe: false };
    }
    measured.push(known);
    const bytes = known?.bytes ?? 0;
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
    if (measures !== undefined && queued === call && text !== undefined) measures.set(queued, text);
    checked.push(queued);
  });
  if (invalid.length > 0) {
    throw problemsError(ValidationError, "envelope.invalid", "events are not valid Segment calls", invalid);
  }
  return checked;
}
