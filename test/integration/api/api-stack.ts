import type { SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "vitest";
import type { z } from "zod";
import { type ApiDependencies, createApiDependencies, createApiHandler } from "../../../packages/aws/src/api/handler";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import type { Config } from "../../../packages/aws/src/config";
import { ApiKeyStore } from "../../../packages/aws/src/dynamo/api-keys";
import { DynamoIdentityStore } from "../../../packages/aws/src/dynamo/identity-store";
import { DynamoModelStore } from "../../../packages/aws/src/dynamo/model-store";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createNormalizeHandler } from "../../../packages/aws/src/handlers/normalize";
import type { RawQueueMessage } from "../../../packages/core/src/queue-message";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { provisionTestResources } from "../../support/local-resources";
import { freshWorkspace, rawMessage, sqsEvent } from "../../support/normalize-harness";

/**
 * The read and admin API of one test file on the real local servers: fresh tables and queues, the
 * real API handler (API key cache off) behind the HTTP adapter, and the real normalize handler to
 * put data in the way production does.
 */
export interface ApiStack {
  config: Config;
  server: HandlerServer;
  workspaces: WorkspaceStore;
  apiKeys: ApiKeyStore;
  identity: DynamoIdentityStore;
  sqs: SQSClient;
  /** Lines the API handler logged. */
  logLines: { level: string; message: string; attributes: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** When the normalizer says it processed calls (held and received times). */
export const normalizedAt = "2024-06-02T00:00:00.000Z";

export async function startApiStack(): Promise<ApiStack> {
  const { config } = await provisionTestResources();
  const db = createDocumentClient(config);
  const sqs = createSqsClient(config);
  const model = new DynamoModelStore(db, config);
  const logLines: ApiStack["logLines"] = [];
  const deps: ApiDependencies = {
    ...createApiDependencies({ ...config, credentialCacheSeconds: 0, version: "test-1" }),
    log: {
      info: (message, attributes) => logLines.push({ level: "info", message, attributes }),
      error: (message, attributes) => logLines.push({ level: "error", message, attributes }),
    },
  };
  const server = await startHandlerServer([{ prefix: "/", handler: createApiHandler(deps) }]);
  return {
    config,
    server,
    workspaces: new WorkspaceStore(db, config.entitiesTable),
    apiKeys: new ApiKeyStore(db, config.entitiesTable),
    identity: new DynamoIdentityStore(db, config, model),
    sqs,
    logLines,
    async close() {
      await server.close();
      db.destroy();
      sqs.destroy();
    },
  };
}

/** Runs the real normalize handler over raw queue messages, as the SQS subscription would. */
export async function normalize(config: Config, messages: RawQueueMessage[]): Promise<void> {
  const handler = createNormalizeHandler({
    store: new DynamoModelStore(createDocumentClient(config), config),
    now: () => normalizedAt,
  });
  const result = await handler(sqsEvent(messages));
  expect(result.batchItemFailures).toEqual([]);
}

/**
 * Delivers Segment calls of one source through the normalizer, as received by ingest at
 * `receivedAt` (a call stamped more than 24 h later orders by that receive time).
 */
export async function deliver(
  config: Config,
  workspaceId: string,
  calls: Record<string, unknown>[],
  source = "product",
  receivedAt?: string,
): Promise<void> {
  await normalize(config, [rawMessage(workspaceId, calls, source, receivedAt)]);
}

/** A new workspace with an API key. */
export async function workspaceWithKey(stack: ApiStack): Promise<{ ws: string; key: string; keyId: string }> {
  const ws = freshWorkspace();
  await stack.workspaces.createWorkspace({ id: ws });
  const { apiKey, keyId } = await stack.apiKeys.issueApiKey(ws, { name: "tests" });
  return { ws, key: apiKey, keyId };
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked by the tests and by `conforms`.
  body: any;
}

/** Calls the API with a key (or none) and returns status, headers and the JSON body. */
export async function call(
  stack: ApiStack,
  path: string,
  options: {
    key?: string;
    method?: string;
    body?: string;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const response = await fetch(`${stack.server.url}${path}`, {
    method: options.method ?? "GET",
    headers: {
      ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
      ...(options.contentType === undefined ? {} : { "content-type": options.contentType }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
}

/** Follows `next_cursor` from the first page to the last, returning every item and the page count. */
export async function allPages(
  stack: ApiStack,
  path: string,
  key: string,
  query: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: items are checked by the callers.
): Promise<{ items: any[]; pages: number }> {
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams({ ...query, ...(cursor === null ? {} : { cursor }) });
    const page = await call(stack, `${path}?${params}`, { key });
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
    pages++;
    if (pages > 1000) throw new Error("cursor loop");
  } while (cursor !== null);
  return { items, pages };
}

/**
 * Asserts that an answer matches its documented schema exactly: parsing keeps every documented
 * field and drops undocumented ones, so any difference is drift between the code and the document.
 */
export function conforms(schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(parsed.data).toEqual(body);
}
