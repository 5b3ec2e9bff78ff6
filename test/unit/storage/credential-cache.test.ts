import { describe, expect, it } from "vitest";
import { CredentialCache } from "../../../packages/aws/src/dynamo/credential-cache";

const unavailable = { code: "credentials.unavailable", message: "retry" };

function counted(values: Map<string, { v: number }>) {
  const loads: string[] = [];
  return {
    loads,
    load: (key: string) => async () => {
      loads.push(key);
      return values.get(key);
    },
  };
}

describe("CredentialCache", () => {
  it("reuses a found value for the TTL and a miss for the shorter miss TTL", async () => {
    const t0 = Date.parse("2024-05-01T12:00:00.000Z");
    let now = t0;
    const cache = new CredentialCache<{ v: number }>({ cacheSeconds: 30, now: () => now, unavailable });
    const values = new Map([["a", { v: 1 }]]);
    const { loads, load } = counted(values);
    expect(await cache.get("a", load("a"))).toEqual({ v: 1 });
    expect(await cache.get("b", load("b"))).toBeUndefined();
    values.set("a", { v: 2 });
    values.set("b", { v: 3 });
    now = t0 + 4_000;
    expect([await cache.get("a", load("a")), await cache.get("b", load("b"))]).toEqual([{ v: 1 }, undefined]);
    now = t0 + 6_000;
    expect([await cache.get("a", load("a")), await cache.get("b", load("b"))]).toEqual([{ v: 1 }, { v: 3 }]);
    now = t0 + 31_000;
    expect(await cache.get("a", load("a"))).toEqual({ v: 2 });
    expect(loads).toEqual(["a", "b", "b", "a"]);
  });

  it("forgets a key at once, and caches nothing with cacheSeconds 0", async () => {
    const values = new Map([["a", { v: 1 }]]);
    const cache = new CredentialCache<{ v: number }>({ cacheSeconds: 30, unavailable });
    const { loads, load } = counted(values);
    await cache.get("a", load("a"));
    cache.forget("a");
    await cache.get("a", load("a"));
    const off = new CredentialCache<{ v: number }>({ cacheSeconds: 0, unavailable });
    await off.get("a", load("a"));
    await off.get("a", load("a"));
    expect(loads).toEqual(["a", "a", "a", "a"]);
  });

  it("turns a failed load into a retryable error and does not cache it", async () => {
    const cache = new CredentialCache<{ v: number }>({ cacheSeconds: 30, unavailable });
    const cause = new Error("ThrottlingException");
    await expect(cache.get("a", () => Promise.reject(cause))).rejects.toMatchObject({
      code: "credentials.unavailable",
      retryable: true,
      cause,
    });
    expect(await cache.get("a", async () => ({ v: 1 }))).toEqual({ v: 1 });
  });

  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const cache = new CredentialCache<{ v: number }>({ cacheSeconds: 30, maxEntries: 2, unavailable });
    const values = new Map([
      ["a", { v: 1 }],
      ["b", { v: 2 }],
      ["c", { v: 3 }],
    ]);
    const { loads, load } = counted(values);
    await cache.get("a", load("a"));
    await cache.get("b", load("b"));
    await cache.get("a", load("a"));
    await cache.get("c", load("c"));
    await cache.get("a", load("a"));
    await cache.get("b", load("b"));
    expect(loads).toEqual(["a", "b", "c", "b"]);
  });
});
