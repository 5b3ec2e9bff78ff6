import { DependencyError, IngestError } from "../../../core/src/errors";

/** DynamoDB error names that may pass if the request is sent again later. */
const TRANSIENT = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionConflictException",
  "TimeoutError",
  "LimitExceededException",
]);

/**
 * Classifies a DynamoDB failure: throttling, timeouts, 5xx and network errors become retryable
 * `DependencyError`s (SQS delivers the message again); a request DynamoDB refuses on its merits
 * (validation, item too large) is permanent and becomes a reject. Unknown errors count as transient:
 * a needless retry costs little, a dropped message is lost data.
 */
export function storageError(error: unknown, operation: string): IngestError {
  if (error instanceof IngestError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  const permanent =
    !TRANSIENT.has(e.name ?? "") && status !== undefined && status >= 400 && status < 500 && !e.$retryable;
  if (permanent) {
    return new IngestError(
      "storage.rejected",
      `DynamoDB refused ${operation}: ${e.name ?? "error"}: ${e.message ?? ""}`,
      {
        cause: error,
      },
    );
  }
  return new DependencyError("storage.unavailable", `DynamoDB ${operation} failed: ${e.name ?? "error"}`, {
    cause: error,
  });
}

/** Runs one DynamoDB request, classifying its failure. */
export async function storageCall<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw storageError(error, operation);
  }
}
