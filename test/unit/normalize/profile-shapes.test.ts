import { describe, expect, it } from "vitest";
import { ACCOUNT_FIELDS, Account, accountBucket, DEFAULT_BUCKET } from "../../../packages/core/src/model/account";
import type { KnownField } from "../../../packages/core/src/model/field";
import { USER_FIELDS, User } from "../../../packages/core/src/model/user";
import {
  type FieldValue,
  materializeAccount,
  materializeUser,
  mergeFields,
  type VersionedFields,
} from "../../../packages/core/src/normalize";

const stored = (values: Record<string, FieldValue>): VersionedFields =>
  mergeFields({}, values, { t: "2024-05-01T00:00:00.000Z", m: "m1" }).fields;

const sample = { string: "text", time: "2024-05-01T12:00:00.000Z", number: 42.5, boolean: true } as const;

/** Stored fields holding a value of its type for every known field of a table. */
const everyField = (table: readonly KnownField[]) =>
  stored(Object.fromEntries(table.map((field) => [field.name, sample[field.type]])));

describe("the account and user shapes, defined once", () => {
  it.each([
    ["account", ACCOUNT_FIELDS, Account],
    ["user", USER_FIELDS, User],
  ] as const)(
    "every known %s field is a property of the schema that takes a value of its type",
    (_kind, table, schema) => {
      for (const field of table) {
        const property = schema.shape[field.name as keyof typeof schema.shape];
        expect(property, field.name).toBeDefined();
        expect(property.safeParse(sample[field.type]).success, field.name).toBe(true);
      }
    },
  );

  it("materializes stored fields into exactly the schema (the API adds last_seen_at)", () => {
    const account = materializeAccount("ws_1", "acc_1", everyField(ACCOUNT_FIELDS));
    expect(Account.strict().parse({ ...account, last_seen_at: null })).toEqual({ ...account, last_seen_at: null });
    for (const field of ACCOUNT_FIELDS) expect(account[field.name], field.name).toBe(sample[field.type]);

    const user = materializeUser("ws_1", "u1", everyField(USER_FIELDS));
    expect(User.strict().parse({ ...user, last_seen_at: null })).toEqual({ ...user, last_seen_at: null });
    for (const field of USER_FIELDS) expect(user[field.name], field.name).toBe(sample[field.type]);
    // A profile with nothing stored is still a whole shape.
    expect(Account.safeParse({ ...materializeAccount("ws_1", "a", {}), last_seen_at: null }).success).toBe(true);
    expect(User.safeParse({ ...materializeUser("ws_1", "u", {}), last_seen_at: null }).success).toBe(true);
  });
});

describe("accountBucket", () => {
  it("is churned if is_churned, else trial if is_trial, else the default bucket, as the read shows", () => {
    const cases: [Record<string, FieldValue>, string][] = [
      [{}, "subscribed"],
      [{ is_trial: true }, "trial"],
      [{ is_trial: false, is_churned: false }, "subscribed"],
      [{ is_churned: true, is_trial: true }, "churned"],
      [{ is_churned: null, is_trial: true }, "trial"],
      // A value of the wrong type (an older rule, a hand edit) reads as absent.
      [{ is_churned: "true", is_trial: 1 }, "subscribed"],
    ];
    for (const [values, bucket] of cases) {
      expect(accountBucket(stored(values)), JSON.stringify(values)).toBe(bucket);
      expect(materializeAccount("ws_1", "a", stored(values)).bucket).toBe(bucket);
    }
    expect(DEFAULT_BUCKET).toBe("subscribed");
  });
});
