import { describe, expect, it } from "vitest";
import { MAX_STRING_BYTES, typeCustomValue, typeCustomValues } from "../../../packages/core/src/normalize";

describe("typeCustomValue", () => {
  it("keeps strings, finite numbers, booleans, null and homogeneous arrays", () => {
    expect(typeCustomValue("trait", "plan_tier", "gold")).toEqual({ ok: true, value: "gold" });
    expect(typeCustomValue("trait", "seats", 12.5)).toEqual({ ok: true, value: 12.5 });
    expect(typeCustomValue("trait", "beta", false)).toEqual({ ok: true, value: false });
    expect(typeCustomValue("trait", "nickname", null)).toEqual({ ok: true, value: null });
    expect(typeCustomValue("trait", "roles", ["admin", "billing"])).toEqual({ ok: true, value: ["admin", "billing"] });
    expect(typeCustomValue("trait", "scores", [1, 2.5])).toEqual({ ok: true, value: [1, 2.5] });
    expect(typeCustomValue("trait", "tags", [])).toEqual({ ok: true, value: [] });
  });

  it("stores zoned times in UTC and keeps a zoneless date-like string as a plain string", () => {
    expect(typeCustomValue("trait", "last_login", "2024-05-01T14:00:00+02:00")).toEqual({
      ok: true,
      value: "2024-05-01T12:00:00.000Z",
    });
    expect(typeCustomValue("trait", "birthday", "1990-04-01")).toEqual({ ok: true, value: "1990-04-01" });
  });

  it.each([
    ["nested object", { street: "1 Main St" }, "trait.nested_object"],
    ["array of objects", [{ sku: "a" }], "trait.invalid_array"],
    ["mixed array", ["a", 1], "trait.invalid_array"],
    ["NaN", Number.NaN, "trait.invalid_number"],
    ["Infinity", Number.POSITIVE_INFINITY, "trait.invalid_number"],
    ["array with Infinity", [1, Number.POSITIVE_INFINITY], "trait.invalid_number"],
    ["oversized string", "x".repeat(MAX_STRING_BYTES + 1), "trait.too_large"],
  ])("reports a %s with its field and value", (_label, raw, code) => {
    const typed = typeCustomValue("trait", "thing", raw);
    expect(typed).toEqual({ ok: false, problem: expect.objectContaining({ code, field: "traits.thing", value: raw }) });
  });

  it("measures string size in UTF-8 bytes", () => {
    const fits = "é".repeat(MAX_STRING_BYTES / 2);
    expect(typeCustomValue("property", "note", fits).ok).toBe(true);
    expect(typeCustomValue("property", "note", `${fits}é`)).toMatchObject({
      ok: false,
      problem: { code: "property.too_large" },
    });
  });

  it("uses the property prefix for event properties", () => {
    expect(typeCustomValue("property", "cart", { items: 2 })).toMatchObject({
      ok: false,
      problem: { code: "property.nested_object", field: "properties.cart" },
    });
  });
});

describe("typeCustomValues", () => {
  it("refuses prototype keys without touching Object.prototype", () => {
    const properties = JSON.parse('{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}, "ok": 1}');
    const { entries, problems } = typeCustomValues("property", properties);
    expect(entries).toEqual([["ok", 1]]);
    expect(problems.map((p) => [p.code, p.field])).toEqual([
      ["property.forbidden_key", "properties.__proto__"],
      ["property.forbidden_key", "properties.constructor"],
    ]);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("keeps at most maxKeys values and names the rest in one problem", () => {
    const traits = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, i]));
    const { entries, problems } = typeCustomValues("trait", traits, { maxKeys: 3 });
    expect(entries.map(([key]) => key)).toEqual(["k0", "k1", "k2"]);
    expect(problems).toEqual([
      expect.objectContaining({ code: "trait.too_large", field: "traits", value: ["k3", "k4"] }),
    ]);
  });
});
