import { LRUCache } from "lru-cache";
import { DependencyError } from "../../../core/src/errors";

export interface CredentialCacheOptions {
  /** How long a found value is reused; 0 disables the cache. */
  cacheSeconds: number;
  /** How long a miss is reused, at most (a new workspace or key is found within this). Default 5. */
  missSeconds?: number;
  /** Entries kept; the least recently used goes first. Default 1000. */
  maxEntries?: number;
  /** Clock, in epoch milliseconds (tests move it). */
  now?: () => number;
  /** The code and message of the `DependencyError` a failed load becomes (answered 503). */
  unavailable: { code: string; message: string };
}

/**
 * The credential look-ups' cache (write keys, sources, API keys) in a warm Lambda: an LRU with a
 * TTL, a miss kept for a shorter time than a hit, and a failed load turned into a retryable
 * `DependencyError` and never cached.
 *
 * @example
 * const cache = new CredentialCache<Source>({ cacheSeconds: 30, unavailable: { code: "credentials.unavailable", message: "…" } });
 * const source = await cache.get(`S#${ws}#${name}`, () => store.getSource(ws, name));
 */
export class CredentialCache<T extends object> {
  private readonly cache?: LRUCache<string, { value: T | undefined }>;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;

  constructor(private readonly options: CredentialCacheOptions) {
    this.ttlMs = Math.max(0, options.cacheSeconds * 1000);
    this.missTtlMs = Math.min(this.ttlMs, (options.missSeconds ?? 5) * 1000);
    if (this.ttlMs > 0) {
      const now = options.now;
      this.cache = new LRUCache({
        max: options.maxEntries ?? 1000,
        ttl: this.ttlMs,
        // Read the clock on every look-up (the default reuses a reading for 1 ms).
        ttlResolution: 0,
        ...(now ? { perf: { now } } : {}),
      });
    }
  }

  /** The cached value of `key`, or what `load` finds (then cached). */
  async get(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = this.cache?.get(key);
    if (hit) return hit.value;
    let value: T | undefined;
    try {
      value = await load();
    } catch (error) {
      throw new DependencyError(this.options.unavailable.code, this.options.unavailable.message, { cause: error });
    }
    this.cache?.set(key, { value }, { ttl: value === undefined ? this.missTtlMs : this.ttlMs });
    return value;
  }

  /** Drops `key`, so this process sees a change at once. */
  forget(key: string): void {
    this.cache?.delete(key);
  }
}
