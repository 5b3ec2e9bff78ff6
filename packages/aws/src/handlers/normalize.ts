import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { ModelStore } from "../../../core/src/pipeline/model-store";
import { type NormalizeSettings, normalizeBatch } from "../../../core/src/pipeline/normalize-batch";
import { createDocumentClient } from "../clients";
import { loadConfig } from "../config";
import { DynamoModelStore } from "../dynamo/model-store";
import { logger } from "../logger";
import { onFirstUse } from "./first-use";

export interface NormalizeDependencies {
  store: ModelStore;
  now?: () => string;
  settings?: NormalizeSettings;
}

/**
 * The normalize Lambda: one SQS batch in, partial batch failures out. Only messages that failed
 * transiently are reported, so SQS delivers just those again (and moves them to the DLQ after the
 * redrive policy's receive count); permanent problems were stored as rejects and are acknowledged.
 *
 * The batch is processed as a whole rather than record by record (which Powertools' batch utility
 * does, so it is not used) so that reads and writes are shared across the batch: each profile is
 * read and merged once, each identity looked up once, a profile's months written only when new.
 *
 * @example
 * export const handler = createNormalizeHandler();
 */
export function createNormalizeHandler(dependencies?: NormalizeDependencies | (() => Promise<NormalizeDependencies>)) {
  const resolve = onFirstUse(
    dependencies ??
      (async (): Promise<NormalizeDependencies> => {
        const config = await loadConfig();
        return {
          store: new DynamoModelStore(createDocumentClient(config, "normalize"), config),
          settings: { pendingRetentionDays: config.pendingRetentionDays },
        };
      }),
  );
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const started = Date.now();
    const { store, now = () => new Date().toISOString(), settings } = await resolve();
    const records = event.Records.map((r) => ({ id: r.messageId, body: r.body }));
    const outcome = await normalizeBatch(records, store, now, settings);
    logger.info("normalize batch", { ...outcome.stats, durationMs: Date.now() - started });
    return { batchItemFailures: outcome.failedRecordIds.map((id) => ({ itemIdentifier: id })) };
  };
}
