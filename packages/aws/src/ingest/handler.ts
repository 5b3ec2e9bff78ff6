import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { IngestError } from "../../../core/src/errors";
import { httpStatusOf, partialSuccessBody, successBody } from "../../../core/src/http/status";
import { type IngestPorts, type IngestResult, receiveIngestRequest } from "../../../core/src/ingest/receive";
import { deliveryOf } from "../../../core/src/sources/delivery-status";
import type { FunctionSources } from "../../../core/src/sources/registry";
import { createDocumentClient, createSqsClient } from "../clients";
import type { Config } from "../config";
import { DeliveryStatusStore } from "../dynamo/delivery-status";
import { WorkspaceStore } from "../dynamo/workspaces";
import { onFirstUse } from "../handlers/first-use";
import {
  errorResult,
  errorSummary,
  type HttpApiHandler,
  httpRequestOf,
  jsonResult,
  jsonTextResult,
} from "../http/api-gateway";
import { logger } from "../logger";
import type { AuditedFunction } from "../sdk-call-audit";
import { createRawQueueSender } from "../sqs/raw-queue";

/** The log methods the handler uses (Powertools' Logger has them). */
export interface RequestLog {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** What the ingest handler needs: where credentials and the queue are, and where to log. */
export interface IngestDependencies extends IngestPorts {
  log?: RequestLog;
  /** Per-source delivery counters (one UpdateItem per request that reached a known source). */
  deliveries?: Pick<DeliveryStatusStore, "record">;
  /** How long the counter write may hold up the answer before it is given up (default 2 s). */
  countersTimeoutMs?: number;
}

/** The counter write's deadline: the calls are queued already, so a slow counter store must not hold the answer. */
const defaultCountersTimeoutMs = 2000;

/** The body of the answer to a request whose calls were all queued (`jsonResult`'s), serialised once. */
const queuedAnswer = JSON.stringify(successBody);

/**
 * The ingest dependencies of a configuration: the workspace store (its look-ups cached for
 * `credentialCacheSeconds`) and the raw queue, for the function serving `sources` (by default the
 * ingest function: the Segment webhook and the tracking API), whose SDK calls are audited as `caller`'s.
 *
 * @example
 * const deps = createIngestDependencies(await loadConfig());
 * const stripe = createIngestDependencies(await loadConfig(), { sources: stripeFunctionSources, caller: "stripe-ingest" });
 */
export function createIngestDependencies(
  config: Config,
  served: { sources?: FunctionSources; caller: AuditedFunction } = { caller: "ingest" },
): IngestDependencies {
  const db = createDocumentClient(config, served.caller);
  return {
    ...(served.sources ? { sources: served.sources } : {}),
    credentials: new WorkspaceStore(db, config.entitiesTable, { cacheSeconds: config.credentialCacheSeconds }),
    queue: createRawQueueSender(createSqsClient(config, served.caller), config.rawQueueUrl),
    deliveries: new DeliveryStatusStore(db, config.entitiesTable),
  };
}

/**
 * The ingest Lambda handler (API Gateway HTTP API, payload v2) over the given dependencies, or a
 * function that makes them on first use (once per container). Answers 200 `{"success":true}` only
 * once the raw queue accepted every message; every other answer is the JSON error body. Logs one
 * line per request: ids, counts, outcome and duration, never credentials or payload contents.
 *
 * @example
 * export const handler = createIngestHandler(async () => createIngestDependencies(await loadConfig()));
 */
export function createIngestHandler(
  dependencies: IngestDependencies | (() => Promise<IngestDependencies>),
): HttpApiHandler {
  const resolve = onFirstUse(dependencies);

  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const started = performance.now();
    const request = httpRequestOf(event);
    const line: Record<string, unknown> = { requestId: request.requestId, bytes: request.body.byteLength };
    let log: RequestLog = logger;
    let result: APIGatewayProxyStructuredResultV2;
    try {
      const deps = await resolve();
      log = deps.log ?? logger;
      const outcome = await receiveIngestRequest(request, deps);
      Object.assign(line, outcome.facts);
      await countDelivery(deps, outcome, line);
      if (outcome.ok) {
        result =
          outcome.refused.length > 0
            ? jsonResult(200, partialSuccessBody(outcome.accepted, outcome.refused))
            : jsonTextResult(200, queuedAnswer);
        line.outcome = "queued";
      } else {
        result = errorResult(outcome.error);
        line.outcome = outcome.error.code;
        if (httpStatusOf(outcome.error) >= 500) line.error = errorSummary(outcome.error);
      }
    } catch (error) {
      result = errorResult(error);
      line.outcome = error instanceof IngestError ? error.code : "internal.error";
      line.error = errorSummary(error);
    }
    line.status = result.statusCode;
    line.durationMs = Math.round(performance.now() - started);
    if ((result.statusCode ?? 500) >= 500 || line.countersError !== undefined) log.error("ingest", line);
    else log.info("ingest", line);
    return result;
  };
}

/**
 * Adds the request to its source's delivery counters. The answer to Segment does not depend on
 * them (the calls are queued already), so a failed write, or one still unanswered at its deadline
 * (`countersTimeoutMs`), is logged as an error, not answered.
 */
async function countDelivery(deps: IngestDependencies, outcome: IngestResult, line: Record<string, unknown>) {
  const delivery = deps.deliveries && deliveryOf(outcome, new Date());
  if (!delivery) return;
  // What `AbortSignal.timeout` does, with the timer cleared once the write is answered: a timer
  // left to fire after every request (and its abort event) cost more than the rest of the handler.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    deps.countersTimeoutMs ?? defaultCountersTimeoutMs,
  );
  timer.unref();
  try {
    await deps.deliveries?.record(delivery, { abortSignal: deadline.signal });
  } catch (error) {
    line.countersError = errorSummary(error);
  } finally {
    clearTimeout(timer);
  }
}
