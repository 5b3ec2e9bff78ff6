import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import type { StoredEvent } from "../../../packages/core/src/pipeline/model-store";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace } from "../../support/normalize-harness";
import { leaveUnprocessed } from "../../support/unprocessed-items";

/**
 * The storage port takes any number of items in one call: chunking to DynamoDB's request limits
 * (100 keys a BatchGetItem, 25 items a BatchWriteItem) is the adapter's job, not the pipeline's.
 */

let config: Config;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function event(ws: string, id: string, userId: string): StoredEvent {
  return {
    workspace_id: ws,
    event_id: id,
    event_name: "Report Exported",
    type: "track",
    timestamp: "2024-05-01T12:00:00.000Z",
    user_id: userId,
    anonymous_id: null,
    account_id: "acme",
    properties: {},
    received_at: "2024-05-01T12:00:01.000Z",
    source: "product",
    content_hash: `h-${id}`,
  } as unknown as StoredEvent;
}

describe("the DynamoDB model store takes any number of items per call", () => {
  it("reads and writes hundreds of profiles, events, memberships and maps, even with items left unprocessed", async () => {
    const db = createDocumentClient(config);
    leaveUnprocessed(db, { share: 0.3, times: 4 });
    const store = new DynamoModelStore(db, config);
    const ws = freshWorkspace();
    const users = ids(230, "u");

    for (const id of users.slice(0, 120)) {
      expect(await store.saveProfile({ workspaceId: ws, kind: "user", id }, {}, 0)).toBe(true);
    }
    const profiles = await store.loadProfiles(users.map((id) => ({ workspaceId: ws, kind: "user" as const, id })));
    expect(profiles.size).toBe(120);

    const events = users.map((u, i) => event(ws, `e-${i}`, u));
    expect(await store.insertEvents(events)).toEqual(new Set());
    const existing = await store.existingEvents(ws, [...events.map((e) => e.event_id), "e-missing"]);
    expect(existing.size).toBe(230);

    const edges = users.map((userId) => ({
      workspaceId: ws,
      accountId: "acme",
      userId,
      since: "2024-05-01T00:00:00.000Z",
    }));
    for (const edge of edges.slice(0, 40)) await store.saveMembership(edge);
    expect((await store.loadMemberships(edges)).size).toBe(40);

    const deleted = await store.deletedUsers(ws, users);
    expect(deleted.size).toBe(0);
    expect((await store.aliasTargets(ws, ids(150, "anon"))).size).toBe(0);
    expect(
      (
        await store.lookupEntityMaps(
          ws,
          ids(150, "sf").map((externalId) => ({ source: "sf", kind: "user" as const, externalId })),
        )
      ).size,
    ).toBe(0);

    // A deletion sweeps a user with hundreds of events (deleted 25 a request).
    const many = ids(120, "m").map((id) => event(ws, id, "busy"));
    await store.insertEvents(many);
    await store.touchLastSeen({ workspaceId: ws, kind: "user", id: "busy" }, "2024-05-01T12:00:00.000Z", ["2024-05"]);
    await store.deleteUser(ws, "busy", "2024-06-01T00:00:00.000Z");
    expect(
      (
        await store.existingEvents(
          ws,
          many.map((e) => e.event_id),
        )
      ).size,
    ).toBe(0);
    expect(await store.deletedUsers(ws, ["busy", ...users])).toEqual(new Set(["busy"]));
    db.destroy();
  });
});
