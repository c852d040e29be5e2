/**
 * The `<cputune>` part of `validateDomain`: resctrl cache and memory-bandwidth tunes and
 * real-time schedulers.
 *
 * @module
 */

import type { CacheTune, CpuTune, MemoryTune } from "../model/domain.ts";
import { ErrorCode } from "../model/errors.ts";
import { invalid, parseCpuSetAt } from "./validation_failure.ts";

/**
 * Checks cache tunes, memory tunes and schedulers against each other.
 *
 * @param cputune The `<cputune>`.
 * @throws {VirtError} Code 27 with the element path.
 */
export function validateTunes(cputune: CpuTune): void {
  const cacheSets = cputune.cachetunes.map((tune, index) =>
    validateCacheTune(tune, `/domain/cputune/cachetune[${index + 1}]`)
  );
  rejectOverlaps(cacheSets, "cachetune", "Overlapping vcpus in cachetunes");
  const memorySets = cputune.memorytunes.map((tune, index) =>
    validateMemoryTune(tune, `/domain/cputune/memorytune[${index + 1}]`)
  );
  rejectOverlaps(memorySets, "memorytune", "Overlapping vcpus in memorytunes");
  // A memory tune shares the resctrl group of a cache tune only when their vCPUs are the same.
  memorySets.forEach((memory, index) => {
    for (const cache of cacheSets) {
      const shared = memory.filter((id) => cache.includes(id));
      if (
        shared.length > 0 && (shared.length !== memory.length || shared.length !== cache.length)
      ) {
        throw invalid(
          ErrorCode.XML_ERROR,
          "Overlapping vcpus in memorytunes",
          `/domain/cputune/memorytune[${index + 1}]`,
        );
      }
    }
  });
  const scheduled = new Set<number>();
  cputune.vcpuscheds.forEach((sched, index) => {
    const where = `/domain/cputune/vcpusched[${index + 1}]`;
    for (const id of parseCpuSetAt(sched.vcpus, where)) {
      if (scheduled.has(id)) {
        throw invalid(ErrorCode.XML_ERROR, `vcpusched attribute 'vcpus' must not overlap`, where);
      }
      scheduled.add(id);
    }
  });
}

function validateCacheTune(tune: CacheTune, where: string): number[] {
  const vcpus = parseCpuSetAt(tune.vcpus, where);
  const seen = new Map<string, string>();
  tune.caches.forEach((cache, index) => {
    const key = `${cache.id}/${cache.level}`;
    const previous = seen.get(key);
    const here = `${where}/cache[${index + 1}]`;
    if (previous === cache.type) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Cache allocation for id '${cache.id}' level '${cache.level}' type '${cache.type}' is already defined`,
        here,
      );
    }
    if (previous !== undefined && (previous === "both" || cache.type === "both")) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Cache type 'both' cannot be mixed with other cache types for id '${cache.id}' level '${cache.level}'`,
        here,
      );
    }
    seen.set(key, cache.type);
  });
  validateMonitors(tune, vcpus, where);
  return vcpus;
}

function validateMemoryTune(tune: MemoryTune, where: string): number[] {
  const vcpus = parseCpuSetAt(tune.vcpus, where);
  const nodes = new Set<number>();
  tune.nodes.forEach((node, index) => {
    if (nodes.has(node.id)) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Memory Bandwidth already defined for node ${node.id}`,
        `${where}/node[${index + 1}]`,
      );
    }
    nodes.add(node.id);
  });
  validateMonitors(tune, vcpus, where);
  return vcpus;
}

function validateMonitors(tune: CacheTune | MemoryTune, vcpus: number[], where: string): void {
  tune.monitors.forEach((monitor, index) => {
    const here = `${where}/monitor[${index + 1}]`;
    if (parseCpuSetAt(monitor.vcpus, here).some((id) => !vcpus.includes(id))) {
      throw invalid(ErrorCode.XML_ERROR, "Monitor vcpus conflicts with allocation", here);
    }
  });
}

function rejectOverlaps(sets: number[][], name: string, message: string): void {
  const owner = new Map<number, number>();
  sets.forEach((set, index) => {
    for (const id of set) {
      if (owner.has(id)) {
        throw invalid(ErrorCode.XML_ERROR, message, `/domain/cputune/${name}[${index + 1}]`);
      }
      owner.set(id, index);
    }
  });
}
