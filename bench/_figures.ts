/**
 * How the benchmarks summarise timings: medians, percentiles and one-line summaries in ms.
 *
 * @module
 */

/** The value at `fraction` (0–1) of ascending `sorted` values. */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

/** The median of `values` (any order). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** `median X ms (min A, max B)`, with `digits` decimals. */
export function medianSummary(values: readonly number[], digits = 2): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${median(values).toFixed(digits)} ms (min ${sorted[0].toFixed(digits)}, max ${
    sorted[sorted.length - 1].toFixed(digits)
  })`;
}

/** `p50 X ms, p99 Y ms, max Z ms`. */
export function percentileSummary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 0.5).toFixed(2)} ms, p99 ${
    percentile(sorted, 0.99).toFixed(2)
  } ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`;
}

/**
 * Items per second of `step` over `inputs`, `rounds` times through, after `warmupRounds`
 * unmeasured passes (JIT warm-up).
 */
export function itemsPerSecond<T>(
  inputs: readonly T[],
  rounds: number,
  step: (input: T) => unknown,
  warmupRounds = 1,
): number {
  for (let round = 0; round < warmupRounds; round++) {
    for (const input of inputs) step(input);
  }
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (const input of inputs) step(input);
  }
  return (inputs.length * rounds) / ((performance.now() - started) / 1000);
}
