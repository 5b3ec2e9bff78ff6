/**
 * The read and admin API's routes: the table the handler dispatches on and the OpenAPI document
 * is generated from. The one route table (`http/routes.ts`, what API Gateway is given) takes its
 * `api` routes from here.
 */
import { z } from "zod";
import { NotFoundError, ValidationError } from "../errors";
import { matchTemplate, pathSegments } from "../http/route-template";
import { EntityMapEntry } from "../identity/entity-map";
import { readIdValue } from "../ids";
import {
  AccountListQuery,
  EntityMapListQuery,
  EntityMapUploadQuery,
  EventListQuery,
  NoQuery,
  PageQuery,
  ProfileQuery,
  RejectListQuery,
} from "./query";
import {
  Account,
  AccountMemberPage,
  AccountPage,
  AccountWithProvenance,
  EntityMapConflictError,
  EntityMapDeleted,
  EntityMapPage,
  EntityMapReport,
  EntityMapUploadResult,
  ErrorBody,
  EventPage,
  Health,
  MemberAccountPage,
  PendingCallPage,
  RejectPage,
  UserDeletedError,
  UserDeletionQueued,
  UserWithAccounts,
  UserWithProvenance,
} from "./schemas";
import { sourceRoutes } from "./source-routes";

export type ApiMethod = "GET" | "PUT" | "DELETE";

/** One documented answer of a route. */
export interface ApiResponse {
  description: string;
  /** The JSON body; absent: the shared error body (`ErrorBody`). */
  body?: z.ZodType | readonly z.ZodType[];
}

export interface ApiRoute {
  /** The name of the operation (OpenAPI operationId, log field, handler key). */
  operation: string;
  method: ApiMethod;
  /** `{name}` marks a path parameter (one path segment, URL-decoded; ids read by the id rules). */
  path: string;
  summary: string;
  description?: string;
  /** False only for `/health` and `/openapi.json`; every other route needs a workspace API key. */
  auth: boolean;
  query: z.ZodObject;
  /** Request bodies by media type (zod or zod/mini schemas). */
  body?: Readonly<Record<string, z.core.$ZodType>>;
  responses: Readonly<Record<number, ApiResponse>>;
}

/** The CSV body of an entity map upload (documentation: `parseEntityMapUpload` reads it). */
const EntityMapCsv = z
  .string()
  .describe("CSV with the header `source,kind,external_id,canonical_id`, one entry a line (RFC 4180 quoting)");

const badQuery: ApiResponse = { description: "A query parameter is invalid (`query.invalid`, `cursor.invalid`)" };
const badIdQuery: ApiResponse = {
  description:
    "A query parameter is invalid (`query.invalid`, `cursor.invalid`), or the id in the path breaks the id rules (`id.too_long`, `path.invalid`)",
};
const badId: ApiResponse = { description: "The id in the path breaks the id rules (`id.too_long`, `path.invalid`)" };
const unknownAccount: ApiResponse = { description: "No such account (`account.not_found`)" };
const unknownUser: ApiResponse = { description: "No such user (`user.not_found`) or a deleted one (`user.deleted`)" };
const withProvenance = "With `provenance=true`, also which source and call set each field.";

export const apiRoutes = [
  {
    operation: "health",
    method: "GET",
    path: "/health",
    summary: "Health: 200 once the service can read its tables",
    auth: false,
    query: NoQuery,
    responses: {
      200: { description: "The service answers", body: Health },
      503: { description: "DynamoDB cannot be read (`health.unavailable`)" },
    },
  },
  {
    operation: "openapi",
    method: "GET",
    path: "/openapi.json",
    summary: "This OpenAPI 3.1 document",
    auth: false,
    query: NoQuery,
    responses: { 200: { description: "The OpenAPI document" } },
  },
  {
    operation: "listAccounts",
    method: "GET",
    path: "/v1/accounts",
    summary: "Accounts, all or of one bucket",
    description: "Without `bucket`, every account: trial, then subscribed, then churned accounts, each by account id.",
    auth: true,
    query: AccountListQuery,
    responses: { 200: { description: "A page of accounts", body: AccountPage }, 400: badQuery },
  },
  {
    operation: "getAccount",
    method: "GET",
    path: "/v1/accounts/{accountId}",
    summary: "One account",
    description: withProvenance,
    auth: true,
    query: ProfileQuery,
    responses: {
      200: { description: "The account", body: [Account, AccountWithProvenance] },
      400: badIdQuery,
      404: unknownAccount,
    },
  },
  {
    operation: "listAccountUsers",
    method: "GET",
    path: "/v1/accounts/{accountId}/users",
    summary: "The users of an account",
    auth: true,
    query: PageQuery,
    responses: {
      200: { description: "A page of users, by user id", body: AccountMemberPage },
      400: badIdQuery,
      404: unknownAccount,
    },
  },
  {
    operation: "listAccountEvents",
    method: "GET",
    path: "/v1/accounts/{accountId}/events",
    summary: "The events of an account, newest first",
    description: "`from` is inclusive and `to` exclusive; without them the newest events of all time come first.",
    auth: true,
    query: EventListQuery,
    responses: { 200: { description: "A page of events", body: EventPage }, 400: badIdQuery, 404: unknownAccount },
  },
  {
    operation: "getUser",
    method: "GET",
    path: "/v1/users/{userId}",
    summary: "One user, with the accounts they belong to",
    description: withProvenance,
    auth: true,
    query: ProfileQuery,
    responses: {
      200: { description: "The user", body: [UserWithAccounts, UserWithProvenance] },
      400: badIdQuery,
      404: { ...unknownUser, body: [ErrorBody, UserDeletedError] },
    },
  },
  {
    operation: "deleteUser",
    method: "DELETE",
    path: "/v1/users/{userId}",
    summary: "Delete a user (as a Segment `delete` call)",
    description:
      "Queues a Segment `delete` call. The pipeline removes the user's profile, memberships, aliases, maps and events, and leaves a tombstone: `GET /v1/users/{userId}` then answers 404 `user.deleted` with `deleted_at`.",
    auth: true,
    query: NoQuery,
    responses: { 202: { description: "The deletion is queued", body: UserDeletionQueued }, 400: badId },
  },
  {
    operation: "listUserAccounts",
    method: "GET",
    path: "/v1/users/{userId}/accounts",
    summary: "The accounts of a user",
    auth: true,
    query: PageQuery,
    responses: {
      200: { description: "A page of accounts, by account id", body: MemberAccountPage },
      400: badIdQuery,
      404: unknownUser,
    },
  },
  {
    operation: "listUserEvents",
    method: "GET",
    path: "/v1/users/{userId}/events",
    summary: "The events of a user, newest first",
    description: "`from` is inclusive and `to` exclusive; without them the newest events of all time come first.",
    auth: true,
    query: EventListQuery,
    responses: { 200: { description: "A page of events", body: EventPage }, 400: badIdQuery, 404: unknownUser },
  },
  {
    operation: "listEntityMaps",
    method: "GET",
    path: "/v1/entity-maps",
    summary: "Entity maps, by source, kind and external id",
    auth: true,
    query: EntityMapListQuery,
    responses: { 200: { description: "A page of entity maps", body: EntityMapPage }, 400: badQuery },
  },
  {
    operation: "uploadEntityMaps",
    method: "PUT",
    path: "/v1/entity-maps",
    summary: "Upload entity maps (JSON array or CSV); releases the pending calls they complete",
    description:
      "Up to 10,000 rows. CSV has the header `source,kind,external_id,canonical_id`. With `dry_run=true` nothing is written and the answer is the report. An upload with conflicts writes nothing (409). Otherwise the maps are written and the pending calls whose ids are now all mapped are sent back to the pipeline, in time order.",
    auth: true,
    query: EntityMapUploadQuery,
    body: { "application/json": z.array(EntityMapEntry), "text/csv": EntityMapCsv },
    responses: {
      200: {
        description: "The report (and, unless a dry run, `released`)",
        body: [EntityMapUploadResult, EntityMapReport],
      },
      400: { description: "The upload is not valid (`entity_map.invalid`, `entity_map.too_many_rows`)" },
      409: { description: "Conflicts: nothing was written (`entity_map.conflict`)", body: EntityMapConflictError },
      415: { description: "Not JSON or CSV (`request.content_type_unsupported`)" },
      503: { description: "The maps were written but the raw queue refused the released calls; retry the upload" },
    },
  },
  {
    operation: "deleteEntityMap",
    method: "DELETE",
    path: "/v1/entity-maps/{source}/{kind}/{externalId}",
    summary: "Delete one entity map entry",
    auth: true,
    query: NoQuery,
    responses: {
      200: { description: "Deleted", body: EntityMapDeleted },
      400: {
        description:
          "`kind` is not user or account, or the external id breaks the id rules (`path.invalid`, `id.too_long`)",
      },
      404: { description: "No such entry (`entity_map.not_found`)" },
    },
  },
  {
    operation: "listRejects",
    method: "GET",
    path: "/v1/rejects",
    summary: "Rejects and data-quality problems, by message id",
    auth: true,
    query: RejectListQuery,
    responses: { 200: { description: "A page of rejects", body: RejectPage }, 400: badQuery },
  },
  {
    operation: "listPending",
    method: "GET",
    path: "/v1/pending",
    summary: "Calls waiting for entity maps, oldest event first",
    auth: true,
    query: PageQuery,
    responses: { 200: { description: "A page of pending calls", body: PendingCallPage }, 400: badQuery },
  },
  ...sourceRoutes,
] as const satisfies readonly ApiRoute[];

/** The operations of the API: the keys the handler must implement. */
export type ApiOperation = (typeof apiRoutes)[number]["operation"];

/** The operations served without an API key. */
export type PublicApiOperation = "health" | "openapi";

type RouteOf<K extends ApiOperation> = Extract<(typeof apiRoutes)[number], { operation: K }>;

/** What an operation is given: the caller's workspace, the path parameters and the parsed query. */
export interface ApiOperationInput<Query> {
  workspaceId: string;
  params: Readonly<Record<string, string>>;
  query: Query;
  /** Media type and raw bytes of the request body (uploads). */
  contentType: string | undefined;
  body: Uint8Array;
  requestId: string;
}

/** An operation's answer: status, JSON body, and counts for the request's log line. */
export interface ApiAnswer {
  status: number;
  body: unknown;
  facts?: Record<string, number | boolean>;
}

/** The implementation of every authenticated operation, each typed by its route's query schema. */
export type ApiOperations = {
  [K in Exclude<ApiOperation, PublicApiOperation>]: (
    input: ApiOperationInput<z.output<RouteOf<K>["query"]>>,
  ) => Promise<ApiAnswer>;
};

/** A request matched to its route, with its path parameters (URL-decoded). */
export interface MatchedApiRoute {
  route: (typeof apiRoutes)[number];
  params: Record<string, string>;
}

/** Path parameters that are customer ids: read by the id rules (`ids.ts`), as ingest reads them. */
const idParameters: ReadonlySet<string> = new Set(["accountId", "userId", "externalId"]);

/**
 * Decodes the path parameters of a matched route; ids are trimmed and checked by the id rules, so
 * an id no call could have stored is a 400 with a code, never a storage error.
 */
function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, segment] of Object.entries(raw)) {
    let value: string;
    try {
      value = decodeURIComponent(segment);
    } catch {
      throw new ValidationError("path.invalid", `path parameter ${name} is not valid percent-encoded UTF-8`);
    }
    if (!idParameters.has(name)) {
      params[name] = value;
      continue;
    }
    const reading = readIdValue(value);
    if (reading.kind === "refused")
      throw new ValidationError(reading.code, `path parameter ${name} ${reading.message}`);
    if (reading.kind !== "ok") throw new ValidationError("path.invalid", `path parameter ${name} is blank`);
    params[name] = reading.id;
  }
  return params;
}

/**
 * The route of a request. A path no route has is 404 `route.not_found`; a known path with another
 * method is 405 `request.method_not_allowed` (its `details.allow` lists the methods it takes).
 *
 * @example
 * matchApiRoute("GET", "/v1/accounts/acme/events").route.operation; // "listAccountEvents"
 * matchApiRoute("GET", "/v1/accounts/acme/events").params;          // { accountId: "acme" }
 */
export function matchApiRoute(method: string, path: string): MatchedApiRoute {
  const segments = pathSegments(path);
  const allow: string[] = [];
  for (const route of apiRoutes) {
    const params = matchTemplate(route.path, segments);
    if (!params) continue;
    if (route.method === method.toUpperCase()) return { route, params: decodeParams(params) };
    allow.push(route.method);
  }
  if (allow.length > 0) {
    throw new ValidationError("request.method_not_allowed", `${path} takes ${allow.join(", ")}`, {
      details: { allow },
    });
  }
  throw new NotFoundError("route.not_found", `No endpoint at ${path}`);
}
