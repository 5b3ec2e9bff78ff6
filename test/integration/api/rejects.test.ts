import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../packages/cli/src/main";
import { RejectPage } from "../../../packages/core/src/api/schemas";
import { type ApiStack, allPages, call, conforms, deliver, startApiStack, workspaceWithKey } from "./api-stack";

let stack: ApiStack;
beforeAll(async () => {
  stack = await startApiStack();
});
afterAll(async () => {
  await stack?.close();
});

describe("rejects", () => {
  it("lists rejects page by page, all or of one code, none lost or repeated", async () => {
    const { ws, key } = await workspaceWithKey(stack);
    const nested = Array.from({ length: 9 }, (_, i) => ({
      type: "identify",
      messageId: `nested-${i}`,
      userId: `u${i}`,
      timestamp: "2024-05-01T00:00:00Z",
      traits: { first_name: "Ada", address: { city: "London" } },
    }));
    const invalid = Array.from({ length: 4 }, (_, i) => ({ type: "track", messageId: `no-event-${i}`, userId: "u1" }));
    await deliver(stack.config, ws, [...nested, ...invalid]);

    const all = await allPages(stack, "/v1/rejects", key, { limit: "5" });
    expect(all.items).toHaveLength(13);
    expect(new Set(all.items.map((r) => `${r.message_id}/${r.code}/${r.field}`)).size).toBe(13);
    const first = await call(stack, "/v1/rejects?limit=5", { key });
    conforms(RejectPage, first.body);

    const byCode = await allPages(stack, "/v1/rejects", key, { code: "trait.nested_object", limit: "2" });
    expect(byCode.items.map((r) => r.message_id)).toEqual(nested.map((c) => c.messageId));
    expect(byCode.items[0]).toMatchObject({
      workspace_id: ws,
      source: "product",
      code: "trait.nested_object",
      field: "traits.address",
      value: { city: "London" },
      seen_count: 1,
    });
    const others = await allPages(stack, "/v1/rejects", key, { code: "envelope.invalid", limit: "3" });
    expect(others.items.map((r) => r.message_id)).toEqual(invalid.map((c) => c.messageId));
    expect((await call(stack, "/v1/rejects?code=nothing.like.this", { key })).body).toEqual({
      items: [],
      next_cursor: null,
    });

    const out: string[] = [];
    expect(
      await runCli(["rejects", "--code", "envelope.invalid", "--url", stack.server.url, "--api-key", key], {
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
      }),
    ).toBe(0);
    const lines = out.join("\n").split("\n");
    expect(lines[0]).toMatch(/^LAST SEEN\s+CODE\s+FIELD\s+SOURCE\s+MESSAGE ID\s+SEEN\s+MESSAGE$/);
    expect(lines).toHaveLength(5);
  });
});
