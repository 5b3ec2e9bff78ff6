import { describe, expect, it } from "vitest";
import { entityMapReport, releasedMessages } from "../../../packages/core/src/api/entity-map-upload";
import { userDeletionRequest } from "../../../packages/core/src/api/user-deletion";
import { planEntityMapUpload } from "../../../packages/core/src/identity/entity-map";
import type { PendingCall } from "../../../packages/core/src/pipeline/model-store";

const entry = (external_id: string, canonical_id: string) =>
  ({ source: "salesforce", kind: "account", external_id, canonical_id }) as const;

function pending(messageId: string, time: string, source: string, receivedAt: string): PendingCall {
  return {
    workspaceId: "acme",
    source,
    messageId,
    time,
    heldAt: "2024-06-01T00:00:00.000Z",
    receivedAt,
    call: { type: "group", messageId, groupId: `g-${messageId}`, timestamp: time },
    missing: [{ source, kind: "account", externalId: `g-${messageId}` }],
  };
}

describe("entity map upload report", () => {
  it("counts each outcome and lists the rows, conflicts with what they conflict with", () => {
    const stored = new Map([
      ["salesforce\u0000account\u0000A", "acme"],
      ["salesforce\u0000account\u0000B", "old"],
    ]);
    const plan = planEntityMapUpload(
      [entry("A", "acme"), entry("B", "new"), entry("C", "c1"), entry("D", "d1"), entry("D", "d2")],
      stored,
      { replace: false },
    );
    expect(entityMapReport(plan, true)).toEqual({
      dry_run: true,
      created: 1,
      changed: 0,
      unchanged: 1,
      conflicts: [
        { ...entry("B", "new"), other_canonical_id: "old", reason: "already mapped to another canonical id" },
        { ...entry("D", "d2"), other_canonical_id: "d1", reason: "mapped to two canonical ids in this upload" },
      ],
      rows: { created: [entry("C", "c1")], changed: [], unchanged: [entry("A", "acme")] },
    });
    const replaced = entityMapReport(planEntityMapUpload([entry("B", "new")], stored, { replace: true }), false);
    expect(replaced).toMatchObject({
      dry_run: false,
      changed: 1,
      rows: { changed: [{ previous_canonical_id: "old" }] },
    });
  });
});

describe("released pending calls", () => {
  it("become raw queue messages by source and receive time, oldest call first, as the stored calls", () => {
    const released = [
      pending("m3", "2024-05-03T00:00:00.000Z", "salesforce", "2024-05-10T00:00:00.000Z"),
      pending("m1", "2024-05-01T00:00:00.000Z", "salesforce", "2024-05-10T00:00:00.000Z"),
      pending("m2", "2024-05-02T00:00:00.000Z", "hubspot", "2024-05-11T00:00:00.000Z"),
    ];
    const messages = releasedMessages(released, "req-1", 256 * 1024);
    expect(messages.map((m) => m.meta)).toEqual([
      { workspaceId: "acme", source: "salesforce", receivedAt: "2024-05-10T00:00:00.000Z", requestId: "req-1" },
      { workspaceId: "acme", source: "hubspot", receivedAt: "2024-05-11T00:00:00.000Z", requestId: "req-1" },
    ]);
    const bodies = messages.map((m) => m.bodies.map((b) => JSON.parse(b)));
    expect(bodies[0]).toEqual([
      {
        v: 1,
        workspaceId: "acme",
        source: "salesforce",
        receivedAt: "2024-05-10T00:00:00.000Z",
        requestId: "req-1",
        calls: [released[1]?.call, released[0]?.call],
      },
    ]);
    expect(bodies[1]?.[0]?.calls).toEqual([released[2]?.call]);
  });

  it("split into several messages when they do not fit one", () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      pending(
        `m${String(i).padStart(2, "0")}`,
        `2024-05-01T00:00:${String(i).padStart(2, "0")}.000Z`,
        "salesforce",
        "r",
      ),
    );
    const [group] = releasedMessages(many, "req", 2000);
    expect(group?.bodies.length).toBeGreaterThan(1);
    for (const body of group?.bodies ?? []) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2000);
    expect(group?.bodies.flatMap((b) => JSON.parse(b).calls.map((c: { messageId: string }) => c.messageId))).toEqual(
      many.map((p) => p.messageId),
    );
  });
});

describe("user deletion request", () => {
  it("is a Segment delete call from the primary source", () => {
    const now = new Date("2024-06-01T12:00:00.000Z");
    expect(userDeletionRequest("acme", "u1", now, "abc", "req-9")).toEqual({
      call: { type: "delete", userId: "u1", messageId: "api-delete-abc", timestamp: "2024-06-01T12:00:00.000Z" },
      meta: { workspaceId: "acme", source: "product", receivedAt: "2024-06-01T12:00:00.000Z", requestId: "req-9" },
    });
  });
});
