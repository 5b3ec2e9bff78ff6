/** Small timing tools for the benchmark: medians of repeated runs, so one noisy run does not decide. */

/** Runs `work` `iterations` times per round, `rounds` rounds, and returns the median ns per iteration. */
export async function nsPerIteration(
  work: () => unknown | Promise<unknown>,
  iterations: number,
  rounds = 7,
): Promise<number> {
  for (let i = 0; i < Math.min(iterations, 200); i++) await work(); // warm-up: JIT, caches
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await work();
    samples.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return median(samples);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
