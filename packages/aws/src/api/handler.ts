import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { type OpenApiDocument, openApiDocument } from "../../../core/src/api/openapi";
import { parseQuery, queryParameters } from "../../../core/src/api/query";
import { type ApiOperationInput, type ApiOperations, matchApiRoute } from "../../../core/src/api/routes";
import { AuthError, DependencyError, IngestError } from "../../../core/src/errors";
import { bearerToken } from "../../../core/src/ingest/authorization";
import type { RawQueueSender } from "../../../core/src/ingest/receive";
import { createDocumentClient, createSqsClient } from "../clients";
import type { Config } from "../config";
import { type ApiKeyAuthenticator, ApiKeyStore } from "../dynamo/api-keys";
import { DeliveryStatusStore } from "../dynamo/delivery-status";
import { DynamoIdentityStore } from "../dynamo/identity-store";
import { DynamoModelReader } from "../dynamo/model-reader";
import { DynamoModelStore } from "../dynamo/model-store";
import { WorkspaceStore } from "../dynamo/workspaces";
import { onFirstUse } from "../handlers/first-use";
import { errorResult, errorSummary, type HttpApiHandler, httpRequestOf, jsonResult } from "../http/api-gateway";
import type { RequestLog } from "../ingest/handler";
import { logger } from "../logger";
import { createRawQueueSender } from "../sqs/raw-queue";
import { createApiOperations } from "./operations";
import { createSourceOperations, type SourceStores } from "./source-operations";

/** What the read and admin API needs: API keys, the model, entity maps and pending calls, the raw queue. */
export interface ApiDependencies {
  apiKeys: ApiKeyAuthenticator;
  reader: DynamoModelReader;
  identity: DynamoIdentityStore;
  queue: RawQueueSender;
  /** Sources and their delivery counters (`GET /v1/sources`). */
  sources: Omit<SourceStores, "now">;
  /** Shown by `/health` and in the OpenAPI document. */
  version: string;
  now?: () => Date;
  log?: RequestLog;
}

/**
 * The API dependencies of a configuration: stores over one DynamoDB client (API keys cached for
 * `credentialCacheSeconds`) and the raw queue sender.
 *
 * @example
 * const deps = createApiDependencies(await loadConfig());
 */
export function createApiDependencies(config: Config): ApiDependencies {
  const db = createDocumentClient(config, "api");
  const model = new DynamoModelStore(db, config);
  return {
    apiKeys: new ApiKeyStore(db, config.entitiesTable, { cacheSeconds: config.credentialCacheSeconds }),
    reader: new DynamoModelReader(db, config),
    identity: new DynamoIdentityStore(db, config, model),
    queue: createRawQueueSender(createSqsClient(config, "api"), config.rawQueueUrl),
    sources: {
      workspaces: new WorkspaceStore(db, config.entitiesTable),
      deliveries: new DeliveryStatusStore(db, config.entitiesTable),
    },
    version: config.version,
  };
}

interface Prepared {
  deps: ApiDependencies;
  operations: ApiOperations;
  document: OpenApiDocument;
}

/**
 * The read and admin API Lambda handler (API Gateway HTTP API, payload v2) over the given
 * dependencies, or a function that makes them on first use (once per container). Serves `/health`,
 * `/openapi.json` and the `/v1/accounts`, `/v1/users`, `/v1/entity-maps`, `/v1/rejects` and
 * `/v1/pending` routes of the API route table; every route but the first two needs
 * `Authorization: Bearer <API key>` and reads only that key's workspace. Every error answer is the
 * shared JSON error body. Logs one line per request: ids, operation, counts, status and duration,
 * never keys, query values or trait values.
 *
 * @example
 * export const handler = createApiHandler(async () => createApiDependencies(await loadConfig()));
 */
export function createApiHandler(dependencies: ApiDependencies | (() => Promise<ApiDependencies>)): HttpApiHandler {
  const dependenciesOnce = onFirstUse(dependencies);
  const prepare = onFirstUse(async (): Promise<Prepared> => {
    const deps = await dependenciesOnce();
    return {
      deps,
      operations: {
        ...createApiOperations({
          reader: deps.reader,
          identity: deps.identity,
          queue: deps.queue,
          now: deps.now ?? (() => new Date()),
        }),
        ...createSourceOperations({ ...deps.sources, now: deps.now ?? (() => new Date()) }),
      },
      document: openApiDocument(deps.version),
    };
  });

  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const started = performance.now();
    const request = httpRequestOf(event);
    const line: Record<string, unknown> = { requestId: request.requestId, method: request.method };
    let log: RequestLog = logger;
    let result: APIGatewayProxyStructuredResultV2;
    try {
      const { route, params } = matchApiRoute(request.method, request.path);
      line.route = route.path;
      line.operation = route.operation;
      if (route.operation === "health") {
        result = await health(prepare);
      } else {
        const { deps, operations, document } = await prepare();
        log = deps.log ?? logger;
        if (route.operation === "openapi") {
          result = jsonResult(200, document);
        } else {
          const owner = await authenticate(deps.apiKeys, request.headers.authorization);
          line.workspaceId = owner.workspaceId;
          line.keyId = owner.keyId;
          const input: ApiOperationInput<unknown> = {
            workspaceId: owner.workspaceId,
            params,
            query: parseQuery(route.query, queryParameters(event.rawQueryString)),
            contentType: request.headers["content-type"],
            body: request.body,
            requestId: request.requestId,
          };
          const run = operations[route.operation] as (
            input: ApiOperationInput<unknown>,
          ) => ReturnType<ApiOperations["getAccount"]>;
          const answer = await run(input);
          Object.assign(line, answer.facts);
          result = jsonResult(answer.status, answer.body);
        }
      }
      line.outcome = "ok";
    } catch (error) {
      result = errorAnswer(error);
      line.outcome = error instanceof IngestError ? error.code : "internal.error";
      if ((result.statusCode ?? 500) >= 500) line.error = errorSummary(error);
    }
    line.status = result.statusCode;
    line.durationMs = Math.round(performance.now() - started);
    if ((result.statusCode ?? 500) >= 500) log.error("api", line);
    else log.info("api", line);
    return result;
  };
}

/** 200 `{ status: "ok", version }` once DynamoDB answers; 503 otherwise (also while the config is broken). */
async function health(prepare: () => Promise<Prepared>): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const { deps } = await prepare();
    await deps.reader.checkReachable();
    return jsonResult(200, { status: "ok", version: deps.version });
  } catch (error) {
    throw new DependencyError("health.unavailable", "The service cannot read its tables yet", { cause: error });
  }
}

/** The workspace of a Bearer API key; 401 without one or for an unknown (or revoked) key. */
async function authenticate(apiKeys: ApiKeyAuthenticator, authorization: string | undefined) {
  const apiKey = bearerToken(authorization);
  if (apiKey === undefined) {
    throw new AuthError("auth.api_key_missing", "Send a workspace API key as Authorization: Bearer <key>");
  }
  const owner = await apiKeys.authenticate(apiKey);
  if (!owner) throw new AuthError("auth.api_key_invalid", "Unknown or revoked API key");
  return owner;
}

/** The error answer, with the headers HTTP asks for on 401 and 405. */
function errorAnswer(error: unknown): APIGatewayProxyStructuredResultV2 {
  const result = errorResult(error);
  const headers = { ...(result.headers ?? {}) };
  if (result.statusCode === 401) headers["www-authenticate"] = 'Bearer realm="segment-ingest"';
  const allow = error instanceof IngestError ? error.details?.allow : undefined;
  if (result.statusCode === 405 && Array.isArray(allow)) headers.allow = allow.join(", ");
  return { ...result, headers };
}
