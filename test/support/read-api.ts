/**
 * The read API of a running stack as a test reads it: one page, or every page of a list. (Waiting
 * for the normalizer is `eventually` or `untilSettled`.)
 */

export interface ReadApi {
  /** GET a path with the API key; the status and the parsed JSON (undefined when not JSON). */
  get<T>(path: string): Promise<{ status: number; body: T }>;
  /** Every item of a paginated list, following `next_cursor` until it is null. */
  all<T>(path: string): Promise<T[]>;
}

export function readApi(baseUrl: string, apiKey: string): ReadApi {
  const get = async <T>(path: string) => {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body: body as T };
  };
  return {
    get,
    async all<T>(path: string) {
      const items: T[] = [];
      let cursor: string | null = null;
      do {
        const separator = path.includes("?") ? "&" : "?";
        const page: string = `${path}${separator}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const { status, body } = await get<{ items: T[]; next_cursor: string | null }>(page);
        if (status !== 200) throw new Error(`GET ${page} answered ${status}: ${JSON.stringify(body)}`);
        items.push(...body.items);
        cursor = body.next_cursor;
      } while (cursor);
      return items;
    },
  };
}
