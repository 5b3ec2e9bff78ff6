/**
 * What the two Segment sources (the webhook and the tracking API) share at ingest: the same calls,
 * checked the same way. Only how a request is verified and read differs, and that each source's
 * folder owns. (Their shared decoding is `decode.ts`, loaded by normalize only.)
 */
import { admitCalls, type CallOrigin as DeleteOrigin } from "../../ingest/call-admission";
import { type CallMeasures, checkCalls, type QueuedCall } from "../../ingest/calls";
import type { ReceivedCalls } from "../source";
import type { CallTexts } from "./call-texts";

/**
 * The calls of a Segment request to queue: the envelope of every call checked (all or nothing:
 * `checkCalls`, measured and queued by their own texts when given), then each call judged on its
 * own (id rules, who may send `delete`: `admitCalls`),
 * then `prepare`d (the tracking API corrects clock skew).
 *
 * @example
 * const { calls, refused } = admitSegmentCalls(sent, { maxEventsPerBatch: 4000, origin, single: false });
 */
export function admitSegmentCalls(
  sent: readonly unknown[],
  options: {
    maxEventsPerBatch: number;
    origin: DeleteOrigin;
    single: boolean;
    /** The calls' own texts from the body (`scanCallTexts`), queued instead of re-serialising them. */
    texts?: CallTexts;
    prepare?: (call: QueuedCall) => QueuedCall;
  },
): Pick<ReceivedCalls, "calls" | "refused" | "measures"> {
  // The calls' own texts are only of use when the calls are queued unchanged.
  const measures: CallMeasures | undefined = options.texts && !options.prepare ? new Map() : undefined;
  const { admitted, refused } = admitCalls(
    checkCalls(sent, options.maxEventsPerBatch, options.texts, measures),
    options.origin,
    options.single,
  );
  const prepare = options.prepare;
  return { calls: prepare ? admitted.map((call) => prepare(call)) : admitted, refused, measures };
}
