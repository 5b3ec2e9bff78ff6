/**
 * The per-call rules of ingest that refuse one call and not its neighbours (spec 2): the id rules
 * (`ids.ts`) and who may send `delete`. They run after `checkCalls` accepted the request's
 * envelopes, so every call here is a valid Segment call.
 */
import { ValidationError } from "../errors";
import { type ItemProblem, maxListedProblems } from "../http/status";
import { callIdProblems, type IdProblem, maxIdBytes } from "../ids";
import type { QueuedCall } from "./calls";
import type { SignatureCoverage } from "./signature";

/** Where a request's calls came from, as far as `delete` is concerned. */
export interface CallOrigin {
  /** True for a call covered by a webhook signature, or vouched for by the source's bearer token. */
  mayDelete(index: number): boolean;
  /** Why a `delete` at this index is refused (the answer's message). */
  deleteRefusal(index: number): string;
}

/** The calls of a request that may be queued, and those refused (by index in the request). */
export interface Admission {
  admitted: QueuedCall[];
  refused: (ItemProblem & { code: string })[];
}

/**
 * Judges each call on its own: a call that breaks an id rule (`id.too_long`, `id.malformed`) or a
 * `delete` the origin may not send (`delete.not_allowed`) is refused; every other call is admitted.
 * When nothing is admitted the request is refused: one call's own code for a single call, else the
 * code the refused calls share (or `batch.refused`), listing them.
 *
 * @example
 * const { admitted, refused } = admitCalls(calls, trackingOrigin);
 */
export function admitCalls(calls: readonly QueuedCall[], origin: CallOrigin, single: boolean): Admission {
  const admitted: QueuedCall[] = [];
  const refused: Admission["refused"] = [];
  for (let index = 0; index < calls.length; index++) {
    const call = calls[index] as QueuedCall;
    const [idProblem] = idsCertainlyPass(call) ? noProblems : callIdProblems(call);
    if (idProblem) {
      refused.push({ index, code: idProblem.code, message: idProblem.message });
      continue;
    }
    if (call.type === "delete" && !origin.mayDelete(index)) {
      refused.push({ index, code: "delete.not_allowed", message: origin.deleteRefusal(index) });
      continue;
    }
    admitted.push(call);
  }
  if (admitted.length === 0 && refused.length > 0) throw refusedRequest(refused, single);
  return { admitted, refused };
}

const noProblems: readonly IdProblem[] = [];

/** A string id short enough that no UTF-8 form of it can pass the byte limit (3 bytes a UTF-16 unit at most). */
const surelyShortIdLength = Math.floor(maxIdBytes / 3);

/** Node's `String.prototype.isWellFormed` (ES2024): false when a string holds a lone surrogate. */
const isWellFormed = (text: string) => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** A value the id rules cannot refuse: not a string (the envelope judges types), or a short well-formed one. */
function idValuePasses(value: unknown): boolean {
  return typeof value !== "string" || (value.length <= surelyShortIdLength && isWellFormed(value));
}

/**
 * The fast path of the id rules: true only when `callIdProblems` finds nothing, with no
 * allocation. It looks at every place `callIds` reads an id (and, whatever the call's type, at
 * all of them): only a string can break a rule, and a short well-formed string breaks none. Anything
 * else is left to `callIdProblems`, which decides and explains (test/unit/sources/ingest-fast-path.test.ts
 * holds the two to the same answers).
 */
function idsCertainlyPass(call: QueuedCall): boolean {
  if (
    !idValuePasses(call.messageId) ||
    !idValuePasses(call.userId) ||
    !idValuePasses(call.anonymousId) ||
    !idValuePasses(call.groupId) ||
    !idValuePasses(call.previousId)
  ) {
    return false;
  }
  const { context, traits, properties } = call as Record<string, Record<string, unknown> | undefined>;
  if (typeof context === "object" && context !== null) {
    if (!idValuePasses(context.groupId) || !idValuePasses(context.group_id)) return false;
  }
  if (typeof traits === "object" && traits !== null) {
    const company = traits.company as Record<string, unknown> | undefined;
    if (typeof company === "object" && company !== null && !idValuePasses(company.id)) return false;
    if (!idValuePasses(traits.companyId) || !idValuePasses(traits.account_id)) return false;
  }
  if (typeof properties === "object" && properties !== null) {
    if (!idValuePasses(properties.account_id) || !idValuePasses(properties.groupId)) return false;
  }
  return true;
}

function refusedRequest(refused: Admission["refused"], single: boolean): ValidationError {
  const first = refused[0] as Admission["refused"][number];
  const problems = refused.slice(0, maxListedProblems);
  if (single) return new ValidationError(first.code, first.message, { details: { problems } });
  const codes = new Set(refused.map((r) => r.code));
  const code = codes.size === 1 ? first.code : "batch.refused";
  const more = refused.length > problems.length ? ` (first ${problems.length} listed)` : "";
  return new ValidationError(
    code,
    `all ${refused.length} events were refused${more}: event ${first.index}: ${first.message}`,
    {
      details: { problems },
    },
  );
}

/** The tracking API's origin: its write key is public (analytics.js puts it in web pages). */
export const trackingOrigin: CallOrigin = {
  mayDelete: () => false,
  deleteRefusal: () =>
    "delete is accepted only from signed Segment webhook deliveries, never with the public write key",
};

/**
 * A webhook delivery's origin: every call is signed when the signature covers the body; with an
 * Actions batch signed on its first element only, the calls after it are vouched for only by the
 * source's bearer token, when the source has one (it was checked before this runs).
 */
export function webhookOrigin(coverage: SignatureCoverage, hasBearerToken: boolean): CallOrigin {
  return new WebhookOrigin(coverage === "body" || hasBearerToken);
}

/** `webhookOrigin`'s answer (a class: one per request, with no closures to make). */
class WebhookOrigin implements CallOrigin {
  constructor(private readonly allCovered: boolean) {}
  mayDelete(index: number): boolean {
    return this.allCovered || index === 0;
  }
  deleteRefusal(): string {
    return "this delete is not covered by the signature (only the first call of a batch is) and the source has no bearer token; send it signed on its own, or configure the source's bearer token";
  }
}
