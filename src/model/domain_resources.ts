/**
 * Changing a domain's memory and vCPU counts (`setmem`, `setmaxmem`, `setvcpus`) and reading
 * its vCPU counts (`vcpucount`): libvirt 9.0's flags, its checks and messages, and the
 * definitions that result. Pure: the domain actor records what these return
 * (`actors/resource_commands.ts`), the drivers carry out the live part.
 *
 * Facts from libvirt 9.0 (its public API, `virDomainObjGetDefs`, the QEMU driver and the test
 * driver, checked against `virsh -c test:///default` and `qemu:///system` on this machine):
 * - `--current` (no flag) means the live definition when the domain runs, else the persistent
 *   one; `--live` on an inactive domain is code 55 `domain is not running`; `--config` on a
 *   transient domain is code 55 `transient domains do not have any persistent config`.
 * - `setmem` above the maximum is code 8 `cannot set memory higher than max memory`; the maximum
 *   is the smaller of the live and persistent ones when both change.
 * - `setmaxmem` of a running domain's live definition is code 55 `cannot resize the maximum
 *   memory on an active domain`; lowering it below the current memory lowers that too.
 * - `setvcpus --maximum` needs `--config` (code 8 `Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by
 *   flag 'VIR_DOMAIN_VCPU_MAXIMUM'`).
 *
 * @module
 */

import type { DomainDefinition } from "./domain.ts";
import { ErrorCode, VirtError } from "./errors.ts";

/** `VIR_DOMAIN_AFFECT_LIVE`. */
export const AFFECT_LIVE = 1;
/** `VIR_DOMAIN_AFFECT_CONFIG`. */
export const AFFECT_CONFIG = 2;
/** `VIR_DOMAIN_MEM_MAXIMUM` (memory) and `VIR_DOMAIN_VCPU_MAXIMUM` (vCPUs). */
export const MAXIMUM = 4;
/** `VIR_DOMAIN_VCPU_GUEST`: count or change the vCPUs the guest OS uses (through its agent). */
export const VCPU_GUEST = 8;
/** `VIR_DOMAIN_VCPU_HOTPLUGGABLE`: vCPUs added to the config are hotpluggable. */
export const VCPU_HOTPLUGGABLE = 16;
/** `VIR_DOMAIN_BLOCK_RESIZE_BYTES`: the size is in bytes, not KiB. */
export const BLOCK_RESIZE_BYTES = 1;

/** `LLONG_MAX / 1024`: sizes from it up the public API refuses as an overflow (code 82). */
export const MEMORY_MAX_KIB = Number.MAX_SAFE_INTEGER;

/** The most vCPUs a definition may have (libvirt's test driver: 32 on its test host). */
export const TEST_MAX_VCPUS = 32;

/** Which definitions a change affects, once `--current` is resolved. */
export interface ResourceScope {
  /** The running instance's definition. */
  live: boolean;
  /** The persistent definition. */
  config: boolean;
}

/** The domain as the checks see it. */
export interface ResourceDomain {
  /** Whether it runs (or is paused). */
  active: boolean;
  /** Whether it has a persistent definition. */
  persistent: boolean;
}

/**
 * libvirt's `virDomainObjGetDefs`: the definitions `flags` name (none: the live one when the
 * domain runs, else the persistent one).
 *
 * @throws {VirtError} 55 for `--live` on an inactive domain or `--config` on a transient one.
 *
 * @example
 * ```ts
 * import { resolveScope } from "./domain_resources.ts";
 * console.log(resolveScope(0, { active: true, persistent: true })); // { live: true, config: false }
 * ```
 */
export function resolveScope(flags: number, domain: ResourceDomain): ResourceScope {
  let live = (flags & AFFECT_LIVE) !== 0;
  let config = (flags & AFFECT_CONFIG) !== 0;
  if (!live && !config) {
    live = domain.active;
    config = !domain.active;
  }
  if (live && !domain.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if (config && !domain.persistent) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "transient domains do not have any persistent config",
    );
  }
  return { live, config };
}

/**
 * Refuses flags outside `allowed`, as libvirt's `virCheckFlags` does in a driver function.
 *
 * @throws {VirtError} 8 `unsupported flags (0x…) in function …`.
 */
export function checkResourceFlags(flags: number, allowed: number, functionName: string): void {
  const unknown = flags & ~allowed;
  if (unknown !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `unsupported flags (0x${unknown.toString(16)}) in function ${functionName}`,
      { where: "flags", bare: true },
    );
  }
}

/**
 * The public API's checks of a memory size (`virDomainSetMemory*`, `virDomainSetMaxMemory`).
 *
 * @throws {VirtError} 8 for zero, 82 for a size past libvirt's limit.
 */
export function checkMemoryArgument(memoryKiB: number, api: string): void {
  if (!Number.isSafeInteger(memoryKiB) || memoryKiB < 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `memory in ${api} must be a number of KiB`, {
      where: "memory",
    });
  }
  if (memoryKiB === 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `memory in ${api} must not be zero`, {
      where: "memory",
      bare: true,
    });
  }
  if (memoryKiB >= MEMORY_MAX_KIB) {
    throw new VirtError(ErrorCode.OVERFLOW, `input too large: ${memoryKiB}`, { where: "memory" });
  }
}

/**
 * The public API's checks of a vCPU count and its flags (`virDomainSetVcpus*`).
 *
 * @throws {VirtError} 8 for zero, `--maximum` without `--config` or `--guest` with it, 82 above
 *   65535.
 */
export function checkVcpuArgument(count: number, flags: number, api: string): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `nvcpus in ${api} must be a count`, {
      where: "nvcpus",
    });
  }
  if (count === 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `nvcpus in ${api} must not be zero`, {
      where: "nvcpus",
      bare: true,
    });
  }
  if (count > 0xffff) {
    throw new VirtError(ErrorCode.OVERFLOW, `input too large: ${count}`, { where: "nvcpus" });
  }
  if ((flags & VCPU_GUEST) !== 0 && (flags & AFFECT_CONFIG) !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_VCPU_GUEST' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
      { where: "flags", bare: true },
    );
  }
  if ((flags & MAXIMUM) !== 0 && (flags & AFFECT_CONFIG) === 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
      { where: "flags", bare: true },
    );
  }
}

/** The memory the domain has now, in KiB (`<currentMemory>`, else `<memory>`). */
export function currentMemoryOf(definition: DomainDefinition): number {
  return definition.currentMemoryKiB ?? definition.memoryKiB;
}

/**
 * Checks a new current memory against the maxima of the definitions it changes.
 *
 * @throws {VirtError} 8 `cannot set memory higher than max memory`.
 */
export function checkCurrentMemory(
  memoryKiB: number,
  definitions: { live?: DomainDefinition; config?: DomainDefinition },
): void {
  const maxima = [definitions.live, definitions.config].flatMap((definition) =>
    definition === undefined ? [] : [definition.memoryKiB]
  );
  if (maxima.length > 0 && memoryKiB > Math.min(...maxima)) {
    throw new VirtError(ErrorCode.INVALID_ARG, "cannot set memory higher than max memory", {
      where: "memory",
    });
  }
}

/** The definition with `<currentMemory>` set to `memoryKiB`. */
export function withCurrentMemory(
  definition: DomainDefinition,
  memoryKiB: number,
): DomainDefinition {
  return { ...definition, currentMemoryKiB: memoryKiB };
}

/**
 * The persistent definition with `<memory>` set to `memoryKiB` (and `<currentMemory>` lowered
 * to it when above), as libvirt's `setmaxmem --config`.
 *
 * @throws {VirtError} 55 for a definition with NUMA cells, 8 above `<maxMemory>`.
 */
export function withMaxMemory(definition: DomainDefinition, memoryKiB: number): DomainDefinition {
  if ((definition.cpu?.numa?.cells.length ?? 0) > 0) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "initial memory size of a domain with NUMA nodes cannot be modified with this API",
    );
  }
  if (definition.maxMemory !== undefined && definition.maxMemory.kib < memoryKiB) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "cannot set initial memory size greater than the maximum memory size",
      { where: "memory" },
    );
  }
  const current = Math.min(currentMemoryOf(definition), memoryKiB);
  return { ...definition, memoryKiB, currentMemoryKiB: current };
}

/** The maximum vCPU count of a definition (`<vcpu>`, at least 1). */
export function maxVcpusOf(definition: DomainDefinition): number {
  return Math.max(1, definition.vcpus);
}

/** The vCPUs online in a definition (`<vcpu current>`, else the maximum). */
export function currentVcpusOf(definition: DomainDefinition): number {
  return definition.vcpu?.current ?? maxVcpusOf(definition);
}

/**
 * The definition with `count` vCPUs online (`<vcpu current>`; absent when all are). A
 * `<vcpus>` list is kept in step: the first `count` vCPUs in its order are enabled.
 */
export function withCurrentVcpus(definition: DomainDefinition, count: number): DomainDefinition {
  const maximum = maxVcpusOf(definition);
  const vcpu = { ...(definition.vcpu ?? {}) };
  if (count >= maximum) delete vcpu.current;
  else vcpu.current = count;
  const changed: DomainDefinition = { ...definition, vcpu };
  if (Object.keys(vcpu).length === 0) delete changed.vcpu;
  return changed;
}

/**
 * The definition with `count` vCPUs at most (`<vcpu>`), as libvirt's `setvcpus --maximum
 * --config`: the online count is lowered to it when above.
 *
 * @throws {VirtError} 8 when a `<topology>` names another count, or NUMA cells more vCPUs.
 */
export function withMaxVcpus(definition: DomainDefinition, count: number): DomainDefinition {
  const topology = definition.cpu?.topology;
  if (topology !== undefined) {
    const total = topology.sockets * (topology.dies ?? 1) * topology.cores * topology.threads;
    if (total !== count) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "CPU topology doesn't match the desired vcpu count",
        { where: "nvcpus" },
      );
    }
  }
  const current = Math.min(currentVcpusOf(definition), count);
  const resized: DomainDefinition = { ...definition, vcpus: count };
  return withCurrentVcpus(resized, current);
}

/**
 * The answer of `virDomainGetVcpusFlags`: the maximum or the online count of the definition
 * `flags` name.
 *
 * @param definitions The live definition (when active) and the persistent one (when any).
 * @throws {VirtError} 55 for `--live` of an inactive domain.
 */
export function vcpuCount(
  flags: number,
  definitions: { live: DomainDefinition | null; config: DomainDefinition | null },
): number {
  const scope = resolveScope(flags & (AFFECT_LIVE | AFFECT_CONFIG), {
    active: definitions.live !== null,
    persistent: definitions.config !== null,
  });
  const definition = scope.live ? definitions.live! : definitions.config!;
  return (flags & MAXIMUM) !== 0 ? maxVcpusOf(definition) : currentVcpusOf(definition);
}

/**
 * The index of the disk named `name` in `definition`: its target (`vda`) or its source path.
 *
 * @throws {VirtError} 8 `disk '…' was not found in the domain config`.
 */
export function diskIndexByName(definition: DomainDefinition, name: string): number {
  const disks = definition.devices.disks;
  const index = disks.findIndex((disk) =>
    disk.target.dev === name ||
    (name.startsWith("/") && (disk.source?.file === name || disk.source?.dev === name))
  );
  if (index < 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `disk '${name}' was not found in the domain config`,
      {
        where: "disk",
      },
    );
  }
  return index;
}

/**
 * A block size in bytes from `virDomainBlockResize`'s argument: KiB unless `bytes`, rounded up to
 * 512 bytes for qcow2 (QEMU sizes such images in sectors).
 *
 * @throws {VirtError} 82 when the KiB figure overflows 64 bits.
 */
export function blockResizeBytes(size: bigint, bytes: boolean, format: string | undefined): bigint {
  const max = (1n << 64n) - 1n;
  if (!bytes && size > max / 1024n) {
    throw new VirtError(ErrorCode.OVERFLOW, `size must be less than ${max / 1024n}`, {
      where: "size",
    });
  }
  let inBytes = bytes ? size : size * 1024n;
  if (format === "qcow2" || format === "qed") inBytes = (inBytes + 511n) / 512n * 512n;
  return inBytes;
}

/**
 * The resource limits a running instance has now, as its control groups say (libvirt's LXC
 * driver answers `schedinfo` and `memtune` of a running container from them). Sizes in KiB;
 * an absent limit is none.
 */
export interface AppliedTuning {
  hardLimitKiB?: number;
  softLimitKiB?: number;
  swapHardLimitKiB?: number;
  cpuShares?: number;
  /** CFS period in µs. */
  cpuPeriodUs?: number;
  /** CFS quota in µs; -1: none. */
  cpuQuotaUs?: number;
  /** The QEMU driver's emulator threads' CFS period and quota (µs; quota -1: none). */
  emulatorPeriodUs?: number;
  emulatorQuotaUs?: number;
  /** The whole domain's CFS period and quota (µs; quota -1: none). */
  globalPeriodUs?: number;
  globalQuotaUs?: number;
  /** The I/O threads' CFS period and quota (µs; quota -1: none). */
  iothreadPeriodUs?: number;
  iothreadQuotaUs?: number;
}
