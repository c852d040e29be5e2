/**
 * The host's hardware as `virsh nodeinfo` shows it, read from `/proc` and `/sys`.
 *
 * @module
 */

import type { NodeInfo } from "../../actors/driver_protocol.ts";

/**
 * Reads this machine's node information. Missing files give conservative values (1 socket,
 * 1 thread per core) rather than an error: nodeinfo is informational.
 *
 * @example
 * ```ts
 * import { readNodeInfo } from "./node_info.ts";
 * console.log(readNodeInfo().cpus > 0); // true
 * ```
 */
export function readNodeInfo(): NodeInfo {
  const cpuinfo = readText("/proc/cpuinfo");
  const meminfo = readText("/proc/meminfo");
  const processors = cpuinfo.split("\n").filter((line) => /^processor\s*:/.test(line)).length ||
    navigator.hardwareConcurrency || 1;
  const mhzLine = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(cpuinfo);
  const physicalIds = new Set(
    [...cpuinfo.matchAll(/^physical id\s*:\s*(\d+)/gm)].map((match) => match[1]),
  );
  const coresLine = /^cpu cores\s*:\s*(\d+)/m.exec(cpuinfo);
  const sockets = Math.max(1, physicalIds.size);
  const cores = coresLine === null ? Math.max(1, processors / sockets) : Number(coresLine[1]);
  const threads = Math.max(1, Math.round(processors / (sockets * cores)));
  const memory = /^MemTotal:\s*(\d+)\s*kB/m.exec(meminfo);
  const nodes = countNumaNodes();
  return {
    model: Deno.build.arch,
    memoryKiB: memory === null ? 0 : Number(memory[1]),
    cpus: processors,
    mhz: mhzLine === null ? 0 : Math.round(Number(mhzLine[1])),
    nodes,
    sockets: Math.max(1, Math.round(sockets / nodes)),
    cores,
    threads,
  };
}

function countNumaNodes(): number {
  try {
    let count = 0;
    for (const entry of Deno.readDirSync("/sys/devices/system/node")) {
      if (/^node\d+$/.test(entry.name)) count++;
    }
    return Math.max(1, count);
  } catch {
    return 1;
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}
