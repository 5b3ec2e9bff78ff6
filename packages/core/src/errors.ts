/**
 * The one error type of the project. Every failure that crosses a module boundary is an
 * `IngestError` (or a subclass) with a stable, dotted `code` that clients and logs can rely on,
 * a `retryable` flag that decides whether SQS should deliver the message again, and the `cause`.
 *
 * @example
 * throw new ValidationError("envelope.invalid", "track call needs an event name");
 */
export class IngestError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** Input that can never succeed as sent: bad JSON, schema violations, limits exceeded. */
export class ValidationError extends IngestError {}

/** Missing or wrong credentials. */
export class AuthError extends IngestError {}

/** A workspace, source or entity that does not exist. */
export class NotFoundError extends IngestError {}

/** Request or payload larger than a limit. */
export class LimitError extends IngestError {}

/** A dependency (DynamoDB, SQS) failed in a way that may pass: throttling, timeouts, 5xx. */
export class DependencyError extends IngestError {
  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { ...options, retryable: true });
  }
}

/** Configuration that cannot run: every problem is listed in `details.problems`. */
export class ConfigError extends IngestError {}

/** A thing the product does not do yet (answered 501). */
export class NotImplementedError extends IngestError {}
