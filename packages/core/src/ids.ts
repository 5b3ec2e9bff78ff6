/**
 * The id rules, defined once (spec 2 "Ids"): every customer id that can become part of a DynamoDB
 * key (userId, anonymousId, groupId, previousId, messageId, the account ids a call names in
 * `context`, `traits` or `properties`, entity map ids, and ids in read API paths) is
 *
 * - trimmed of leading and trailing white space (`" u "` is `"u"`), and empty after trimming means
 *   absent: a blank id never becomes a user of its own;
 * - well-formed Unicode: a lone UTF-16 surrogate (`"s\ud800"`) cannot be written in UTF-8, so it
 *   could be stored but never named again in a URL;
 * - at most `maxIdBytes` bytes of UTF-8.
 *
 * The byte limit comes from the key design (`packages/aws/src/dynamo/keys.ts`): DynamoDB refuses a
 * sort key over 1,024 bytes and a partition key over 2,048. The longest fixed part put in front of an
 * id in a sort key is `MAP#<source, 64>#` (69 bytes), and a reject's sort key holds a message id, a
 * code and a field; 512 bytes for the id leaves more than 400 bytes of headroom in every key, far
 * beyond any real id (Segment's own are 36-character UUIDs).
 *
 * Event names are not part of any key, so only the 32 KB event limit applies to them.
 */

/** The most bytes of UTF-8 an id may have. */
export const maxIdBytes = 512;

/** Why an id was refused. */
export type IdRuleCode = "id.too_long" | "id.malformed";

/** What the rules make of one id value. */
export type IdReading =
  | { kind: "absent" }
  | { kind: "ok"; id: string }
  | { kind: "refused"; code: IdRuleCode; message: string }
  /** Not a string or a number: the envelope schema (or the normalizer's `id.invalid`) reports it. */
  | { kind: "wrong_type" };

/** A lone high surrogate (not followed by a low one) or a lone low surrogate (not preceded by a high one). */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The text of a string or number id, trimmed; undefined when blank. No other rule is applied: for
 * code that runs after the rules were checked (the normalizer, behind ingest).
 *
 * @example
 * idText(" u1 "); // "u1"
 * idText(7);      // "7"
 */
export function idText(value: string | number): string | undefined {
  const id = typeof value === "number" ? String(value) : value.trim();
  return id === "" ? undefined : id;
}

/**
 * Reads one id value by the rules: numbers become strings, strings are trimmed; absent, null and
 * blank give `absent`.
 *
 * @example
 * readIdValue(" u1 ");           // { kind: "ok", id: "u1" }
 * readIdValue("   ");            // { kind: "absent" }
 * readIdValue(42);               // { kind: "ok", id: "42" }
 * readIdValue("x".repeat(600));  // { kind: "refused", code: "id.too_long", … }
 * readIdValue("s\ud800");        // { kind: "refused", code: "id.malformed", … }
 */
export function readIdValue(value: unknown): IdReading {
  if (value === undefined || value === null) return { kind: "absent" };
  if (typeof value === "number")
    return Number.isFinite(value) ? { kind: "ok", id: String(value) } : { kind: "wrong_type" };
  if (typeof value !== "string") return { kind: "wrong_type" };
  const id = idText(value);
  if (id === undefined) return { kind: "absent" };
  if (loneSurrogate.test(id)) {
    return { kind: "refused", code: "id.malformed", message: "is not well-formed Unicode (it holds a lone surrogate)" };
  }
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > maxIdBytes) {
    return {
      kind: "refused",
      code: "id.too_long",
      message: `is ${bytes} bytes of UTF-8; an id is at most ${maxIdBytes}`,
    };
  }
  return { kind: "ok", id };
}

/**
 * The id a value stands for, or undefined when it is absent or breaks a rule. For code that has
 * already refused bad ids (ingest does) and only needs the canonical form.
 *
 * @example
 * canonicalId(" u1 "); // "u1"
 */
export function canonicalId(value: unknown): string | undefined {
  const reading = readIdValue(value);
  return reading.kind === "ok" ? reading.id : undefined;
}

/** One id of a call that breaks a rule. */
export interface IdProblem {
  code: IdRuleCode;
  /** Where the id is in the call, e.g. `userId` or `context.groupId`. */
  field: string;
  message: string;
}

function own(source: unknown, key: string): unknown {
  return typeof source === "object" && source !== null && !Array.isArray(source) && Object.hasOwn(source, key)
    ? (source as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Every id of a Segment call that can end up in a storage key, with where it is: the top-level ids,
 * and the account ids the normalizer reads (spec 3.3) from `context` (every call type), `traits`
 * (identify) and `properties` (track, page, screen). Own properties only: nothing is read through
 * `__proto__`.
 */
export function callIds(call: Record<string, unknown>): { field: string; value: unknown }[] {
  const ids: { field: string; value: unknown }[] = [];
  for (const field of ["messageId", "userId", "anonymousId", "groupId", "previousId"]) {
    ids.push({ field, value: own(call, field) });
  }
  const context = own(call, "context");
  ids.push({ field: "context.groupId", value: own(context, "groupId") });
  ids.push({ field: "context.group_id", value: own(context, "group_id") });
  const type = own(call, "type");
  if (type === "identify") {
    const traits = own(call, "traits");
    ids.push({ field: "traits.company.id", value: own(own(traits, "company"), "id") });
    ids.push({ field: "traits.companyId", value: own(traits, "companyId") });
    ids.push({ field: "traits.account_id", value: own(traits, "account_id") });
  }
  if (type === "track" || type === "page" || type === "screen") {
    const properties = own(call, "properties");
    ids.push({ field: "properties.account_id", value: own(properties, "account_id") });
    ids.push({ field: "properties.groupId", value: own(properties, "groupId") });
  }
  return ids.filter((id) => id.value !== undefined);
}

/**
 * The ids of a call that break a rule (too long, not well-formed), in field order. Wrong types are
 * not listed: the envelope schema refuses them at the top level, and the normalizer records an
 * `id.invalid` problem for an account id of the wrong type.
 *
 * @example
 * callIdProblems({ type: "track", event: "E", userId: "x".repeat(2100) });
 * // [{ code: "id.too_long", field: "userId", message: "userId is 2100 bytes of UTF-8; an id is at most 512" }]
 */
export function callIdProblems(call: Record<string, unknown>): IdProblem[] {
  const problems: IdProblem[] = [];
  for (const { field, value } of callIds(call)) {
    const reading = readIdValue(value);
    if (reading.kind === "refused")
      problems.push({ code: reading.code, field, message: `${field} ${reading.message}` });
  }
  return problems;
}
