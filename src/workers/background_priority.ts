/**
 * Background scheduling for the service's worker threads: a thread that does one request's
 * CPU-heavy work (reading a large definition, a dry build, a log commit) runs as a batch thread
 * (`SCHED_BATCH`), which the kernel does not let preempt the running main loop when a message
 * wakes it. On a host with load average 10–18 on 2 cores, handing a message to a thread blocked
 * the main loop for p90 17–26 ms without it and 9–18 ms with it (`postMessage` timed around the
 * call, bench/define_load_bench.ts, 2 runs each); the version calls' p99 did not differ
 * measurably: there the other programs' load sets the tail.
 *
 * The thread keeps its nice value, so its share of a busy host is the same as before: a lower
 * one (nice 5 was tried) left a 2 MB definition unread after its 30-second limit at a host load
 * average of about 20 on 2 cores.
 *
 * On Linux the policy belongs to each thread (`sched_setscheduler` with id 0 changes the calling
 * thread only), so the main loop keeps its own.
 *
 * @module
 */

import { libcBinding } from "../host/libc.ts";

/** Linux's `SCHED_BATCH`: no wakeup preemption, scheduled as CPU-bound. */
export const SCHED_BATCH = 3;

const LIBC = libcBinding({
  sched_setscheduler: { parameters: ["i32", "i32", "buffer"], result: "i32" },
});

/**
 * Makes the calling thread a batch thread (see the module notes); answers whether it is one now.
 * Best effort: a host that refuses (no FFI, not Linux) leaves the thread as it was.
 *
 * @example
 * ```ts ignore
 * import { runInBackground } from "./background_priority.ts";
 * console.log(runInBackground()); // true on Linux
 * ```
 */
export function runInBackground(): boolean {
  try {
    // struct sched_param { int sched_priority; } = 0, as SCHED_BATCH requires.
    return LIBC.symbols().sched_setscheduler(0, SCHED_BATCH, new Uint8Array(4)) === 0;
  } catch {
    return false;
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
