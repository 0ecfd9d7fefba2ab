/**
 * Sampling spread over time: `items` taken in turn over `rounds` rounds, `n` samples of
 * each in all, so a slow spell of this shared machine hits every item alike instead of one
 * item's whole sample.
 */
export async function inRounds<T>(
  items: readonly T[],
  rounds: number,
  n: (item: T) => number,
  sample: (item: T) => Promise<void>,
  pauseMs = 0,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const item of items) {
      for (let i = 0; i < Math.ceil(n(item) / rounds); i++) await sample(item);
    }
    if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** Milliseconds `work` takes. */
export async function elapsed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}
