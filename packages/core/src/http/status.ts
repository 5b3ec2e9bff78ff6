import {
  AuthError,
  DependencyError,
  IngestError,
  LimitError,
  NotFoundError,
  NotImplementedError,
  ValidationError,
} from "../errors";

/**
 * The one place HTTP status codes are chosen. A class gives the default (validation 400, auth 401,
 * not found 404, dependency 503, …); a few codes need a more precise status than their class.
 */
const statusByCode: Readonly<Record<string, number>> = {
  "request.too_large": 413,
  "request.content_type_unsupported": 415,
  "request.content_encoding_unsupported": 415,
  "request.method_not_allowed": 405,
  "workspace.exists": 409,
  "source.exists": 409,
  "secret.rotation_pending": 409,
  "secret.nothing_to_retire": 409,
  "api_key.exists": 409,
  "entity_map.conflict": 409,
};

/**
 * The HTTP status that answers an error. Anything that is not an `IngestError` is a bug: 500.
 *
 * @example
 * httpStatusOf(new AuthError("segment.signature_invalid", "…")); // 401
 */
export function httpStatusOf(error: unknown): number {
  if (!(error instanceof IngestError)) return 500;
  const byCode = statusByCode[error.code];
  if (byCode !== undefined) return byCode;
  if (error instanceof ValidationError || error instanceof LimitError) return 400;
  if (error instanceof AuthError) return 401;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof DependencyError) return 503;
  if (error instanceof NotImplementedError) return 501;
  return 500;
}

/** One problem of one item of a request (an event of a batch, a row of an upload). */
export interface ItemProblem {
  index: number;
  /** The item's own reason code, when it differs by item (a batch's refused calls). */
  code?: string;
  message: string;
}

/**
 * The JSON body of every error answer. `problems` lists per-item problems when there are any. An
 * error may add public fields of its own through `details.answer` (a deleted user's `deleted_at`,
 * the report of an entity map upload with conflicts); they never replace the fields above.
 */
export interface ErrorBody {
  success: false;
  code: string;
  message: string;
  problems?: ItemProblem[];
  [field: string]: unknown;
}

/** The JSON body of a successful ingest answer. */
export const successBody = { success: true } as const;

/** Answers list at most this many refused items; the counts give the full picture. */
export const maxListedProblems = 50;

/**
 * The JSON body of an ingest answer that queued some calls and refused others on their own: the
 * counts and the refused calls (at most `listed` of them).
 *
 * @example
 * partialSuccessBody(100, [{ index: 100, code: "id.too_long", message: "userId is 2100 bytes…" }]);
 * // { success: true, accepted: 100, refused: 1, problems: [{ index: 100, code: "id.too_long", … }] }
 */
export function partialSuccessBody(accepted: number, refused: readonly ItemProblem[], listed = maxListedProblems) {
  return { success: true, accepted, refused: refused.length, problems: refused.slice(0, listed) } as const;
}

function isItemProblem(value: unknown): value is ItemProblem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ItemProblem).index === "number" &&
    typeof (value as ItemProblem).message === "string"
  );
}

/**
 * The JSON error body for an error. Server-side failures keep their code but get a generic
 * message, so internal details (configuration, stack traces) never reach a caller.
 *
 * @example
 * errorBody(new LimitError("batch.too_many_events", "A batch holds at most 2500 events"));
 * // { success: false, code: "batch.too_many_events", message: "A batch holds at most 2500 events" }
 */
export function errorBody(error: unknown): ErrorBody {
  if (!(error instanceof IngestError)) {
    return { success: false, code: "internal.error", message: "Internal error" };
  }
  const status = httpStatusOf(error);
  if (status >= 500 && !(error instanceof DependencyError)) {
    return { success: false, code: error.code, message: "Internal error" };
  }
  const answer = error.details?.answer;
  const extra = typeof answer === "object" && answer !== null && !Array.isArray(answer) ? answer : {};
  const body: ErrorBody = { ...extra, success: false, code: error.code, message: error.message };
  const problems = error.details?.problems;
  if (Array.isArray(problems) && problems.every(isItemProblem)) body.problems = problems;
  return body;
}
