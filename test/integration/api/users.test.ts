import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import {
  ErrorBody,
  EventPage,
  MemberAccountPage,
  UserDeletedError,
  UserDeletionQueued,
  UserWithAccounts,
} from "../../../packages/core/src/api/schemas";
import { drainQueue } from "../ingest/ingest-stack";
import {
  type ApiStack,
  allPages,
  call,
  conforms,
  deliver,
  normalize,
  normalizedAt,
  startApiStack,
  workspaceWithKey,
} from "./api-stack";

let stack: ApiStack;
let ws: string;
let key: string;

const calls = [
  {
    type: "identify",
    messageId: "i-ada",
    userId: "ada",
    timestamp: "2024-04-01T00:00:00Z",
    traits: {
      firstName: "Ada",
      lastName: "Lovelace",
      email: "ada@acme.example",
      created_at: "2024-01-02T03:04:05Z",
      shoe: 38,
    },
  },
  ...["globex", "acme", "initech"].map((account, i) => ({
    type: "group",
    messageId: `g-${account}`,
    groupId: account,
    userId: "ada",
    timestamp: `2024-04-0${i + 2}T00:00:00Z`,
    traits: { name: account.toUpperCase(), ...(account === "initech" ? { is_churned: true } : {}) },
  })),
  ...Array.from({ length: 11 }, (_, i) => ({
    type: "track",
    messageId: `t-${String(i).padStart(2, "0")}`,
    userId: "ada",
    event: "Report Exported",
    context: { groupId: "acme" },
    timestamp: `2024-0${4 + (i % 3)}-1${i % 10}T12:00:00Z`,
  })),
  { type: "page", messageId: "p-1", userId: "grace", name: "Pricing", timestamp: "2024-05-05T00:00:00Z" },
];

beforeAll(async () => {
  stack = await startApiStack();
  ({ ws, key } = await workspaceWithKey(stack));
  // Received after the last of them (in June): none is stamped in the future.
  await deliver(stack.config, ws, calls, "product", "2024-07-01T00:00:00.000Z");
});
afterAll(async () => {
  await stack?.close();
});

describe("users", () => {
  it("shows a user with their accounts and when they were last seen", async () => {
    const answer = await call(stack, "/v1/users/ada", { key });
    expect(answer.status).toBe(200);
    conforms(UserWithAccounts, answer.body);
    expect(answer.body).toMatchObject({
      workspace_id: ws,
      user_id: "ada",
      first_name: "Ada",
      last_name: "Lovelace",
      name: "Ada Lovelace",
      email: "ada@acme.example",
      created_at: "2024-01-02T03:04:05.000Z",
      status: "active",
      traits: { shoe: 38 },
      missing_required: [],
      account_ids: ["acme", "globex", "initech"],
      last_seen_at: "2024-06-18T12:00:00.000Z",
    });
    const unknown = await call(stack, "/v1/users/nobody", { key });
    expect(unknown.status).toBe(404);
    conforms(ErrorBody, unknown.body);
    expect(unknown.body.code).toBe("user.not_found");
  });

  it("lists a user's accounts, page by page, with when the membership began", async () => {
    const first = await call(stack, "/v1/users/ada/accounts?limit=2", { key });
    conforms(MemberAccountPage, first.body);
    expect(first.body.items.map((a: { account_id: string }) => a.account_id)).toEqual(["acme", "globex"]);
    const { items } = await allPages(stack, "/v1/users/ada/accounts", key, { limit: "2" });
    expect(items.map((a) => [a.account_id, a.bucket, a.member_since])).toEqual([
      ["acme", "subscribed", "2024-04-03T00:00:00.000Z"],
      ["globex", "subscribed", "2024-04-02T00:00:00.000Z"],
      ["initech", "churned", "2024-04-04T00:00:00.000Z"],
    ]);
    expect((await call(stack, "/v1/users/nobody/accounts", { key })).body.code).toBe("user.not_found");
  });

  it("lists a user's events newest first, in a time range, page by page", async () => {
    const tracks = calls.filter((c) => c.type === "track").map((c) => [c.messageId, c.timestamp] as [string, string]);
    const newestFirst = tracks.sort((a, b) => (a[1] < b[1] ? 1 : -1)).map(([id]) => id);
    const all = await allPages(stack, "/v1/users/ada/events", key, { limit: "3" });
    expect(all.items.map((e) => e.event_id)).toEqual(newestFirst);
    const page = await call(stack, "/v1/users/ada/events?limit=3", { key });
    conforms(EventPage, page.body);
    const may = await allPages(stack, "/v1/users/ada/events", key, {
      from: "2024-05-01T00:00:00Z",
      to: "2024-06-01T00:00:00Z",
      limit: "2",
    });
    expect(may.items.map((e) => e.timestamp.slice(0, 7))).toEqual(["2024-05", "2024-05", "2024-05", "2024-05"]);
    // A user known only from events (no identify yet) has events but no profile fields.
    const grace = await call(stack, "/v1/users/grace/events", { key });
    expect(grace.body.items.map((e: { event_name: string; type: string }) => [e.event_name, e.type])).toEqual([
      ["Pricing", "page"],
    ]);
    expect((await call(stack, "/v1/users/nobody/events", { key })).body.code).toBe("user.not_found");
  });

  it("deletes a user through the pipeline, and then says the user was deleted and when", async () => {
    const answer = await call(stack, "/v1/users/ada", { key, method: "DELETE" });
    expect(answer.status).toBe(202);
    conforms(UserDeletionQueued, answer.body);
    expect(answer.body).toEqual({ status: "queued", user_id: "ada" });

    const received = await drainQueue(stack.sqs, stack.config.rawQueueUrl);
    expect(received).toHaveLength(1);
    const [message] = received;
    expect(message?.message).toMatchObject({ v: 1, workspaceId: ws, source: "product" });
    expect(message?.message.calls).toEqual([
      {
        type: "delete",
        userId: "ada",
        messageId: expect.stringMatching(/^api-delete-[0-9a-f-]{36}$/),
        timestamp: expect.any(String),
      },
    ]);
    expect(message?.attributes).toMatchObject({ workspaceId: ws, source: "product" });

    // Until the pipeline runs, the user is still there.
    expect((await call(stack, "/v1/users/ada", { key })).status).toBe(200);
    await normalize(stack.config, [message?.message as NonNullable<typeof message>["message"]]);

    const gone = await call(stack, "/v1/users/ada", { key });
    expect(gone.status).toBe(404);
    conforms(UserDeletedError, gone.body);
    expect(gone.body).toEqual({
      success: false,
      code: "user.deleted",
      message: "User ada was deleted",
      deleted_at: normalizedAt,
    });
    expect((await call(stack, "/v1/users/ada/events", { key })).body.code).toBe("user.deleted");
    expect((await call(stack, "/v1/users/ada/accounts", { key })).body.code).toBe("user.deleted");
    expect((await call(stack, "/v1/accounts/acme/users", { key })).body.items).toEqual([]);
    expect((await call(stack, "/v1/accounts/acme/events", { key })).body.items).toEqual([]);
  });

  it("deletes through the CLI too", async () => {
    await deliver(stack.config, ws, [
      {
        type: "identify",
        messageId: "i-bob",
        userId: "bob",
        timestamp: "2024-04-01T00:00:00Z",
        traits: { first_name: "Bob" },
      },
    ]);
    const out: string[] = [];
    const code = await runCli(["users", "delete", "bob", "--url", stack.server.url, "--api-key", key], {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
    });
    expect(code).toBe(0);
    expect(out.join("\n")).toContain("Deletion of user bob is queued");
    const [message] = await drainQueue(stack.sqs, stack.config.rawQueueUrl);
    expect(message?.message.calls).toMatchObject([{ type: "delete", userId: "bob" }]);
  });
});
