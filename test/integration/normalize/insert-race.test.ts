import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import type { EventVersion } from "../../../packages/core/src/pipeline/model-store";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * The batched event insert (PartiQL INSERTs) against a concurrent normalizer that stores another
 * call with the same messageId after our consistent read and before our insert: the id is taken,
 * so our INSERT is refused, and the conflict must still be settled (the later call kept, the other
 * recorded as message_id.conflict), whichever of the two ranks higher.
 */

let config: Config;
let db: ReturnType<typeof createDocumentClient>;
let reader: DynamoModelReader;

beforeAll(async () => {
  ({ config } = await provisionTestResources());
  db = createDocumentClient(config);
  reader = new DynamoModelReader(db, config);
});
afterAll(() => db.destroy());

/** A store whose first read of stored events lets `between` run right after it (the race window). */
class RacedStore extends DynamoModelStore {
  private raced = false;
  constructor(private readonly between: () => Promise<void>) {
    super(db, config);
  }
  override async existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>> {
    const found = await super.existingEvents(workspaceId, eventIds);
    if (!this.raced) {
      this.raced = true;
      await this.between();
    }
    return found;
  }
}

const track = (messageId: string, timestamp: string, event: string, userId = "u1") => ({
  type: "track",
  userId,
  messageId,
  timestamp,
  event,
});

describe("a conflicting call stored by a concurrent normalizer between the read and the batch insert", () => {
  for (const ours of ["wins", "loses"] as const) {
    it(`is settled when our call ${ours}`, async () => {
      const ws = freshWorkspace();
      const [ourTime, theirTime] =
        ours === "wins"
          ? ["2024-05-01T12:00:00.000Z", "2024-05-01T11:00:00.000Z"]
          : ["2024-05-01T11:00:00.000Z", "2024-05-01T12:00:00.000Z"];
      const concurrent = createNormalizeHandler({ store: new DynamoModelStore(db, config) });
      const store = new RacedStore(async () => {
        const theirs = await concurrent(sqsEvent([rawMessage(ws, [track("m", theirTime, "Theirs", "u2")])]));
        expect(theirs.batchItemFailures).toEqual([]);
      });
      const handler = createNormalizeHandler({ store });
      const result = await handler(
        sqsEvent([
          rawMessage(ws, [
            track("m", ourTime, "Ours"),
            // Neighbours in the same insert request, not in the race.
            track("n1", "2024-05-01T10:00:00.000Z", "Neighbour"),
            track("n2", "2024-05-01T10:00:01.000Z", "Neighbour"),
          ]),
        ]),
      );
      expect(result.batchItemFailures).toEqual([]);
      const winner = ours === "wins" ? "Ours" : "Theirs";
      const loserUser = ours === "wins" ? "u2" : "u1";
      expect(await reader.getEvent(ws, "m")).toMatchObject({ event_name: winner });
      expect((await reader.getEvent(ws, "n1"))?.event_name).toBe("Neighbour");
      expect((await reader.getEvent(ws, "n2"))?.event_name).toBe("Neighbour");
      const rejects = await reader.listRejects(ws);
      expect(rejects.map((r) => [r.message_id, r.code])).toEqual([["m", "message_id.conflict"]]);
      expect(rejects[0]?.value).toMatchObject({ user_id: loserUser });
    });
  }
});
