/**
 * A timer-drift probe of the main event loop for the benches: a 1 ms timer re-armed from its own
 * callback, whose late firings are the times the loop was blocked (by a request's work, a
 * garbage collection, or the kernel running other threads). It sees what a request waiting on
 * the loop would wait, without being such a request.
 *
 * To learn what blocked, run the bench with `--cpu-prof`: the profile's busy stretches of the
 * main thread (no `(idle)` sample between) longer than the gaps reported here name the functions
 * and collections that made them.
 *
 * @module
 */

import { percentile } from "./_figures.ts";

/** A gap counts as blocked from this many ms late. */
export const LOOP_GAP_MIN_MS = 5;

/** The probe's timer period, in ms. */
const PERIOD_MS = 1;

/** Late firings of a running probe; stop() ends it and gives them. */
export interface LoopGapProbe {
  /** Ends the probe: each gap of at least {@linkcode LOOP_GAP_MIN_MS} (ms late), and how long it ran. */
  stop(): { gapsMs: number[]; ranMs: number };
}

/**
 * Starts probing the loop the caller runs on.
 *
 * @example
 * ```ts ignore
 * const probe = startLoopGapProbe();
 * await work();
 * console.log(loopGapSummary(probe.stop()));
 * ```
 */
export function startLoopGapProbe(): LoopGapProbe {
  const gapsMs: number[] = [];
  const started = performance.now();
  let last = started;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    const now = performance.now();
    const late = now - last - PERIOD_MS;
    if (late >= LOOP_GAP_MIN_MS) gapsMs.push(late);
    last = now;
    timer = setTimeout(tick, PERIOD_MS);
  };
  timer = setTimeout(tick, PERIOD_MS);
  return {
    stop() {
      clearTimeout(timer);
      return { gapsMs, ranMs: performance.now() - started };
    },
  };
}

/** `N gaps ≥ 5 ms (M ≥ 20 ms), p99 X ms, max Y ms, blocked Z% of the time`, per `per` items. */
export function loopGapSummary(
  { gapsMs, ranMs }: { gapsMs: number[]; ranMs: number },
  per?: { count: number; unit: string },
): string {
  const sorted = [...gapsMs].sort((a, b) => a - b);
  const blocked = sorted.reduce((sum, gap) => sum + gap, 0);
  const over20 = sorted.filter((gap) => gap >= 20).length;
  const rate = per === undefined || per.count === 0
    ? ""
    : ` (${(sorted.length / per.count).toFixed(2)} per ${per.unit})`;
  const tail = sorted.length === 0
    ? ""
    : `, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${
      sorted[sorted.length - 1].toFixed(1)
    } ms`;
  return `${sorted.length} loop gaps ≥ ${LOOP_GAP_MIN_MS} ms${rate}, ${over20} ≥ 20 ms${tail}, blocked ${
    (100 * blocked / ranMs).toFixed(1)
  }% of ${(ranMs / 1000).toFixed(1)} s`;
}
