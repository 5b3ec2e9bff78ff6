import { beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { DynamoModelReader } from "../../../packages/aws/src/dynamo/model-reader";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import { IngestError } from "../../../packages/core/src/errors";
import type { MonthMarks, ProfileRef } from "../../../packages/core/src/pipeline/model-store";
import { normalizeSubscription } from "../../../packages/resources/src/definitions";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * A full batch as the event source mapping hands it over (`normalizeSubscription.batchSize`
 * records) in the shape that fills it most: one call per message, as Segment's classic webhooks
 * send them. One record whose write fails for now comes back alone (partial batch response); the
 * rest is stored.
 */

let config: Config;
beforeAll(async () => {
  ({ config } = await provisionTestResources());
});

/** A store whose month writes for one user fail with a retryable storage error. */
class OneUserThrottled extends DynamoModelStore {
  constructor(private readonly userId: string) {
    super(createDocumentClient(config), config);
  }
  override async touchLastSeen(
    ref: ProfileRef,
    time: string,
    months: string[],
    exists?: boolean,
    marks?: MonthMarks,
  ): Promise<void> {
    if (ref.kind === "user" && ref.id === this.userId) {
      throw new IngestError("storage.unavailable", "throttled (test)", { retryable: true });
    }
    return super.touchLastSeen(ref, time, months, exists, marks);
  }
}

describe("a full normalize batch of single-call messages", () => {
  it(`${normalizeSubscription.batchSize} records: only the failed one is sent back, every other call is stored`, async () => {
    const ws = freshWorkspace();
    const size = normalizeSubscription.batchSize;
    const messages = Array.from({ length: size }, (_, i) =>
      rawMessage(ws, [
        {
          type: "track",
          messageId: `m${i}`,
          userId: i === 7 ? "throttled" : `u${i % 200}`,
          event: "Report Built",
          timestamp: `2024-05-01T10:00:${String(i % 60).padStart(2, "0")}.000Z`,
        },
      ]),
    );
    const event = sqsEvent(messages);
    const handler = createNormalizeHandler({ store: new OneUserThrottled("throttled") });
    const result = await handler(event);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[7]?.messageId }]);
    const reader = new DynamoModelReader(createDocumentClient(config), config);
    expect(await reader.getEvent(ws, "m7")).toBeUndefined();
    for (const i of [0, 8, size - 1]) expect((await reader.getEvent(ws, `m${i}`))?.event_id).toBe(`m${i}`);
  }, 120_000);
});
