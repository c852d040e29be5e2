/**
 * The figures of a process and of its threads that statistics need, read from `/proc` (Linux):
 * CPU time, resident memory and the last CPU from `stat`, run-queue wait from `schedstat`, and
 * the CPU affinity from `status`. A vCPU of QEMU is one thread (`/proc/PID/task/TID`).
 *
 * Every read is one small file of a pseudo file system: it does not block on storage. A process
 * or thread that vanished reads as undefined.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { CLOCK_TICKS_PER_SECOND } from "../../src/host/process_state.ts";

/** Bytes per page of `stat`'s `rss` (4 KiB on x86-64 and arm64 with 4 KiB pages). */
export const PAGE_BYTES = 4096;

/** Nanoseconds per clock tick of `stat`'s times. */
export const NS_PER_CLOCK_TICK = 1_000_000_000 / CLOCK_TICKS_PER_SECOND;

/** Largest CPU number accepted in an affinity list (Linux's `NR_CPUS` limit). */
export const HOST_CPU_MAX = 8191;

/** What `stat` says of a process or thread. */
export interface ProcessFigures {
  /** CPU time in user mode (field 14), in ns. */
  userNs: number;
  /** CPU time in kernel mode (field 15), in ns. */
  systemNs: number;
  /** Resident memory (field 24), in KiB. */
  rssKiB: number;
  /** The CPU it last ran on (field 39). */
  processor: number;
}

/**
 * Parses the text of a `stat` file (of a process or a thread).
 *
 * @param text The file's content.
 * @param where The file, named in the error.
 * @returns The figures.
 * @throws {VirtError} INTERNAL_ERROR when the text is not a stat line.
 *
 * @example
 * ```ts
 * import { parseProcessFigures } from "./process_figures.ts";
 * const rest = "S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 3 0 100 0 2048" +
 *   " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1";
 * console.log(parseProcessFigures(`42 (qemu) ${rest}`, "/proc/42/stat"));
 * // { userNs: 2500000000, systemNs: 500000000, rssKiB: 8192, processor: 1 }
 * ```
 */
export function parseProcessFigures(text: string, where: string): ProcessFigures {
  const close = text.lastIndexOf(")");
  const fields = close < 0 ? [] : text.slice(close + 2).trim().split(/\s+/);
  // Field N of stat is fields[N - 3]: the command name (field 2) ends at the last ')'.
  const numbers = [fields[11], fields[12], fields[21], fields[36]].map(Number);
  if (fields.length < 37 || !numbers.every((value) => Number.isSafeInteger(value) && value >= 0)) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `cannot parse ${where}: '${text.slice(0, 80)}'`,
      { where },
    );
  }
  const [userTicks, systemTicks, rssPages, processor] = numbers;
  return {
    userNs: userTicks * NS_PER_CLOCK_TICK,
    systemNs: systemTicks * NS_PER_CLOCK_TICK,
    rssKiB: rssPages * (PAGE_BYTES / 1024),
    processor,
  };
}

/**
 * Parses a `schedstat` file: time spent running and waiting on a run queue, in ns.
 *
 * @param text The file's content: `RUN_NS WAIT_NS TIMESLICES`.
 * @param where The file, named in the error.
 * @throws {VirtError} INTERNAL_ERROR when the text is not three counters.
 *
 * @example
 * ```ts
 * import { parseSchedstat } from "./process_figures.ts";
 * console.log(parseSchedstat("1200 300 7\n", "schedstat")); // { runNs: 1200, waitNs: 300 }
 * ```
 */
export function parseSchedstat(text: string, where: string): { runNs: number; waitNs: number } {
  const fields = text.trim().split(/\s+/).map(Number);
  if (fields.length < 2 || !fields.slice(0, 2).every((value) => Number.isSafeInteger(value))) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `cannot parse ${where}: '${text.slice(0, 80)}'`, {
      where,
    });
  }
  return { runNs: fields[0], waitNs: fields[1] };
}

/**
 * The CPUs a task may run on, from the `Cpus_allowed_list` line of its `status` file.
 *
 * @param text The content of `status`.
 * @param where The file, named in the error.
 * @returns The CPU numbers, ascending.
 * @throws {VirtError} INTERNAL_ERROR when the line is missing or malformed, or names a CPU above
 *   {@linkcode HOST_CPU_MAX}.
 *
 * @example
 * ```ts
 * import { parseCpusAllowed } from "./process_figures.ts";
 * console.log(parseCpusAllowed("Name:\tqemu\nCpus_allowed_list:\t0-2,5\n", "status"));
 * // [0, 1, 2, 5]
 * ```
 */
export function parseCpusAllowed(text: string, where: string): number[] {
  const line = /^Cpus_allowed_list:\s*(\S*)\s*$/m.exec(text);
  const bad = () =>
    new VirtError(ErrorCode.INTERNAL_ERROR, `cannot read the CPU affinity in ${where}`, { where });
  if (line === null) throw bad();
  const cpus = new Set<number>();
  for (const part of line[1].split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) throw bad();
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first || last > HOST_CPU_MAX) throw bad();
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * Reads a small `/proc` file, or undefined when the process or thread is gone.
 *
 * @param path The file.
 * @returns Its text.
 *
 * @example
 * ```ts
 * import { readProcText } from "./process_figures.ts";
 * console.log(readProcText(`/proc/${Deno.pid}/stat`)?.startsWith(`${Deno.pid} `)); // true
 * ```
 */
export function readProcText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || isNoSuchProcess(error)) return undefined;
    throw error;
  }
}

function isNoSuchProcess(error: unknown): boolean {
  return error instanceof Error && /ESRCH|No such process/.test(error.message);
}
