import { existsSync, readFileSync } from "node:fs";
import { AuthError, DependencyError, type IngestError, NotFoundError, ValidationError } from "../../core/src/errors";
import { dataDirectory, devCredentialsPath } from "../../local/src/dev-workspace";
import { type CommandOptions, type OptionValues, optionalString, UsageError } from "./command";

/**
 * How CLI commands talk to a running stack's read and admin API: where it is, which key to send,
 * and the two failures a person most often meets, said plainly (the stack is not running; the key
 * is wrong).
 */

/**
 * Where the local stack saves the dev workspace's credentials (`npm start` writes it): in
 * `DATA_DIR` when set, else `.data` at the repository root, the same directory the stack uses.
 */
export function devCredentialsFile(env: Readonly<Record<string, string | undefined>>): string {
  return devCredentialsPath(dataDirectory(env));
}

/** The options every API command takes. */
export const apiOptions = {
  url: { type: "string" },
  "api-key": { type: "string" },
} as const satisfies CommandOptions;

/** Options of listing commands: page size, a page's cursor, or every page. */
export const listOptions = {
  ...apiOptions,
  limit: { type: "string" },
  cursor: { type: "string" },
  all: { type: "boolean" },
} as const satisfies CommandOptions;

export const listUsage = "[--limit N] [--cursor C | --all] [--url URL] [--api-key KEY]";

/**
 * The error of a failed API call, of the class that matches its status, so `--json` prints the
 * API's error body as it came (with fields such as an upload's conflict report).
 */
function apiCallError(status: number, code: string, message: string, answer: Record<string, unknown>): IngestError {
  const options = { details: { status, answer } };
  if (status === 401) return new AuthError(code, message, options);
  if (status === 404) return new NotFoundError(code, message, options);
  if (status >= 500) return new DependencyError(code, message, options);
  return new ValidationError(code, message, options);
}

export interface ApiTarget {
  url: string;
  apiKey: string;
}

/**
 * Where the API is and the key to use: `--url` (default `http://127.0.0.1:$PORT`, PORT 3000), and
 * `--api-key`, else `SEGMENT_INGEST_API_KEY`, else the `apiKey` the local stack saved.
 *
 * @example
 * apiTargetOf({ url: "http://127.0.0.1:3000", "api-key": "sk_…" }, process.env);
 */
export function apiTargetOf(
  values: OptionValues,
  env: Readonly<Record<string, string | undefined>>,
  credentialsFile = devCredentialsFile(env),
): ApiTarget {
  const url = (optionalString(values, "url") ?? `http://127.0.0.1:${env.PORT || 3000}`).replace(/\/+$/, "");
  const apiKey = optionalString(values, "api-key") ?? (env.SEGMENT_INGEST_API_KEY || savedApiKey(credentialsFile));
  if (!apiKey) {
    throw new UsageError(
      `no API key: pass --api-key, set SEGMENT_INGEST_API_KEY, or start the local stack (npm start), which saves one in ${credentialsFile}`,
    );
  }
  return { url, apiKey };
}

function savedApiKey(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { apiKey?: unknown };
    return typeof saved.apiKey === "string" && saved.apiKey !== "" ? saved.apiKey : undefined;
  } catch {
    return undefined;
  }
}

/** A request to the API: query parameters (undefined ones left out) and an optional body. */
export interface ApiRequest {
  method?: "GET" | "PUT" | "DELETE";
  query?: Record<string, string | number | boolean | undefined>;
  body?: string;
  contentType?: string;
}

/**
 * Calls the API and returns the JSON answer of a 2xx. Throws `cli.api_unreachable`
 * when nothing answers, `cli.api_key_refused` on 401, and the API's own code and message otherwise
 * (its other answer fields, such as an upload's conflict report, in `details.answer`).
 *
 * @example
 * const page = await callApi(target, "/v1/accounts", { query: { bucket: "trial", limit: 20 } });
 */
export async function callApi(target: ApiTarget, path: string, request: ApiRequest = {}): Promise<unknown> {
  const url = new URL(`${target.url}${path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method ?? "GET",
      headers: {
        authorization: `Bearer ${target.apiKey}`,
        accept: "application/json",
        ...(request.contentType ? { "content-type": request.contentType } : {}),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
  } catch (error) {
    throw new DependencyError(
      "cli.api_unreachable",
      `cannot reach the API at ${target.url}: is \`npm start\` running?`,
      {
        cause: error,
      },
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status === 401) {
    throw new AuthError(
      "cli.api_key_refused",
      `the API key was refused by ${target.url} (check --api-key, SEGMENT_INGEST_API_KEY or the local stack's dev-credentials.json)`,
    );
  }
  if (!response.ok) {
    const answer = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const { success: _success, code, message, ...rest } = answer;
    throw apiCallError(
      response.status,
      typeof code === "string" ? code : `http.${response.status}`,
      typeof message === "string" ? message : `the API answered ${response.status}`,
      rest,
    );
  }
  return body;
}

/** A page of a listing as the API answers it. */
export interface ListPage<T> {
  items: T[];
  next_cursor: string | null;
}

function pageSize(values: OptionValues): number | undefined {
  const limit = optionalString(values, "limit");
  if (limit === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(limit)) throw new UsageError("--limit takes a positive whole number");
  return Number(limit);
}

/**
 * One page of a listing (`--limit`, `--cursor`), or with `--all` every page, following cursors.
 *
 * @example
 * const { items } = await listFromApi(target, "/v1/rejects", { code: "trait.nested_object" }, values);
 */
export async function listFromApi<T>(
  target: ApiTarget,
  path: string,
  query: Record<string, string | undefined>,
  values: OptionValues,
): Promise<ListPage<T>> {
  const all = values.all === true;
  let cursor = optionalString(values, "cursor");
  if (all && cursor !== undefined) throw new UsageError("--all starts at the first page: leave out --cursor");
  const limit = pageSize(values);
  const items: T[] = [];
  for (;;) {
    const page = (await callApi(target, path, { query: { ...query, limit, cursor } })) as ListPage<T>;
    items.push(...page.items);
    if (!all || page.next_cursor === null) return { items, next_cursor: all ? null : page.next_cursor };
    cursor = page.next_cursor;
  }
}

/** The line under a table that says how to get the next page. */
export function moreHint(page: ListPage<unknown>): string {
  return page.next_cursor === null ? "" : `\n\nMore: run again with --cursor ${page.next_cursor} (or --all)`;
}
