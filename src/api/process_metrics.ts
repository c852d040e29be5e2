/**
 * The standard `process_*` families every Prometheus client exports (names, types and units of
 * the Go and Node clients: CPU seconds, resident and virtual memory, open and maximum file
 * descriptors, start time), read from Linux's `/proc/self`, and `evirt_build_info`. On a system
 * without `/proc` the `process_*` families are described with no sample.
 *
 * @module
 */

import { CLOCK_TICKS_PER_SECOND, readProcessStat } from "../host/process_state.ts";
import { VERSION } from "../model/version.ts";
import type { MetricFamily } from "./prometheus_text.ts";

/** Where Linux shows processes; the files read per scrape are a few hundred bytes each. */
const PROC = "/proc";

/**
 * The `process_*` families of this process and `evirt_build_info`.
 *
 * @example
 * ```ts
 * import { processFamilies } from "./process_metrics.ts";
 * const families = processFamilies();
 * console.log(families.map((family) => family.name).includes("process_resident_memory_bytes")); // true
 * ```
 */
export function processFamilies(): MetricFamily[] {
  const stat = readProcessStat(Deno.pid);
  const status = readKeyed(`${PROC}/self/status`, /^(\w+):\s+(\d+) kB$/);
  const bootSeconds = readKeyed(`${PROC}/stat`, /^(btime) (\d+)$/).get("btime");
  const limits = readText(`${PROC}/self/limits`) ?? "";
  const maxFds = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  // Go's client writes -1 for an unlimited address space.
  const maxAddress = /^Max address space\s+(\d+|unlimited)/m.exec(limits)?.[1];
  const openFds = countEntries(`${PROC}/self/fd`);
  const gauge = (name: string, help: string, value: number | undefined): MetricFamily => ({
    name,
    type: "gauge",
    help,
    samples: value === undefined ? [] : [{ labels: {}, value }],
  });
  return [
    {
      name: "process_cpu_seconds_total",
      type: "counter",
      help: "Total user and system CPU time spent in seconds.",
      samples: stat === undefined ? [] : [{
        labels: {},
        value: (stat.userTimeTicks + stat.systemTimeTicks) / CLOCK_TICKS_PER_SECOND,
      }],
    },
    gauge(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      kib(status.get("VmRSS")),
    ),
    gauge(
      "process_virtual_memory_bytes",
      "Virtual memory size in bytes.",
      kib(status.get("VmSize")),
    ),
    gauge(
      "process_virtual_memory_max_bytes",
      "Maximum amount of virtual memory available in bytes.",
      maxAddress === undefined ? undefined : maxAddress === "unlimited" ? -1 : Number(maxAddress),
    ),
    gauge("process_open_fds", "Number of open file descriptors.", openFds),
    gauge(
      "process_max_fds",
      "Maximum number of open file descriptors.",
      maxFds === undefined ? undefined : Number(maxFds),
    ),
    gauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      stat === undefined || bootSeconds === undefined
        ? undefined
        : bootSeconds + stat.startTimeTicks / CLOCK_TICKS_PER_SECOND,
    ),
    {
      name: "evirt_build_info",
      type: "gauge",
      help: "evirt's version and the Deno running it; always 1.",
      samples: [{ labels: { deno: Deno.version.deno, version: VERSION }, value: 1 }],
    },
  ];
}

function kib(value: number | undefined): number | undefined {
  return value === undefined ? undefined : value * 1024;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** `KEY → number` of the lines of `path` that `pattern` (two groups) matches. */
function readKeyed(path: string, pattern: RegExp): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of (readText(path) ?? "").split("\n")) {
    const match = pattern.exec(line);
    if (match !== null) values.set(match[1], Number(match[2]));
  }
  return values;
}

function countEntries(path: string): number | undefined {
  try {
    let count = 0;
    for (const _ of Deno.readDirSync(path)) count++;
    return count;
  } catch {
    return undefined;
  }
}
