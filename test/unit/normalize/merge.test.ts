import { describe, expect, it } from "vitest";
import { compareStamps, mergeFields, type VersionedFields } from "../../../packages/core/src/normalize";

const T1 = "2024-05-01T10:00:00.000Z";
const T2 = "2024-05-01T11:00:00.000Z";

describe("mergeFields", () => {
  it("adds new fields and replaces older ones", () => {
    const stored: VersionedFields = { plan_name: { v: "free", t: T1, m: "m1" } };
    const result = mergeFields(stored, { plan_name: "pro", mrr: 99 }, { t: T2, m: "m2" });
    expect(result).toEqual({
      fields: { plan_name: { v: "pro", t: T2, m: "m2" }, mrr: { v: 99, t: T2, m: "m2" } },
      changed: true,
      changedFields: ["plan_name", "mrr"],
    });
    expect(stored.plan_name?.v).toBe("free");
  });

  it("does not let a late, older write overwrite a newer value, but fills empty fields", () => {
    const stored: VersionedFields = { plan_name: { v: "pro", t: T2, m: "m2" } };
    const result = mergeFields(stored, { plan_name: "free", industry: "Retail" }, { t: T1, m: "m1" });
    expect(result.fields).toEqual({
      plan_name: { v: "pro", t: T2, m: "m2" },
      industry: { v: "Retail", t: T1, m: "m1" },
    });
    expect(result.changedFields).toEqual(["industry"]);
  });

  it("keeps null as a tombstone an older write cannot resurrect", () => {
    const cleared = mergeFields({ industry: { v: "Retail", t: T1, m: "m1" } }, { industry: null }, { t: T2, m: "m2" });
    expect(cleared.fields.industry).toEqual({ v: null, t: T2, m: "m2" });
    const late = mergeFields(cleared.fields, { industry: "Retail" }, { t: T1, m: "m0" });
    expect(late.fields.industry?.v).toBeNull();
    expect(late.changed).toBe(false);
  });

  it("is idempotent: a replay changes nothing", () => {
    const once = mergeFields({}, { name: "Acme" }, { t: T1, m: "m1" });
    const twice = mergeFields(once.fields, { name: "Acme" }, { t: T1, m: "m1" });
    expect(twice).toEqual({ fields: once.fields, changed: false, changedFields: [] });
  });

  it("breaks time ties by messageId, so both orders agree", () => {
    const a = { t: T1, m: "msg-a" };
    const b = { t: T1, m: "msg-b" };
    const ab = mergeFields(mergeFields({}, { name: "A" }, a).fields, { name: "B" }, b).fields;
    const ba = mergeFields(mergeFields({}, { name: "B" }, b).fields, { name: "A" }, a).fields;
    expect(ab).toEqual(ba);
    expect(ab.name?.v).toBe("B");
    expect(compareStamps(a, b)).toBe(-1);
  });

  it("treats field names as data, never as prototype keys", () => {
    const stored = JSON.parse('{"__proto__": {"v": 1, "t": "x", "m": "y"}}') as VersionedFields;
    const result = mergeFields(stored, { "traits.x": 1 }, { t: T1, m: "m1" });
    expect(Object.getPrototypeOf(result.fields)).toBe(Object.prototype);
    expect(Object.keys(result.fields)).toEqual(["__proto__", "traits.x"]);
  });
});
