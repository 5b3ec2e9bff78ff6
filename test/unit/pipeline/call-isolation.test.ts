import { describe, expect, it } from "vitest";
import { rerunAlone, type SuspectCall } from "../../../packages/core/src/pipeline/call-isolation";

const origin = {
  v: 1 as const,
  workspaceId: "w1",
  source: "product",
  receivedAt: "2024-06-01T00:00:00.000Z",
  requestId: "r",
};
const suspect = (recordId: string, index: number): SuspectCall => ({
  recordId,
  index,
  raw: { type: "track", messageId: `${recordId}-${index}` },
  origin,
});
const noStats = {
  pending: 0,
  deletedUsers: 0,
  refusedForDeletedUsers: 0,
  eventsStored: 0,
  duplicates: 0,
  profilesWritten: 0,
  membershipsAdded: 0,
  eventsReattributed: 0,
  rejects: 0,
};

describe("re-running set-aside calls", () => {
  it("runs the suspects in halves and skips, in the second half, a record the first half sent back", async () => {
    const ran: string[][] = [];
    // rec-a's first call fails for now in the first half: the whole record goes back to SQS.
    const run = async (records: { id: string; body: string }[]) => {
      ran.push(records.map((r) => r.id));
      return { failedRecordIds: records.filter((r) => r.id === "rec-a#0").map((r) => r.id), stats: { ...noStats } };
    };
    const suspects = [suspect("rec-a", 0), suspect("rec-b", 0), suspect("rec-a", 1), suspect("rec-c", 0)];
    const failed = await rerunAlone(suspects, new Set(), run, { ...noStats });
    expect([...failed]).toEqual(["rec-a"]);
    expect(ran).toEqual([["rec-a#0", "rec-b#0"], ["rec-c#0"]]);
  });
});
