/**
 * Background scheduling for the service's worker threads: a thread that does one request's
 * CPU-heavy work (reading a large definition, a dry build, a log commit) runs as a batch thread
 * with a higher nice value than the main loop, so the kernel never lets it preempt the main loop
 * when it wakes, and gives the main loop the larger share of a busy core. Without it, handing a
 * large definition to a thread on a loaded host let the thread take the core the main loop was
 * on: other callers' requests waited out the thread's whole slice (tens of ms).
 *
 * On Linux the nice value and the policy belong to each thread (`setpriority` and
 * `sched_setscheduler` with id 0 change the calling thread only), so the main loop keeps its own.
 *
 * @module
 */

import { libcBinding } from "../host/libc.ts";

/** The nice value of background threads (the main loop keeps its own, usually 0). */
export const BACKGROUND_NICE = 10;

/** Linux's `SCHED_BATCH`: no wakeup preemption, scheduled as CPU-bound. */
const SCHED_BATCH = 3;
const PRIO_PROCESS = 0;

const LIBC = libcBinding({
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
});

/** What {@linkcode runInBackground} changed (false where the host refused or is not Linux). */
export interface BackgroundPriority {
  batch: boolean;
  nice: boolean;
}

/**
 * Makes the calling thread a background thread (see the module notes). Best effort: a host that
 * refuses (no FFI, not Linux) leaves the thread as it was, which is only slower for others.
 *
 * @example
 * ```ts ignore
 * import { runInBackground } from "./background_priority.ts";
 * console.log(runInBackground()); // { batch: true, nice: true } on Linux
 * ```
 */
export function runInBackground(): BackgroundPriority {
  try {
    const libc = LIBC.symbols();
    // struct sched_param { int sched_priority; } = 0, as SCHED_BATCH requires.
    const batch = libc.sched_setscheduler(0, SCHED_BATCH, new Uint8Array(4)) === 0;
    // Never above the thread's own priority: a service started nicer than that keeps its value.
    const target = Math.max(threadScheduling().nice, BACKGROUND_NICE);
    const nice = libc.setpriority(PRIO_PROCESS, 0, target) === 0;
    return { batch, nice };
  } catch {
    return { batch: false, nice: false };
  }
}

/**
 * The calling thread's scheduling policy and nice value as the kernel reports them (fields 41
 * and 19 of `/proc/thread-self/stat`), for tests.
 */
export function threadScheduling(): { policy: number; nice: number } {
  const stat = Deno.readTextFileSync("/proc/thread-self/stat");
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { policy: Number(fields[38]), nice: Number(fields[16]) };
}
