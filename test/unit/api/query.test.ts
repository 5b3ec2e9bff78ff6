import { describe, expect, it } from "vitest";
import {
  AccountListQuery,
  EntityMapUploadQuery,
  EventListQuery,
  NoQuery,
  parseQuery,
  queryParameters,
} from "../../../packages/core/src/api/query";

const invalid = (pattern: RegExp) =>
  expect.objectContaining({ code: "query.invalid", message: expect.stringMatching(pattern) });

describe("query parameters", () => {
  it("defaults limit to 50 and accepts 1 to 500", () => {
    expect(parseQuery(AccountListQuery, {})).toEqual({ limit: 50 });
    expect(parseQuery(AccountListQuery, { limit: "1" }).limit).toBe(1);
    expect(parseQuery(AccountListQuery, { limit: "500" }).limit).toBe(500);
  });

  it("refuses a limit out of range or not a whole number", () => {
    for (const limit of ["0", "501", "-3", "2.5", "ten", ""]) {
      expect(() => parseQuery(AccountListQuery, { limit })).toThrowError(invalid(/limit/));
    }
  });

  it("refuses an unknown bucket and unknown parameters, naming them", () => {
    expect(parseQuery(AccountListQuery, { bucket: "trial" }).bucket).toBe("trial");
    expect(() => parseQuery(AccountListQuery, { bucket: "gold" })).toThrowError(invalid(/bucket/));
    expect(() => parseQuery(AccountListQuery, { bukcet: "trial" })).toThrowError(
      invalid(/unknown query parameter.*bukcet/),
    );
    expect(() => parseQuery(NoQuery, { limit: "5" })).toThrowError(invalid(/limit/));
  });

  it("reads times with a zone as UTC with milliseconds, and refuses zone-less or unparsable ones", () => {
    expect(parseQuery(EventListQuery, { from: "2024-05-01T02:00:00+02:00", to: "2024-06-01T00:00:00Z" })).toEqual({
      limit: 50,
      from: "2024-05-01T00:00:00.000Z",
      to: "2024-06-01T00:00:00.000Z",
    });
    // An unencoded `+` in a query string arrives as a space.
    expect(parseQuery(EventListQuery, { from: "2024-05-01T02:00:00 02:00" }).from).toBe("2024-05-01T00:00:00.000Z");
    expect(() => parseQuery(EventListQuery, { from: "2024-05-01T00:00:00" })).toThrowError(
      invalid(/from needs a time zone/),
    );
    expect(() => parseQuery(EventListQuery, { to: "2024-05-01" })).toThrowError(invalid(/to needs a time zone/));
    expect(() => parseQuery(EventListQuery, { to: "yesterday" })).toThrowError(invalid(/to is not an ISO-8601 time/));
    expect(() => parseQuery(EventListQuery, { from: "2024-02-30T00:00:00Z" })).toThrowError(invalid(/from/));
  });

  it("refuses a range whose from is not before to", () => {
    const at = "2024-05-01T00:00:00Z";
    expect(() => parseQuery(EventListQuery, { from: at, to: at })).toThrowError(invalid(/from must be before to/));
  });

  it("reads upload flags as booleans", () => {
    expect(parseQuery(EntityMapUploadQuery, {})).toEqual({ dry_run: false, replace: false });
    expect(parseQuery(EntityMapUploadQuery, { dry_run: "true", replace: "false" })).toEqual({
      dry_run: true,
      replace: false,
    });
    expect(() => parseQuery(EntityMapUploadQuery, { dry_run: "yes" })).toThrowError(invalid(/dry_run/));
  });

  it("splits a query string and refuses a parameter given twice", () => {
    expect(queryParameters("limit=10&from=2024-05-01T00%3A00%3A00%2B02%3A00")).toEqual({
      limit: "10",
      from: "2024-05-01T00:00:00+02:00",
    });
    expect(queryParameters(undefined)).toEqual({});
    expect(() => queryParameters("limit=1&limit=2")).toThrowError(invalid(/limit is given more than once/));
  });
});

describe("strict query parsing (issue 16)", () => {
  it("takes limit only as a decimal integer: no hex, exponent, sign, spaces or Infinity", () => {
    for (const limit of ["0x10", "1e2", " 5", "5 ", "+5", "05.0", "Infinity", "1_0", "١٠"]) {
      expect(() => parseQuery(AccountListQuery, { limit }), limit).toThrowError(invalid(/limit.*decimal integer/));
    }
    expect(parseQuery(AccountListQuery, { limit: "010" }).limit).toBe(10);
  });

  it("keeps parameters in an object without a prototype, so __proto__ and constructor are unknown names", () => {
    const params = queryParameters("__proto__=1&constructor=2&limit=5");
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect(Object.keys(params)).toEqual(["__proto__", "constructor", "limit"]);
    expect(() => parseQuery(AccountListQuery, queryParameters("__proto__=1"))).toThrowError(
      invalid(/unknown query parameter.*__proto__/),
    );
    expect(() => parseQuery(AccountListQuery, queryParameters("constructor=1&limit=2"))).toThrowError(
      invalid(/unknown query parameter.*constructor/),
    );
    expect(parseQuery(AccountListQuery, queryParameters("limit=7&bucket=trial"))).toEqual({
      limit: 7,
      bucket: "trial",
    });
  });
});
