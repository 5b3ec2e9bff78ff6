/**
 * Route templates in API Gateway's syntax (`/v1/accounts/{accountId}`): the one way a path is
 * matched to a route, by ingest's sources and by the read API alike.
 */

/** A public HTTP route: what API Gateway is given. `{name}` is a path parameter. */
export interface RouteTemplate {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
}

/**
 * The segments of a path after its leading `/`, with trailing slashes removed (`all`) or one
 * trailing slash removed (`one`: ingest's rule, where `/v1/track//` is not `/v1/track`).
 *
 * @example
 * pathSegments("/v1/accounts/a1/"); // ["v1", "accounts", "a1"]
 */
export function pathSegments(path: string, trailing: "all" | "one" = "all"): string[] {
  return path
    .replace(trailing === "all" ? /\/+$/ : /\/$/, "")
    .split("/")
    .slice(1);
}

/** Each template's segments, split once (the templates are a fixed set). */
const templateParts = new Map<string, string[]>();

/**
 * The raw (still percent-encoded) path parameters of segments that match a template, or undefined.
 * A parameter never matches an empty segment.
 *
 * @example
 * matchTemplate("/v1/users/{userId}", ["v1", "users", "u%201"]); // { userId: "u%201" }
 */
export function matchTemplate(template: string, segments: readonly string[]): Record<string, string> | undefined {
  let parts = templateParts.get(template);
  if (parts === undefined) {
    parts = pathSegments(template);
    templateParts.set(template, parts);
  }
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] as string;
    if (part.startsWith("{") && part.endsWith("}")) {
      if (segment === "") return undefined;
      params[part.slice(1, -1)] = segment;
    } else if (part !== segment) return undefined;
  }
  return params;
}
