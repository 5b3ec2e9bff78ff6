import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The structured JSON logger of every function. One line per request or batch, with ids and
 * counts; never secrets, keys or trait values (callers pass only counts and identifiers).
 *
 * @example
 * logger.info("ingest", { workspaceId, events: 12, outcome: "queued" });
 */
export const logger = new Logger({
  serviceName: "segment-ingest",
  logLevel: (process.env.LOG_LEVEL as "INFO" | undefined) ?? (process.env.VITEST ? "SILENT" : "INFO"),
});
