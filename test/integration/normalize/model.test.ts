import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

let config: Config;
let reader: DynamoModelReader;
let handler: ReturnType<typeof createNormalizeHandler>;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  const db = createDocumentClient(config);
  reader = new DynamoModelReader(db, config);
  handler = createNormalizeHandler({ store: new DynamoModelStore(db, config), now: () => "2024-06-02T00:00:00.000Z" });
});

async function deliver(ws: string, calls: Record<string, unknown>[]) {
  const result = await handler(sqsEvent([rawMessage(ws, calls)]));
  expect(result.batchItemFailures).toEqual([]);
}

describe("group → account", () => {
  it("maps every account field, its aliases, string booleans and numeric ids", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "group",
        messageId: "g1",
        groupId: 4242,
        userId: "u1",
        timestamp: "2024-05-01T12:00:00+02:00",
        traits: {
          name: "Acme Inc",
          description: "Rockets and anvils",
          website: "https://www.acme.example/home",
          industry: "Manufacturing",
          mrr: "499.5",
          createdAt: "2023-01-15T08:30:00Z",
          trial_start: "2024-04-01T00:00:00Z",
          trialEndDate: "2024-05-15T00:00:00Z",
          isTrial: "true",
          is_churned: false,
          nextRenewalDate: "2025-01-01T00:00:00Z",
          plan: "Growth",
          employees: 120,
          regions: ["eu", "us"],
        },
      },
    ]);
    const account = await reader.getAccount(ws, "4242");
    expect(account).toMatchObject({
      account_id: "4242",
      name: "Acme Inc",
      company_bio: "Rockets and anvils",
      website: "https://www.acme.example/home",
      industry: "Manufacturing",
      mrr: 499.5,
      created_at: "2023-01-15T08:30:00.000Z",
      trial_start_date: "2024-04-01T00:00:00.000Z",
      trial_expiry_date: "2024-05-15T00:00:00.000Z",
      is_trial: true,
      is_churned: false,
      next_renewal_date: "2025-01-01T00:00:00.000Z",
      plan_name: "Growth",
      bucket: "trial",
      traits: { employees: 120, regions: ["eu", "us"] },
      avatar_url_derived: true,
      missing_required: [],
      missing_recommended: [],
    });
    expect(account?.avatar_url).toContain("acme.example");
    expect(await reader.accountUserIds(ws, "4242")).toEqual(["u1"]);
    expect(await reader.userAccountIds(ws, "u1")).toEqual(["4242"]);
  });

  it("keeps a sent avatar, lists missing fields, and derives the bucket from churn", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "group",
        messageId: "g1",
        groupId: "a1",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { logo: "https://cdn.example/a.png", isChurned: "TRUE", is_trial: true },
      },
    ]);
    const account = await reader.getAccount(ws, "a1");
    expect(account).toMatchObject({
      avatar_url: "https://cdn.example/a.png",
      avatar_url_derived: false,
      bucket: "churned",
      missing_required: ["name"],
    });
  });
});

describe("identify → user", () => {
  it("maps camelCase and snake_case traits, memberships from traits and context, and the derived status", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "identify",
        messageId: "i1",
        userId: 77,
        anonymousId: "anon-77",
        timestamp: "2024-05-01T10:00:00.000Z",
        context: { groupId: "acc-ctx" },
        traits: {
          firstName: "Ada",
          last_name: "Lovelace",
          email: "ada@example.com",
          created_at: "2024-01-01T00:00:00Z",
          title: "CTO",
          keyUser: "false",
          linkedin: "https://linkedin.example/ada",
          isActive: false,
          companyId: "acc-trait",
          company: { id: "acc-company", name: "Analytical Engines" },
          favourite_number: 7,
        },
      },
    ]);
    const user = await reader.getUser(ws, "77");
    expect(user).toMatchObject({
      user_id: "77",
      first_name: "Ada",
      last_name: "Lovelace",
      name: "Ada Lovelace",
      email: "ada@example.com",
      created_at: "2024-01-01T00:00:00.000Z",
      title: "CTO",
      key_user: false,
      linkedin_url: "https://linkedin.example/ada",
      is_active: false,
      status: "inactive",
      traits: { favourite_number: 7 },
      missing_required: [],
      account_ids: ["acc-company", "acc-ctx", "acc-trait"],
    });
  });

  it("keeps a profile with missing required fields and records rejects for bad values, storing the rest", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "identify",
        messageId: "i2",
        userId: "u2",
        timestamp: "2024-05-01T10:00:00Z",
        traits: {
          email: "bob@example.com",
          address: { city: "Paris" },
          orders: [{ id: 1 }],
          mixed: ["a", 1],
          created_at: "2024-05-01 10:00:00",
          plan_level: 3,
        },
      },
    ]);
    const user = await reader.getUser(ws, "u2");
    expect(user?.email).toBe("bob@example.com");
    expect(user?.traits).toEqual({ plan_level: 3 });
    expect(user?.created_at).toBeNull();
    expect(user?.missing_required).toEqual(["first_name", "last_name", "created_at"]);
    const rejects = await reader.listRejects(ws);
    const byField = Object.fromEntries(rejects.map((r) => [r.field, r]));
    expect(byField["traits.address"]).toMatchObject({
      code: "trait.nested_object",
      message_id: "i2",
      value: { city: "Paris" },
      seen_count: 1,
    });
    expect(byField["traits.orders"]?.code).toBe("trait.invalid_array");
    expect(byField["traits.mixed"]?.code).toBe("trait.invalid_array");
    expect(byField["traits.created_at"]?.code).toBe("time.no_zone");
  });

  it("clears a field with null only when the null is the newest write", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "identify",
        messageId: "a",
        userId: "u3",
        timestamp: "2024-05-01T10:00:00Z",
        traits: { title: "Engineer", plan: "pro" },
      },
      { type: "identify", messageId: "b", userId: "u3", timestamp: "2024-05-02T10:00:00Z", traits: { title: null } },
      // Older than the clear: must not bring the title back, but fills what is empty.
      {
        type: "identify",
        messageId: "c",
        userId: "u3",
        timestamp: "2024-04-30T10:00:00Z",
        traits: { title: "Intern", email: "u3@example.com" },
      },
    ]);
    const user = await reader.getUser(ws, "u3");
    expect(user?.title).toBeNull();
    expect(user?.email).toBe("u3@example.com");
    expect(user?.traits).toEqual({ plan: "pro" });
  });

  it("does not let prototype keys reach objects", async () => {
    const ws = freshWorkspace();
    const call = JSON.parse(
      '{"type":"identify","messageId":"p1","userId":"u4","timestamp":"2024-05-01T10:00:00Z","traits":{"__proto__":{"polluted":true},"constructor":"x","ok":1}}',
    );
    await deliver(ws, [call]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await reader.getUser(ws, "u4"))?.traits).toEqual({ ok: 1 });
    const codes = (await reader.listRejects(ws)).map((r) => `${r.code}:${r.field}`).sort();
    expect(codes).toEqual(["trait.forbidden_key:traits.__proto__", "trait.forbidden_key:traits.constructor"]);
  });
});

describe("track, page, screen → events", () => {
  it("stores events with their fields and resolves the account in the spec's order", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "group",
        messageId: "g",
        userId: "u1",
        groupId: "acc-1",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "One" },
      },
      {
        type: "track",
        messageId: "t-ctx",
        userId: "u1",
        event: "Report Built",
        timestamp: "2024-05-02T00:00:00Z",
        context: { group_id: "acc-ctx" },
        properties: { account_id: "acc-prop", rows: 10 },
      },
      {
        type: "track",
        messageId: "t-prop",
        userId: "u1",
        event: "Report Built",
        timestamp: "2024-05-02T00:00:01Z",
        properties: { groupId: "acc-prop" },
      },
      {
        type: "track",
        messageId: "t-user",
        userId: "u1",
        event: "Report Built",
        timestamp: "2024-05-02T00:00:02Z",
        properties: { tags: ["a", "b"], when: "2024-05-02T02:00:00+02:00", nested: { no: 1 } },
      },
      {
        type: "page",
        messageId: "p1",
        userId: "u1",
        name: "Pricing",
        timestamp: "2024-05-02T00:00:03Z",
        properties: { path: "/pricing" },
      },
      { type: "screen", messageId: "s1", anonymousId: "anon-1", timestamp: "2024-05-02T00:00:04Z" },
      { type: "track", messageId: 9001, userId: "nobody", event: "Orphan", timestamp: "2024-05-02T00:00:05Z" },
    ]);
    expect(await reader.getEvent(ws, "t-ctx")).toMatchObject({
      event_id: "t-ctx",
      event_name: "Report Built",
      type: "track",
      timestamp: "2024-05-02T00:00:00.000Z",
      user_id: "u1",
      account_id: "acc-ctx",
      properties: { account_id: "acc-prop", rows: 10 },
      received_at: "2024-06-01T00:00:00.000Z",
      source: "product",
    });
    expect((await reader.getEvent(ws, "t-prop"))?.account_id).toBe("acc-prop");
    const viaUser = await reader.getEvent(ws, "t-user");
    expect(viaUser).toMatchObject({ account_id: "acc-1", account_resolution: "user_single_account" });
    expect(viaUser?.properties).toEqual({ tags: ["a", "b"], when: "2024-05-02T00:00:00.000Z" });
    expect(await reader.getEvent(ws, "p1")).toMatchObject({ type: "page", event_name: "Pricing", account_id: "acc-1" });
    expect(await reader.getEvent(ws, "s1")).toMatchObject({
      type: "screen",
      event_name: "Loaded a Screen",
      user_id: null,
      anonymous_id: "anon-1",
    });
    expect(await reader.getEvent(ws, "9001")).toMatchObject({ account_id: null, account_resolution: "none" });
    expect((await reader.listRejects(ws)).map((r) => r.field)).toEqual(["properties.nested"]);

    expect((await reader.getUser(ws, "u1"))?.last_seen_at).toBe("2024-05-02T00:00:03.000Z");
    expect((await reader.getAccount(ws, "acc-1"))?.last_seen_at).toBe("2024-05-02T00:00:03.000Z");
  });

  it("stores a duplicate messageId once and reports it as acknowledged", async () => {
    const ws = freshWorkspace();
    const call = {
      type: "track",
      messageId: "dup-1",
      userId: "u1",
      event: "Clicked",
      timestamp: "2024-05-02T00:00:00Z",
    };
    const first = await handler(sqsEvent([rawMessage(ws, [call, call])]));
    const again = await handler(sqsEvent([rawMessage(ws, [call])]));
    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(await reader.getEvent(ws, "dup-1")).toMatchObject({ event_name: "Clicked" });
  });

  it("attributes an event that arrived before the user's group call once the membership arrives", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      { type: "track", messageId: "early", userId: "u9", event: "Opened", timestamp: "2024-05-03T00:00:00Z" },
    ]);
    expect((await reader.getEvent(ws, "early"))?.account_resolution).toBe("none");
    await deliver(ws, [
      {
        type: "group",
        messageId: "late-group",
        userId: "u9",
        groupId: "acc-9",
        timestamp: "2024-05-01T00:00:00Z",
        traits: { name: "Nine" },
      },
    ]);
    expect(await reader.getEvent(ws, "early")).toMatchObject({
      account_id: "acc-9",
      account_resolution: "user_single_account",
    });
    expect((await reader.getAccount(ws, "acc-9"))?.last_seen_at).toBe("2024-05-03T00:00:00.000Z");
  });
});

describe("anonymous identify", () => {
  it("stores no profile, and records an identify.anonymous reject naming the traits it could not keep", async () => {
    const ws = freshWorkspace();
    await deliver(ws, [
      {
        type: "identify",
        messageId: "anon-identify-1",
        anonymousId: "anon-1",
        timestamp: "2024-05-01T12:00:00Z",
        traits: { email: "a@example.com", first_name: "Ann" },
      },
    ]);
    expect(await reader.getUser(ws, "anon-1")).toBeUndefined();
    const rejects = await reader.listRejects(ws);
    expect(rejects.map((r) => [r.message_id, r.code, r.field, r.value])).toEqual([
      [
        "anon-identify-1",
        "identify.anonymous",
        "traits",
        { anonymous_id: "anon-1", traits: ["email", "first_name"], account_ids: [] },
      ],
    ]);
  });
});

describe("bad messages", () => {
  it("acknowledges and records a message that is not a raw ingest message, and an invalid call", async () => {
    const ws = freshWorkspace();
    const result = await handler(
      sqsEvent(["not json", rawMessage(ws, [{ type: "track", messageId: "bad", userId: "u" }])]),
    );
    expect(result.batchItemFailures).toEqual([]);
    const rejects = await reader.listRejects(ws);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ code: "envelope.invalid", message_id: "bad" });
    expect(rejects[0]?.message).toContain("event");
  });
});

describe("concurrent normalizers", () => {
  it("lose no update when several write the same profile at once", async () => {
    const ws = freshWorkspace();
    const traits = Array.from({ length: 12 }, (_, i) => `field_${i}`);
    // Twelve handlers, each with its own trait of the same user, all in flight together.
    const results = await Promise.all(
      traits.map((name, i) =>
        handler(
          sqsEvent([
            rawMessage(ws, [
              {
                type: "identify",
                messageId: `c${i}`,
                userId: "same",
                timestamp: `2024-05-01T00:00:${String(i).padStart(2, "0")}Z`,
                traits: { [name]: i },
              },
            ]),
          ]),
        ),
      ),
    );
    for (const r of results) expect(r.batchItemFailures).toEqual([]);
    const user = await reader.getUser(ws, "same");
    expect(user?.traits).toEqual(Object.fromEntries(traits.map((name, i) => [name, i])));
  });
});
