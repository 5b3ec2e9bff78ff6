import { describe, expect, it } from "vitest";
import { normalizeCall } from "../../../packages/core/src/normalize";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";

const meta = { workspaceId: "ws_1", source: "product", receivedAt: "2024-05-01T12:00:05.000Z" };

/** As the handler sees a call: JSON text through the envelope schema. */
function parse(json: string): SegmentCall {
  return SegmentCall.parse(JSON.parse(json));
}

describe("normalizeCall: group → account", () => {
  const group = parse(`{
    "type": "group", "messageId": "grp-1", "userId": 1001, "groupId": 42,
    "timestamp": "2024-05-01T12:00:00.000Z", "writeKey": "wk_secret",
    "traits": {
      "name": "Acme Rockets", "description": "We make rockets", "website": "acme.example.com",
      "industry": "Aerospace", "logo": "https://cdn.example.com/acme.png", "mrr": "49.5",
      "createdAt": "2021-03-04T05:06:07Z", "trialStartDate": "2024-04-01T00:00:00Z",
      "trial_end": "2024-05-15T00:00:00+02:00", "isTrial": "TRUE", "isChurned": false,
      "nextRenewalDate": "2025-05-01T00:00:00Z", "plan": "Growth", "seats": 25, "regions": ["eu", "us"]
    }
  }`);

  it("maps camelCase and alias traits to canonical account fields, custom traits under traits.*", () => {
    const n = normalizeCall(group, meta);
    expect(n.profiles).toEqual([
      {
        kind: "account",
        id: "42",
        fields: {
          name: "Acme Rockets",
          company_bio: "We make rockets",
          website: "acme.example.com",
          industry: "Aerospace",
          avatar_url: "https://cdn.example.com/acme.png",
          mrr: 49.5,
          created_at: "2021-03-04T05:06:07.000Z",
          trial_start_date: "2024-04-01T00:00:00.000Z",
          trial_expiry_date: "2024-05-14T22:00:00.000Z",
          is_trial: true,
          is_churned: false,
          next_renewal_date: "2025-05-01T00:00:00.000Z",
          plan_name: "Growth",
          "traits.seats": 25,
          "traits.regions": ["eu", "us"],
        },
      },
    ]);
    expect(n.problems).toEqual([]);
  });

  it("turns numeric ids into strings and links the user to the account", () => {
    const n = normalizeCall(group, meta);
    expect(n.memberships).toEqual([{ accountId: "42", userId: "1001" }]);
    expect(n.messageId).toBe("grp-1");
    expect(n.stamp).toEqual({ t: "2024-05-01T12:00:00.000Z", m: "grp-1" });
    expect(n.event).toBeNull();
  });

  it("never carries the writeKey", () => {
    expect(JSON.stringify(normalizeCall(group, meta))).not.toContain("wk_secret");
  });

  it("lets the canonical name win over an alias, even when the canonical value is null", () => {
    const call = parse(`{ "type": "group", "groupId": "a1", "messageId": "m",
      "traits": { "plan": "Old", "plan_name": "New", "trialEndDate": "2024-01-01T00:00:00Z", "trial_expiry_date": null,
                  "avatar": "https://a.example/1.png", "logo": "https://a.example/2.png" } }`);
    expect(normalizeCall(call, meta).profiles[0]?.fields).toEqual({
      plan_name: "New",
      trial_expiry_date: null,
      avatar_url: "https://a.example/1.png",
    });
  });

  it("reports known fields of the wrong type instead of writing them", () => {
    const call = parse(`{ "type": "group", "groupId": "a1", "messageId": "m", "traits": {
      "name": "Acme", "mrr": "a lot", "is_trial": "yes", "is_churned": 1, "created_at": "2024-05-01 10:00:00",
      "trial_start_date": "last week", "next_renewal_date": 1714564800, "website": { "url": "x" } } }`);
    const n = normalizeCall(call, meta);
    expect(n.profiles[0]?.fields).toEqual({ name: "Acme" });
    expect(n.problems.map((p) => [p.code, p.field])).toEqual([
      ["trait.invalid_type", "traits.website"],
      ["trait.invalid_type", "traits.mrr"],
      ["time.no_zone", "traits.created_at"],
      ["time.invalid", "traits.trial_start_date"],
      ["trait.invalid_type", "traits.is_trial"],
      ["trait.invalid_type", "traits.is_churned"],
      ["time.invalid", "traits.next_renewal_date"],
    ]);
    expect(n.problems.find((p) => p.field === "traits.mrr")?.value).toBe("a lot");
  });

  it("leaves out nested objects, arrays of objects and mixed arrays but stores the rest", () => {
    const call = parse(`{ "type": "group", "groupId": "a1", "messageId": "m", "traits": {
      "name": "Acme", "address": { "city": "Berlin" }, "contracts": [{ "id": 1 }], "mixed": ["a", 2], "ok": true } }`);
    const n = normalizeCall(call, meta);
    expect(n.profiles[0]?.fields).toEqual({ name: "Acme", "traits.ok": true });
    expect(n.problems).toEqual([
      expect.objectContaining({ code: "trait.nested_object", field: "traits.address", value: { city: "Berlin" } }),
      expect.objectContaining({ code: "trait.invalid_array", field: "traits.contracts", value: [{ id: 1 }] }),
      expect.objectContaining({ code: "trait.invalid_array", field: "traits.mixed", value: ["a", 2] }),
    ]);
  });

  it("keeps null as an explicit clear, for known and custom traits", () => {
    const call = parse(
      `{ "type": "group", "groupId": "a1", "messageId": "m", "traits": { "industry": null, "tier": null } }`,
    );
    expect(normalizeCall(call, meta).profiles[0]?.fields).toEqual({ industry: null, "traits.tier": null });
  });

  it("still says the account exists when a group call carries no traits", () => {
    const call = parse(`{ "type": "group", "groupId": "a1", "messageId": "m" }`);
    expect(normalizeCall(call, meta).profiles).toEqual([{ kind: "account", id: "a1", fields: {} }]);
  });

  it("caps a profile write at 200 custom traits", () => {
    const traits = Object.fromEntries(Array.from({ length: 205 }, (_, i) => [`custom_${i}`, i]));
    const n = normalizeCall(SegmentCall.parse({ type: "group", groupId: "a1", messageId: "m", traits }), meta);
    expect(Object.keys(n.profiles[0]?.fields ?? {})).toHaveLength(200);
    expect(n.problems).toEqual([expect.objectContaining({ code: "trait.too_large", field: "traits" })]);
    expect(n.problems[0]?.value).toHaveLength(5);
  });
});

describe("normalizeCall: identify → user", () => {
  it("maps snake_case and camelCase user traits, string booleans included", () => {
    const call = parse(`{ "type": "identify", "messageId": "id-1", "userId": "u_1", "anonymousId": "anon-9",
      "timestamp": "2024-05-01T12:00:00Z",
      "traits": { "firstName": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
        "createdAt": "2023-01-02T03:04:05Z", "avatar": "https://x.example/ada.png", "title": "CTO",
        "username": "ada", "description": "Math", "keyUser": "false", "linkedin": "https://linkedin.com/in/ada",
        "isActive": "True", "favourite_language": "OCaml" } }`);
    const n = normalizeCall(call, meta);
    expect(n.profiles).toEqual([
      {
        kind: "user",
        id: "u_1",
        fields: {
          first_name: "Ada",
          last_name: "Lovelace",
          email: "ada@example.com",
          created_at: "2023-01-02T03:04:05.000Z",
          avatar: "https://x.example/ada.png",
          title: "CTO",
          username: "ada",
          description: "Math",
          key_user: false,
          linkedin_url: "https://linkedin.com/in/ada",
          is_active: true,
          "traits.favourite_language": "OCaml",
        },
      },
    ]);
    expect(n.aliases).toEqual([{ from: "anon-9", to: "u_1" }]);
  });

  it("writes no profile for an anonymous identify", () => {
    const call = parse(
      `{ "type": "identify", "messageId": "m", "anonymousId": "anon-1", "traits": { "email": "a@b.c" } }`,
    );
    const n = normalizeCall(call, meta);
    expect(n.profiles).toEqual([]);
    expect(n.memberships).toEqual([]);
    expect(n.aliases).toEqual([]);
  });

  it("records why an anonymous identify's traits are not stored, naming them but not their values", () => {
    const call = parse(
      `{ "type": "identify", "messageId": "m", "anonymousId": "anon-1", "traits": { "email": "a@b.c", "plan": "pro" }, "context": { "groupId": "acc-1" } }`,
    );
    expect(normalizeCall(call, meta).problems).toEqual([
      {
        code: "identify.anonymous",
        field: "traits",
        message: expect.stringMatching(/no userId/),
        value: { anonymous_id: "anon-1", traits: ["email", "plan"], account_ids: ["acc-1"] },
      },
    ]);
    // Nothing to record when there is nothing to keep.
    expect(normalizeCall(parse(`{ "type": "identify", "anonymousId": "anon-2" }`), meta).problems).toEqual([]);
  });

  it("collects memberships from every source the spec lists, deduplicated, none stored as traits", () => {
    const call = parse(`{ "type": "identify", "messageId": "m", "userId": 7,
      "context": { "groupId": "acc_a", "group_id": "acc_b", "ip": "1.2.3.4" },
      "traits": { "company": { "id": 300, "name": "Acme" }, "companyId": "acc_a", "account_id": "acc_c" } }`);
    const n = normalizeCall(call, meta);
    expect(n.memberships).toEqual([
      { accountId: "acc_a", userId: "7" },
      { accountId: "acc_b", userId: "7" },
      { accountId: "300", userId: "7" },
      { accountId: "acc_c", userId: "7" },
    ]);
    expect(n.profiles[0]?.fields).toEqual({});
    expect(n.problems).toEqual([]);
  });

  it("reports a company object only when it holds more than id and name", () => {
    const call = parse(`{ "type": "identify", "messageId": "m", "userId": "u1",
      "traits": { "company": { "id": "acc_1", "name": "Acme", "plan": "pro" } } }`);
    const n = normalizeCall(call, meta);
    expect(n.memberships).toEqual([{ accountId: "acc_1", userId: "u1" }]);
    expect(n.problems).toEqual([expect.objectContaining({ code: "trait.nested_object", field: "traits.company" })]);
  });

  it("keeps a company given as a plain string as a custom trait", () => {
    const call = parse(`{ "type": "identify", "messageId": "m", "userId": "u1", "traits": { "company": "Acme" } }`);
    const n = normalizeCall(call, meta);
    expect(n.profiles[0]?.fields).toEqual({ "traits.company": "Acme" });
    expect(n.memberships).toEqual([]);
  });

  it("reports a membership id that is not a string or number", () => {
    const call = parse(`{ "type": "identify", "messageId": "m", "userId": "u1", "traits": { "companyId": ["a"] } }`);
    expect(normalizeCall(call, meta).problems).toEqual([
      expect.objectContaining({ code: "id.invalid", field: "traits.companyId", value: ["a"] }),
    ]);
  });

  it("reports __proto__ and constructor traits and leaves every prototype alone", () => {
    // Built from raw JSON (own __proto__ key) as a caller that skips the schema would pass it.
    const call = JSON.parse(`{ "type": "identify", "messageId": "m", "userId": "u1",
      "traits": { "__proto__": { "polluted": true }, "constructor": { "prototype": { "polluted": true } },
                  "prototype": "x", "first_name": "Ada" } }`) as SegmentCall;
    const n = normalizeCall(call, meta);
    const fields = n.profiles[0]?.fields ?? {};
    expect(fields).toEqual({ first_name: "Ada" });
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(n.problems.map((p) => [p.code, p.field])).toEqual([
      ["trait.forbidden_key", "traits.__proto__"],
      ["trait.forbidden_key", "traits.constructor"],
      ["trait.forbidden_key", "traits.prototype"],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("is also safe after the envelope schema, which drops __proto__ before normalize sees it", () => {
    const call = parse(`{ "type": "identify", "messageId": "m", "userId": "u1",
      "traits": { "__proto__": { "polluted": true }, "constructor": "x" } }`);
    const n = normalizeCall(call, meta);
    expect(n.profiles[0]?.fields).toEqual({});
    expect(n.problems.map((p) => p.field)).toEqual(["traits.constructor"]);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});

describe("normalizeCall: alias, delete, ids", () => {
  it("links previousId to userId on alias", () => {
    const call = parse(`{ "type": "alias", "messageId": "m", "previousId": "anon-1", "userId": 55 }`);
    const n = normalizeCall(call, meta);
    expect(n.aliases).toEqual([{ from: "anon-1", to: "55" }]);
    expect(n.profiles).toEqual([]);
  });

  it("turns a delete into a deletion request", () => {
    const call = parse(`{ "type": "delete", "messageId": "m", "userId": "u1" }`);
    expect(normalizeCall(call, meta).deletion).toEqual({ userId: "u1" });
  });

  it("uses the queue receive time and reports a bad timestamp without dropping the call", () => {
    const call = parse(`{ "type": "group", "groupId": "a1", "timestamp": "yesterday", "traits": { "name": "A" } }`);
    const n = normalizeCall(call, meta);
    expect(n.time).toBe(meta.receivedAt);
    expect(n.fromDelivery).toBe(true);
    expect(n.profiles[0]?.fields).toEqual({ name: "A" });
    expect(n.problems).toEqual([expect.objectContaining({ code: "time.invalid", field: "timestamp" })]);
    // The pipeline passes the time of the call's first receipt: a redelivery orders as the first did.
    expect(normalizeCall(call, { ...meta, fixedTime: "2024-04-01T00:00:00.000Z" }).time).toBe(
      "2024-04-01T00:00:00.000Z",
    );
  });
});
