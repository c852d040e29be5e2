/**
 * Deadlines of connection reads and writes, checked together by one timer instead of one timer
 * per read or write: a request costs a map entry, not a timer, and an expired deadline is acted
 * on within {@linkcode SWEEP_INTERVAL_MS}.
 *
 * @module
 */

/** How often deadlines are checked, in ms; a timeout fires up to this much late. */
export const SWEEP_INTERVAL_MS = 100;

const deadlines = new Map<number, { deadlineMs: number; onExpire: () => void }>();
let nextId = 0;
let sweeper: ReturnType<typeof setInterval> | undefined;

/**
 * Calls `onExpire` once `deadlineMs` (epoch ms) has passed, unless the returned function is
 * called first.
 *
 * @example
 * ```ts
 * import { watchDeadline } from "./deadline_sweeper.ts";
 * const cancel = watchDeadline(Date.now() + 1000, () => console.log("late"));
 * cancel();
 * ```
 */
export function watchDeadline(deadlineMs: number, onExpire: () => void): () => void {
  const id = nextId++;
  deadlines.set(id, { deadlineMs, onExpire });
  if (sweeper === undefined) {
    const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
    // The sweeper alone never keeps the process alive.
    Deno.unrefTimer(timer);
    sweeper = timer;
  }
  return () => {
    deadlines.delete(id);
  };
}

function sweep(): void {
  if (deadlines.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
    return;
  }
  const now = Date.now();
  for (const [id, entry] of deadlines) {
    if (entry.deadlineMs > now) continue;
    deadlines.delete(id);
    try {
      entry.onExpire();
    } catch {
      // An expiry action (closing a closed connection) has nothing left to do.
    }
  }
}
