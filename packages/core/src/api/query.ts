/**
 * Query parameters of the read API: parsed and checked in one place, so a bad value is a 400
 * (`query.invalid`) naming the parameter, never a crash or a silently ignored filter.
 */
import { z } from "zod";
import { ValidationError } from "../errors";
import { readTime } from "../normalize/time";
import { Bucket } from "./schemas";

/** Page sizes: `limit` defaults to this… */
export const defaultPageSize = 50;
/** …and may be at most this. */
export const maxPageSize = 500;

/**
 * A decimal integer as query text: digits only. No sign, spaces, exponent, hex or `Infinity`, all of
 * which a number coercion would quietly read (`0x10` as 16, `1e2` as 100, ` 5` as 5).
 */
const DecimalInteger = z
  .string()
  .regex(/^[0-9]{1,9}$/, "must be a decimal integer (digits only)")
  .transform(Number);

const Limit = DecimalInteger.pipe(z.number().int().min(1).max(maxPageSize))
  .default(defaultPageSize)
  .describe(`Items per page, 1-${maxPageSize} (default ${defaultPageSize})`);

const Cursor = z.string().min(1).max(4096).describe("The `next_cursor` of the previous page").optional();

/**
 * A zoned ISO-8601 time, normalised to UTC with milliseconds; a time without a zone is refused. A `+`
 * left unencoded in a query string arrives as a space (`…T02:00:00 02:00`); it is read back as `+`.
 */
const QueryTime = z
  .string()
  .transform((text, ctx) => {
    const reading = readTime(text.replace(/^(\S+T\S+) (\d{2}(?::?\d{2})?)$/, "$1+$2"));
    if (reading.kind === "zoned") return reading.iso;
    ctx.addIssue({
      code: "custom",
      message:
        reading.kind === "no_zone"
          ? "needs a time zone (e.g. 2024-05-01T00:00:00Z)"
          : "is not an ISO-8601 time (e.g. 2024-05-01T00:00:00Z)",
    });
    return z.NEVER;
  })
  .meta({ format: "date-time" });

const Flag = z.enum(["true", "false"]).transform((v) => v === "true");

export const PageQuery = z.strictObject({ limit: Limit, cursor: Cursor });

export const AccountListQuery = PageQuery.extend({
  bucket: Bucket.optional().describe("Only accounts in this bucket; all accounts when absent"),
});

export const EventListQuery = PageQuery.extend({
  from: QueryTime.optional().describe("Events at or after this time (inclusive)"),
  to: QueryTime.optional().describe("Events before this time (exclusive)"),
}).refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
  message: "from must be before to",
  path: ["from"],
});

export const RejectListQuery = PageQuery.extend({
  code: z.string().min(1).max(200).optional().describe("Only rejects with this reason code"),
});

export const EntityMapListQuery = PageQuery.extend({
  source: z.string().min(1).max(64).optional().describe("Only maps of this source"),
  kind: z.enum(["user", "account"]).optional().describe("Only maps of this kind"),
});

export const EntityMapUploadQuery = z.strictObject({
  dry_run: Flag.default(false).describe("Report what the upload would change, and write nothing"),
  replace: Flag.default(false).describe("Let the upload change entries that map to another canonical id"),
});

export const NoQuery = z.strictObject({});

/** `GET /v1/accounts/{accountId}` and `GET /v1/users/{userId}`. */
export const ProfileQuery = z.strictObject({
  provenance: Flag.default(false).describe("Add `provenance`: the source, call and time that set each field"),
});

/** Path parameters of `DELETE /v1/entity-maps/{source}/{kind}/{externalId}`. */
export const EntityMapPath = z.object({
  source: z.string().min(1).max(64),
  kind: z.enum(["user", "account"]),
  externalId: z.string().min(1).max(1024),
});

/**
 * The query string of a request as one value per name, in an object without a prototype. A name
 * given twice is refused: which one should win is not obvious, and a client that sends both has a
 * bug worth hearing about.
 *
 * @example
 * queryParameters("limit=10&bucket=trial"); // { limit: "10", bucket: "trial" }
 */
export function queryParameters(rawQueryString: string | undefined): Record<string, string> {
  // No prototype: `__proto__` or `constructor` is a parameter name like any other, and unknown.
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(rawQueryString ?? "")) {
    if (Object.hasOwn(params, name)) {
      throw new ValidationError("query.invalid", `query parameter ${name} is given more than once`);
    }
    params[name] = value;
  }
  return params;
}

/**
 * Parses query parameters with a schema; every problem is reported in one 400 `query.invalid`.
 *
 * @example
 * parseQuery(EventListQuery, { from: "2024-05-01T00:00:00+02:00" });
 * // { limit: 50, from: "2024-04-30T22:00:00.000Z" }
 * parseQuery(EventListQuery, { from: "2024-05-01T00:00:00" }); // throws query.invalid
 */
export function parseQuery<T extends z.ZodType>(schema: T, params: Record<string, unknown>): z.output<T> {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  throw new ValidationError("query.invalid", describeQueryIssues(parsed.error, "query parameter"));
}

/**
 * Parses path parameters with a schema (400 `path.invalid`).
 *
 * @example
 * parsePath(EntityMapPath, { source: "salesforce", kind: "account", externalId: "001A" });
 */
export function parsePath<T extends z.ZodType>(schema: T, params: Record<string, unknown>): z.output<T> {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  throw new ValidationError("path.invalid", describeQueryIssues(parsed.error, "path parameter"));
}

function describeQueryIssues(error: z.ZodError, what: string): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") return `unknown ${what}(s): ${issue.keys.join(", ")}`;
      const name = issue.path.join(".");
      if (issue.code === "custom") return `${name} ${issue.message}`;
      return `${what} ${name}: ${issue.message}`;
    })
    .join("; ");
}
