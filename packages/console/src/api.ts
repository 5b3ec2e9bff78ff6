/**
 * The Console's only way to the data: the public read API, with the workspace API key as a Bearer
 * token. The body types are the API's own (type-only imports: nothing of the server is bundled).
 */
import type {
  Account,
  AccountMember,
  AccountWithProvenance,
  EntityMap,
  EntityMapReport,
  EntityMapUploadResult,
  Event,
  FieldProvenance,
  MemberAccount,
  PendingCall,
  Reject,
  UserWithAccounts,
} from "../../core/src/api/schemas";
import type { SourceStatus } from "../../core/src/api/source-schemas";

export type {
  Account,
  AccountMember,
  AccountWithProvenance,
  EntityMap,
  EntityMapReport,
  EntityMapUploadResult,
  Event,
  FieldProvenance,
  MemberAccount,
  PendingCall,
  Reject,
  SourceStatus,
  UserWithAccounts,
};

export type Bucket = Account["bucket"];
export const buckets: readonly Bucket[] = ["trial", "subscribed", "churned"];

/** One page of a listing; `next_cursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** An error answer of the API: its HTTP status, stable code and message, and the whole body. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** Nothing answered (the stack is down, the URL is wrong, or CORS refused the page). */
export class ApiUnreachableError extends Error {
  override name = "ApiUnreachableError";
  constructor(
    readonly baseUrl: string,
    options: { cause?: unknown } = {},
  ) {
    super(`The API at ${baseUrl} does not answer`, options);
  }
}

/**
 * The API's base URL: `VITE_API_URL` when the site was built with one (the deployed site, whose API
 * lives on another host), else the page's own origin (the local stack serves both).
 */
export function defaultApiBaseUrl(): string {
  const configured = (import.meta.env.VITE_API_URL as string | undefined)?.trim();
  return (configured || window.location.origin).replace(/\/+$/, "");
}

type Query = Record<string, string | number | boolean | undefined>;

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== "") params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** The path of one entity: ids are URL-encoded (they may hold `/` or spaces). */
export const entityPath = (collection: "accounts" | "users", id: string, rest = "") =>
  `/v1/${collection}/${encodeURIComponent(id)}${rest}`;

export interface ApiClient {
  readonly baseUrl: string;
  get<T>(path: string, query?: Query): Promise<T>;
  /** Every page of a listing, up to `maxPages`; `complete` is false when more were left. */
  all<T>(path: string, query?: Query, maxPages?: number): Promise<{ items: T[]; complete: boolean }>;
  uploadEntityMapsCsv(csv: string, options: { dryRun: boolean; replace: boolean }): Promise<EntityMapUploadResult>;
  health(): Promise<{ status: string; version: string }>;
}

/**
 * A client for one API key. `onUnauthorized` is called on any 401, so the app can ask for a key
 * again wherever the refusal happens.
 *
 * @example
 * const api = createApiClient("http://127.0.0.1:3000", "sk_…");
 * const { items } = await api.get<Page<Account>>("/v1/accounts", { bucket: "trial" });
 */
export function createApiClient(
  baseUrl: string,
  apiKey: string,
  options: { onUnauthorized?: (error: ApiError) => void; fetch?: typeof fetch } = {},
): ApiClient {
  const send = options.fetch ?? ((input, init) => fetch(input, init));

  async function request<T>(method: string, path: string, init: { body?: string; contentType?: string } = {}) {
    let response: Response;
    try {
      response = await send(`${baseUrl}${path}`, {
        method,
        headers: {
          accept: "application/json",
          authorization: `Bearer ${apiKey}`,
          ...(init.contentType ? { "content-type": init.contentType } : {}),
        },
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
    } catch (cause) {
      throw new ApiUnreachableError(baseUrl, { cause });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) {
      const fields = (typeof body === "object" && body !== null ? body : {}) as { code?: unknown; message?: unknown };
      const error = new ApiError(
        response.status,
        typeof fields.code === "string" ? fields.code : `http.${response.status}`,
        typeof fields.message === "string" ? fields.message : response.statusText || `HTTP ${response.status}`,
        body,
      );
      if (response.status === 401) options.onUnauthorized?.(error);
      throw error;
    }
    return body as T;
  }

  return {
    baseUrl,
    get: <T>(path: string, query?: Query) => request<T>("GET", withQuery(path, query)),
    async all<T>(path: string, query: Query = {}, maxPages = 20) {
      const items: T[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const answer = await request<Page<T>>("GET", withQuery(path, { limit: 500, ...query, cursor }));
        items.push(...answer.items);
        if (!answer.next_cursor) return { items, complete: true };
        cursor = answer.next_cursor;
      }
      return { items, complete: false };
    },
    uploadEntityMapsCsv: (csv, { dryRun, replace }) =>
      request<EntityMapUploadResult>("PUT", withQuery("/v1/entity-maps", { dry_run: dryRun, replace }), {
        body: csv,
        contentType: "text/csv",
      }),
    health: () => request("GET", "/health"),
  };
}
