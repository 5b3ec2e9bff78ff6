import { describe, expect, it } from "vitest";
import {
  type FieldValue,
  materializeAccount,
  materializeUser,
  mergeFields,
  normalizeCall,
  type VersionedFields,
} from "../../../packages/core/src/normalize";
import { SegmentCall } from "../../../packages/core/src/segment/envelope";

const meta = { workspaceId: "ws_1", source: "product", receivedAt: "2024-05-01T12:00:05Z" };

/** Stored fields as one write at one stamp would leave them. */
function stored(values: Record<string, FieldValue>): VersionedFields {
  return mergeFields({}, values, { t: "2024-05-01T00:00:00.000Z", m: "m1" }).fields;
}

describe("materializeAccount", () => {
  it("shows every known field, null when absent, and custom traits without nulls", () => {
    const account = materializeAccount(
      "ws_1",
      "acc_1",
      stored({ name: "Acme", mrr: 10, "traits.seats": 5, "traits.gone": null, "traits.a_first": "x" }),
    );
    expect(account).toMatchObject({
      workspace_id: "ws_1",
      account_id: "acc_1",
      name: "Acme",
      company_bio: null,
      website: null,
      industry: null,
      mrr: 10,
      created_at: null,
      trial_start_date: null,
      trial_expiry_date: null,
      is_trial: null,
      is_churned: null,
      next_renewal_date: null,
      plan_name: null,
      bucket: "subscribed",
      missing_required: [],
      missing_recommended: [],
    });
    expect(Object.entries(account.traits)).toEqual([
      ["a_first", "x"],
      ["seats", 5],
    ]);
  });

  it.each([
    [{ is_churned: true, is_trial: true }, "churned"],
    [{ is_trial: true, is_churned: false }, "trial"],
    [{ is_trial: false }, "subscribed"],
    [{}, "subscribed"],
  ] as const)("derives the bucket from %o → %s", (fields, bucket) => {
    expect(materializeAccount("ws_1", "a", stored({ name: "A", ...fields })).bucket).toBe(bucket);
  });

  it("lists missing required and, for trial accounts, missing recommended fields", () => {
    const account = materializeAccount(
      "ws_1",
      "a",
      stored({ is_trial: true, trial_start_date: "2024-04-01T00:00:00.000Z" }),
    );
    expect(account.missing_required).toEqual(["name"]);
    expect(account.missing_recommended).toEqual(["trial_expiry_date"]);
  });

  it("derives the avatar from the website's domain when none was sent", () => {
    const account = materializeAccount(
      "ws_1",
      "a",
      stored({ name: "Acme", website: "https://www.acme.example/about" }),
    );
    expect(account).toMatchObject({ avatar_url: "https://www.acme.example/favicon.ico", avatar_url_derived: true });
  });

  it("generates a deterministic initials image when there is no usable website", () => {
    const fields = stored({ name: "acme rockets", website: "not a website" });
    const account = materializeAccount("ws_1", "a", fields);
    expect(account.avatar_url_derived).toBe(true);
    expect(account.avatar_url.startsWith("data:image/svg+xml,")).toBe(true);
    expect(decodeURIComponent(account.avatar_url)).toContain(">AR</text>");
    expect(materializeAccount("ws_1", "a", fields).avatar_url).toBe(account.avatar_url);
  });

  it("always prefers a sent avatar", () => {
    const account = materializeAccount(
      "ws_1",
      "a",
      stored({ avatar_url: "https://cdn.example/logo.png", website: "acme.example" }),
    );
    expect(account).toMatchObject({ avatar_url: "https://cdn.example/logo.png", avatar_url_derived: false });
  });

  it("reads a whole group call end to end", () => {
    const n = normalizeCall(
      SegmentCall.parse({
        type: "group",
        groupId: 42,
        messageId: "m",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "Acme", website: "acme.example", isTrial: "true", trialEndDate: "2024-06-01T00:00:00Z" },
      }),
      meta,
    );
    const [write] = n.profiles;
    if (!write) throw new Error("expected a profile write");
    const account = materializeAccount("ws_1", write.id, mergeFields({}, write.fields, n.stamp).fields);
    expect(account).toMatchObject({
      account_id: "42",
      bucket: "trial",
      trial_expiry_date: "2024-06-01T00:00:00.000Z",
      missing_recommended: ["trial_start_date"],
      avatar_url: "https://acme.example/favicon.ico",
    });
  });
});

describe("materializeUser", () => {
  it("derives name from first and last name, status active by default, and lists missing fields", () => {
    const user = materializeUser("ws_1", "u1", stored({ first_name: "Ada", last_name: "Lovelace" }));
    expect(user).toMatchObject({
      user_id: "u1",
      name: "Ada Lovelace",
      status: "active",
      is_active: null,
      email: null,
      missing_required: ["created_at"],
      missing_recommended: ["email"],
      traits: {},
    });
  });

  it("prefers a sent name and marks is_active false as inactive", () => {
    const user = materializeUser("ws_1", "u1", stored({ name: "Countess", first_name: "Ada", is_active: false }));
    expect(user).toMatchObject({ name: "Countess", status: "inactive" });
  });

  it("treats a cleared required field as missing", () => {
    const fields = mergeFields(
      stored({ first_name: "Ada", last_name: "L", created_at: "2023-01-01T00:00:00.000Z" }),
      { last_name: null },
      { t: "2024-06-01T00:00:00.000Z", m: "m2" },
    ).fields;
    expect(materializeUser("ws_1", "u1", fields).missing_required).toEqual(["last_name"]);
  });
});
