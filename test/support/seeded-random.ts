/**
 * A small seeded PRNG (mulberry32) and the helpers the property and reliability tests draw from:
 * the same seed gives the same calls, orders and faults on every run, so a failure reproduces.
 *
 * @example
 * const r = prng(42);
 * r.pick(["a", "b"]); r.int(10); shuffle(items, r);
 */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick, int: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p };
}

export type Random = ReturnType<typeof prng>;

/** Fisher-Yates in place, driven by `r`. */
export function shuffle<T>(items: T[], r: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** The seed of a test: `SEED` from the environment when set (to replay a failure), else `fallback`. */
export function testSeed(fallback: number): number {
  const given = Number(process.env.SEED);
  return Number.isInteger(given) && process.env.SEED !== "" ? given : fallback;
}
