/**
 * The host's CPU time and memory figures as libvirt's `virNodeGetCPUStats` and
 * `virNodeGetMemoryStats` report them (`virsh nodecpustats`, `virsh nodememstats`), read from
 * the kernel: `/proc/stat` and `/proc/meminfo`, or a NUMA cell's `meminfo`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** One named figure. */
export interface NodeStat {
  field: string;
  value: number;
}

/** Nanoseconds per `/proc/stat` tick (USER_HZ is 100 on Linux). */
const NS_PER_TICK = 10_000_000;
/** Largest kernel file read, in bytes. */
const PROC_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** `VIR_NODE_CPU_STATS_ALL_CPUS` / `VIR_NODE_MEMORY_STATS_ALL_CELLS`. */
export const ALL = -1;

/**
 * CPU time of one CPU or of all (`cpu` = -1), in ns, as libvirt sums them: `kernel` is system,
 * irq and softirq; `user` is user and nice.
 *
 * @param stat The text of `/proc/stat`.
 * @throws {VirtError} INVALID_ARG (8) for a CPU the host does not have.
 *
 * @example
 * ```ts
 * import { cpuStats } from "./node_stats.ts";
 * console.log(cpuStats("cpu  1 2 3 4 5 6 7 0 0 0\n", -1)[0]); // { field: "kernel", value: 160000000 }
 * ```
 */
export function cpuStats(stat: string, cpu: number): NodeStat[] {
  const label = cpu === ALL ? "cpu" : `cpu${cpu}`;
  const line = stat.split("\n").find((entry) => entry.split(/\s+/)[0] === label);
  if (cpu < ALL || line === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, "Invalid cpuNum in virHostCPUGetStatsLinux", {
      where: "cpuNum",
    });
  }
  const [user, nice, system, idle, iowait, irq, softirq] = line.trim().split(/\s+/).slice(1)
    .map((value) => Number(value) || 0);
  return [
    { field: "kernel", value: (system + (irq ?? 0) + (softirq ?? 0)) * NS_PER_TICK },
    { field: "user", value: (user + nice) * NS_PER_TICK },
    { field: "idle", value: idle * NS_PER_TICK },
    { field: "iowait", value: (iowait ?? 0) * NS_PER_TICK },
  ];
}

/**
 * Memory of the host, in KiB: `total`, `free`, `buffers`, `cached`, as libvirt reports them.
 *
 * @param meminfo The text of `/proc/meminfo` or of `…/nodeN/meminfo`.
 */
export function memoryStats(meminfo: string): NodeStat[] {
  const value = (name: string) => {
    const match = new RegExp(`^(?:Node \\d+ )?${name}:\\s*(\\d+)\\s*kB`, "m").exec(meminfo);
    return match === null ? 0 : Number(match[1]);
  };
  return [
    { field: "total", value: value("MemTotal") },
    { field: "free", value: value("MemFree") },
    { field: "buffers", value: value("Buffers") },
    { field: "cached", value: value("Cached") },
  ];
}

/** The host's CPU times (`cpu` = -1: all CPUs). */
export function readCpuStats(cpu: number): NodeStat[] {
  return cpuStats(readProc("/proc/stat"), cpu);
}

/**
 * The host's memory figures (`cell` = -1: the whole host).
 *
 * @throws {VirtError} INVALID_ARG (8) for a cell the host does not have.
 */
export function readMemoryStats(cell: number): NodeStat[] {
  if (cell === ALL) return memoryStats(readProc("/proc/meminfo"));
  const path = `/sys/devices/system/node/node${cell}/meminfo`;
  if (cell < 0 || !Number.isInteger(cell) || !exists(path)) {
    let last = 0;
    while (exists(`/sys/devices/system/node/node${last + 1}`)) last++;
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `cellNum in virHostMemGetStats must be less than or equal to ${last}`,
      { where: "cellNum" },
    );
  }
  // A cell's meminfo has no buffers or page cache figures: libvirt reports total and free only.
  return memoryStats(readProc(path)).slice(0, 2);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readProc(path: string): string {
  try {
    return new TextDecoder().decode(Deno.readFileSync(path).subarray(0, PROC_FILE_MAX_BYTES));
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot read ${path}: ${(error as Error).message}`,
    );
  }
}
