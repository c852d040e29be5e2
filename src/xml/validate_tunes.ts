/**
 * The `<cputune>` part of `validateDomain`: resctrl cache and memory-bandwidth tunes and
 * real-time schedulers.
 *
 * @module
 */

import type { CpuSetBudget } from "../model/cpu_set.ts";
import type { CacheTune, CpuTune, MemoryTune } from "../model/domain.ts";
import { ErrorCode } from "../model/errors.ts";
import { invalid, parseCpuSetAt } from "./validation_failure.ts";

/**
 * Checks cache tunes, memory tunes and schedulers against each other.
 *
 * @param cputune The `<cputune>`.
 * @param budget The definition's allowance of set ids.
 * @throws {VirtError} Code 27 with the element path.
 */
export function validateTunes(cputune: CpuTune, budget: CpuSetBudget): void {
  const cacheSets = cputune.cachetunes.map((tune, index) =>
    validateCacheTune(tune, `/domain/cputune/cachetune[${index + 1}]`, budget)
  );
  rejectOverlaps(cacheSets, "cachetune", "Overlapping vcpus in cachetunes");
  const memorySets = cputune.memorytunes.map((tune, index) =>
    validateMemoryTune(tune, `/domain/cputune/memorytune[${index + 1}]`, budget)
  );
  rejectOverlaps(memorySets, "memorytune", "Overlapping vcpus in memorytunes");
  // A memory tune shares the resctrl group of a cache tune only when their vCPUs are the same.
  const cacheOwner = new Map<number, number>();
  cacheSets.forEach((set, owner) => set.forEach((id) => cacheOwner.set(id, owner)));
  memorySets.forEach((memory, index) => {
    const owners = new Set(memory.map((id) => cacheOwner.get(id)));
    if (owners.size === 1 && owners.has(undefined)) return;
    const [owner] = owners;
    if (owners.size > 1 || owner === undefined || cacheSets[owner].length !== memory.length) {
      throw invalid(
        ErrorCode.XML_ERROR,
        "Overlapping vcpus in memorytunes",
        `/domain/cputune/memorytune[${index + 1}]`,
      );
    }
  });
  const scheduled = new Set<number>();
  cputune.vcpuscheds.forEach((sched, index) => {
    const where = `/domain/cputune/vcpusched[${index + 1}]`;
    for (const id of parseCpuSetAt(sched.vcpus, where, budget)) {
      if (scheduled.has(id)) {
        throw invalid(ErrorCode.XML_ERROR, `vcpusched attribute 'vcpus' must not overlap`, where);
      }
      scheduled.add(id);
    }
  });
}

function validateCacheTune(tune: CacheTune, where: string, budget: CpuSetBudget): number[] {
  const vcpus = parseCpuSetAt(tune.vcpus, where, budget);
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
  validateMonitors(tune, vcpus, where, budget);
  return vcpus;
}

function validateMemoryTune(tune: MemoryTune, where: string, budget: CpuSetBudget): number[] {
  const vcpus = parseCpuSetAt(tune.vcpus, where, budget);
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
  validateMonitors(tune, vcpus, where, budget);
  return vcpus;
}

function validateMonitors(
  tune: CacheTune | MemoryTune,
  ids: number[],
  where: string,
  budget: CpuSetBudget,
): void {
  const vcpus = new Set(ids);
  tune.monitors.forEach((monitor, index) => {
    const here = `${where}/monitor[${index + 1}]`;
    if (parseCpuSetAt(monitor.vcpus, here, budget).some((id) => !vcpus.has(id))) {
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
