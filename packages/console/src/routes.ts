/**
 * The Console's pages and their paths. None starts like an API path (`/v1`, `/health`,
 * `/openapi.json`), so a page can never hide an API route.
 */

export type Route =
  | { page: "feed" }
  | { page: "accounts" }
  | { page: "account"; accountId: string }
  | { page: "user"; userId: string }
  | { page: "rejects" }
  | { page: "pending" }
  | { page: "entity-maps" }
  | { page: "sources" }
  | { page: "not-found"; path: string };

/** The route of a path. */
export function routeOf(path: string): Route {
  const segments = path.split("/").filter(Boolean);
  const decoded = (segment: string) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  };
  const [first, second, ...rest] = segments;
  if (rest.length > 0) return { page: "not-found", path };
  if (first === undefined) return { page: "feed" };
  if (second === undefined) {
    if (first === "accounts") return { page: "accounts" };
    if (first === "rejects") return { page: "rejects" };
    if (first === "pending") return { page: "pending" };
    if (first === "entity-maps") return { page: "entity-maps" };
    if (first === "sources") return { page: "sources" };
    return { page: "not-found", path };
  }
  const id = decoded(second);
  if (id !== undefined && first === "accounts") return { page: "account", accountId: id };
  if (id !== undefined && first === "users") return { page: "user", userId: id };
  return { page: "not-found", path };
}

export const accountHref = (accountId: string) => `/accounts/${encodeURIComponent(accountId)}`;
export const userHref = (userId: string) => `/users/${encodeURIComponent(userId)}`;
