/**
 * A QEMU process's control group and CPU affinity, as libvirt 9.0's QEMU driver sets them up
 * (`qemuSetupCgroup`, `qemuProcessSetupVcpu`, `qemuProcessSetupEmulator`):
 *
 * - `<cputune><shares>` → the domain group's `cpu.shares` (v1; v2: `cpu.weight`, the same
 *   number), checked against the kernel's range as libvirt checks it (code 8, libvirt's text);
 * - `<cputune><period>`/`<quota>` → each vCPU's own group (`vcpuN` below the domain's, in the
 *   `cpu` hierarchy), holding that vCPU's thread, as libvirt's `vcpu_period`/`vcpu_quota`; the
 *   other threads in `emulator` beside them (libvirt's layout, which its live `schedinfo` reads);
 * - `<memtune>` hard, soft and swap limits → the `memory` controller; `<blkiotune><weight>` →
 *   `blkio` (libvirt's refusal where no scheduler has weights: code 55);
 * - `<cputune><vcpupin>` → each vCPU thread's affinity, `<emulatorpin>` → every other thread's
 *   (`taskset -p`, as libvirt's `sched_setaffinity`).
 *
 * The domain group (`evirt-qemu-<uuid>` below the service's own groups) is made only for a
 * definition that asks for one of these limits; its paths are in the runtime record `plan`
 * gives (the launch intent), so recovery after a crash removes what a launch left.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { noCgroupError, type SchedulerParameter } from "../../src/model/scheduler_params.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { AppliedTuning } from "../../actors/driver_protocol.ts";
import {
  appliedLimits,
  cgroupFolders,
  type CgroupLimits,
  cgroupOfRecord,
  type CgroupPaths,
  createCgroup,
  fileExists,
  planHostCgroup,
  writeControl,
} from "../../src/host/cgroups.ts";
import type { QmpCpuInfoFast } from "./qmp_commands.ts";
import { onlineCpuList } from "./qemu_process.ts";

/** The prefix of a QEMU process's group name. */
export const QEMU_CGROUP_PREFIX = "evirt-qemu-";

/** libvirt's bounds of `cpu.shares` on cgroup v1 (`VIR_CGROUP_CPU_SHARES_MIN`/`MAX`). */
const V1_SHARES = [2, 262_144] as const;
/** libvirt's bounds of `cpu.weight` on cgroup v2 (`VIR_CGROUPV2_WEIGHT_MIN`/`MAX`). */
const V2_WEIGHT = [1, 10_000] as const;

/** Longest one `taskset` may take, in ms. */
const TASKSET_TIMEOUT_MS = 10_000;

/** Most threads of one QEMU whose affinity is set (`/proc/PID/task` entries read). */
const THREADS_MAX = 4096;

/** The limits of the domain group a definition asks for, or undefined when it asks none. */
export function groupLimitsOf(definition: DomainDefinition): CgroupLimits | undefined {
  const { cputune, memtune, blkiotune } = definition;
  const limits: CgroupLimits = { memoryLimitKiB: 0, blkioDevices: [] };
  let wanted = false;
  const set = <K extends keyof CgroupLimits>(key: K, value: CgroupLimits[K] | undefined) => {
    if (value === undefined) return;
    limits[key] = value;
    wanted = true;
  };
  set("cpuShares", cputune?.shares);
  const { emulator, global } = groupBandwidthOf(definition);
  set("cpuPeriodUs", global?.periodUs);
  set("cpuQuotaUs", global?.quotaUs);
  if (emulator !== undefined) wanted = true;
  if (memtune?.hardLimitKiB !== undefined) set("memoryLimitKiB", memtune.hardLimitKiB);
  set("softLimitKiB", memtune?.softLimitKiB);
  set("swapHardLimitKiB", memtune?.swapHardLimitKiB);
  set("blkioWeight", blkiotune?.weight);
  // The vCPU groups hang below the domain's in the cpu hierarchy.
  if (vcpuBandwidthOf(definition) !== undefined) wanted = true;
  return wanted ? limits : undefined;
}

/** `<cputune><period>`/`<quota>`, applied per vCPU; undefined when neither is set (or both 0). */
export function vcpuBandwidthOf(
  definition: DomainDefinition,
): { periodUs?: number; quotaUs?: number } | undefined {
  const period = definition.cputune?.period;
  const quota = definition.cputune?.quota;
  // libvirt leaves a zero period or quota unset.
  const bandwidth = {
    ...(period === undefined || period === 0 ? {} : { periodUs: period }),
    ...(quota === undefined || quota === 0 ? {} : { quotaUs: quota }),
  };
  return Object.keys(bandwidth).length === 0 ? undefined : bandwidth;
}

/** The group a definition's QEMU will run in (pure: creates nothing), or undefined for none. */
export function planQemuCgroup(
  uuid: string,
  definition: DomainDefinition,
): CgroupPaths | undefined {
  return groupLimitsOf(definition) === undefined
    ? undefined
    : planHostCgroup(uuid, QEMU_CGROUP_PREFIX);
}

/**
 * Checks the limits against what the host's cgroups take, as libvirt does when it writes them.
 *
 * @throws {VirtError} INVALID_ARG (8) for shares outside the kernel's range (libvirt's text);
 *   CONFIG_UNSUPPORTED (67) for vCPU bandwidth on cgroup v2 (its threaded groups are not made).
 */
export function checkQemuCgroup(paths: CgroupPaths, definition: DomainDefinition): void {
  const shares = definition.cputune?.shares;
  if (shares !== undefined) checkShares(paths, shares, "/domain/cputune/shares");
  if (paths.layout === "v2") {
    if (vcpuBandwidthOf(definition) !== undefined) throw bandwidthOnV2("/domain/cputune/period");
    const { emulator, global } = groupBandwidthOf(definition);
    if (emulator !== undefined) throw bandwidthOnV2("/domain/cputune/emulator_period");
    if (global !== undefined) throw bandwidthOnV2("/domain/cputune/global_period");
  }
}

/** Shares (v1) or weight (v2) within the kernel's range, as libvirt checks them. */
function checkShares(paths: CgroupPaths, shares: number, where: string): void {
  const [min, max] = paths.layout === "v1" ? V1_SHARES : V2_WEIGHT;
  if (shares < min || shares > max) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `shares '${shares}' must be in range [${min}, ${max}]`,
      { where },
    );
  }
}

/**
 * `<emulator_period>`/`<emulator_quota>` and `<global_period>`/`<global_quota>` (a zero one is
 * unset, as libvirt leaves it), each undefined when neither is set.
 */
export function groupBandwidthOf(definition: DomainDefinition): {
  emulator?: { periodUs?: number; quotaUs?: number };
  global?: { periodUs?: number; quotaUs?: number };
} {
  const tune = definition.cputune;
  const pair = (period: number | undefined, quota: number | undefined) => {
    const bandwidth = {
      ...(period === undefined || period === 0 ? {} : { periodUs: period }),
      ...(quota === undefined || quota === 0 ? {} : { quotaUs: quota }),
    };
    return Object.keys(bandwidth).length === 0 ? undefined : bandwidth;
  };
  const emulator = pair(tune?.emulatorPeriod, tune?.emulatorQuota);
  const global = pair(tune?.globalPeriod, tune?.globalQuota);
  return {
    ...(emulator === undefined ? {} : { emulator }),
    ...(global === undefined ? {} : { global }),
  };
}

/**
 * Makes the domain group with its limits (before QEMU is spawned).
 *
 * @throws {VirtError} What {@linkcode checkQemuCgroup} and `createCgroup` throw.
 */
export function createQemuCgroup(paths: CgroupPaths, definition: DomainDefinition): void {
  checkQemuCgroup(paths, definition);
  createCgroup(paths, groupLimitsOf(definition) ?? { memoryLimitKiB: 0, blkioDevices: [] });
}

/**
 * Moves a spawned QEMU into its group, as libvirt lays it out in the `cpu` hierarchy: its
 * threads in `emulator`, each vCPU thread in its own `vcpuN` with the definition's period and
 * quota.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when a folder or control file cannot be written.
 */
export function joinQemuCgroup(
  paths: CgroupPaths,
  pid: number,
  definition: DomainDefinition,
  vcpus: readonly QmpCpuInfoFast[],
): void {
  for (const folder of cgroupFolders(paths)) writeControl(`${folder}/cgroup.procs`, String(pid));
  if (paths.layout !== "v1" || paths.cpu === undefined) return;
  const emulator = `${paths.cpu}/${EMULATOR_GROUP}`;
  makeFolder(emulator);
  const emulatorBandwidth = groupBandwidthOf(definition).emulator;
  if (emulatorBandwidth?.periodUs !== undefined) {
    writeControl(`${emulator}/cpu.cfs_period_us`, String(emulatorBandwidth.periodUs));
  }
  if (emulatorBandwidth?.quotaUs !== undefined) {
    writeControl(`${emulator}/cpu.cfs_quota_us`, String(emulatorBandwidth.quotaUs));
  }
  writeControl(`${emulator}/cgroup.procs`, String(pid));
  const bandwidth = vcpuBandwidthOf(definition);
  for (const cpu of vcpus) {
    const folder = `${paths.cpu}/vcpu${cpu["cpu-index"]}`;
    makeFolder(folder);
    if (bandwidth?.periodUs !== undefined) {
      writeControl(`${folder}/cpu.cfs_period_us`, String(bandwidth.periodUs));
    }
    if (bandwidth?.quotaUs !== undefined) {
      writeControl(`${folder}/cpu.cfs_quota_us`, String(bandwidth.quotaUs));
    }
    writeControl(`${folder}/tasks`, String(cpu["thread-id"]));
  }
}

/** The group of QEMU's threads other than the vCPUs', below the domain's (libvirt's name). */
const EMULATOR_GROUP = "emulator";

function makeFolder(folder: string): void {
  try {
    Deno.mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot create ${folder}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The limits a running QEMU's group has, as libvirt's live `schedinfo` and `memtune` read
 * them: shares and memory limits of the domain's group, the vCPU bandwidth of `vcpu0`, the
 * emulator's of `emulator`, the global (and, with no I/O thread groups, the I/O threads') of
 * the domain's group.
 */
export function appliedQemuLimits(paths: CgroupPaths): AppliedTuning {
  const domain = appliedLimits(paths);
  if (paths.layout !== "v1" || paths.cpu === undefined) return domain;
  const bandwidth = (folder: string) => {
    const limits = appliedLimits({ ...paths, cpu: folder });
    return { period: limits.cpuPeriodUs, quota: limits.cpuQuotaUs };
  };
  const vcpu = bandwidth(`${paths.cpu}/vcpu0`);
  const emulator = bandwidth(`${paths.cpu}/${EMULATOR_GROUP}`);
  const result: AppliedTuning = { ...domain };
  const set = (key: keyof AppliedTuning, value: number | undefined) => {
    if (value === undefined) delete result[key];
    else result[key] = value;
  };
  set("cpuPeriodUs", vcpu.period);
  set("cpuQuotaUs", vcpu.quota);
  set("emulatorPeriodUs", emulator.period);
  set("emulatorQuotaUs", emulator.quota);
  set("globalPeriodUs", domain.cpuPeriodUs);
  set("globalQuotaUs", domain.cpuQuotaUs);
  set("iothreadPeriodUs", domain.cpuPeriodUs);
  set("iothreadQuotaUs", domain.cpuQuotaUs);
  return result;
}

/** The runtime record's group, when the launch made one. */
export function qemuCgroupOfRecord(record: Record<string, unknown>): CgroupPaths | undefined {
  return typeof record.cgroupLayout === "string" ? cgroupOfRecord(record) : undefined;
}

/**
 * Pins each vCPU thread to its `<vcpupin>` set and every other thread of QEMU to the
 * `<emulatorpin>` set, as libvirt does once the vCPU threads exist.
 *
 * @throws {VirtError} 67 when a set names no online CPU; SYSTEM_ERROR (38) when `taskset`
 *   fails.
 */
export async function pinQemuThreads(
  pid: number,
  definition: DomainDefinition,
  vcpus: readonly QmpCpuInfoFast[],
  signal: AbortSignal,
): Promise<void> {
  const cputune = definition.cputune;
  if (cputune === undefined) return;
  const threadOf = new Map(vcpus.map((cpu) => [cpu["cpu-index"], cpu["thread-id"]]));
  for (const [index, pin] of cputune.vcpupins.entries()) {
    const thread = threadOf.get(pin.vcpu);
    if (thread === undefined) continue;
    const list = onlineCpuList(pin.cpuset, undefined, `/domain/cputune/vcpupin[${index + 1}]`);
    await taskset(thread, list, signal);
  }
  if (cputune.emulatorpin === undefined) return;
  const list = onlineCpuList(cputune.emulatorpin, undefined, "/domain/cputune/emulatorpin");
  const vcpuThreads = new Set(threadOf.values());
  let count = 0;
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    if (++count > THREADS_MAX) break;
    const thread = Number(entry.name);
    if (!vcpuThreads.has(thread)) await taskset(thread, list, signal);
  }
}

async function taskset(thread: number, list: string, signal: AbortSignal): Promise<void> {
  const output = await new Deno.Command("taskset", {
    args: ["-p", "-c", list, String(thread)],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.any([signal, AbortSignal.timeout(TASKSET_TIMEOUT_MS)]),
  }).output();
  // A thread that ended meanwhile (QEMU's workers come and go) needs no affinity.
  if (!output.success && fileExists(`/proc/${thread}`)) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot set CPU affinity of thread ${thread} to ${list}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
}

/**
 * Refuses the tuning this driver does not apply, by element: of `<cputune>` all but shares,
 * period, quota, vcpupin and emulatorpin; `<memtune><min_guarantee>` (libvirt's QEMU driver
 * refuses it too); `<blkiotune><device>`.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the element.
 */
export function refuseUnappliedTuning(definition: DomainDefinition): void {
  const { cputune, memtune, blkiotune } = definition;
  const refuse = (where: string, what: string) =>
    new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `${what} is not supported by the qemu driver`, {
      where,
    });
  if (cputune !== undefined) {
    const lists: [unknown[], string][] = [
      [cputune.iothreadpins, "iothreadpin"],
      [cputune.vcpuscheds, "vcpusched"],
      [cputune.iothreadscheds, "iothreadsched"],
      [cputune.cachetunes, "cachetune"],
      [cputune.memorytunes, "memorytune"],
    ];
    for (const [list, name] of lists) {
      if (list.length > 0) throw refuse(`/domain/cputune/${name}`, `cputune ${name}`);
    }
    if (cputune.emulatorsched !== undefined) {
      throw refuse("/domain/cputune/emulatorsched", "cputune emulatorsched");
    }
  }
  if (memtune?.minGuaranteeKiB !== undefined) {
    throw refuse("/domain/memtune/min_guarantee", "memtune min_guarantee");
  }
  if (blkiotune !== undefined && blkiotune.devices.length > 0) {
    throw refuse("/domain/blkiotune/device", "blkiotune device");
  }
}

/**
 * Writes one `schedinfo --set --live` parameter into a running QEMU's groups, as libvirt's QEMU
 * driver does: `cpu_shares` into the domain group (checked against the kernel's range, libvirt's
 * text); `vcpu_*` into every `vcpuN` group, `emulator_*` into `emulator`, `global_*` into the
 * domain group; `iothread_*` nowhere (this driver makes no I/O thread groups, and libvirt's
 * writes none for a domain without I/O threads).
 *
 * @throws {VirtError} INVALID_ARG (8) for shares out of range; OPERATION_INVALID (55) without a
 *   `cpu` group (libvirt's text); CONFIG_UNSUPPORTED (67) for a CFS bandwidth on cgroup v2;
 *   SYSTEM_ERROR (38) when a control file cannot be written.
 */
export function setQemuSchedulerParameter(
  paths: CgroupPaths | undefined,
  name: SchedulerParameter,
  value: number,
): void {
  if (paths === undefined) throw noCgroupError();
  const cpu = paths.layout === "v1" ? paths.cpu : paths.unified;
  if (cpu === undefined) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "cgroup CPU controller is not mounted");
  }
  if (name === "cpu_shares") {
    checkShares(paths, value, "cpu_shares");
    writeControl(`${cpu}/${paths.layout === "v1" ? "cpu.shares" : "cpu.weight"}`, String(value));
    return;
  }
  if (name.startsWith("iothread_")) return;
  if (paths.layout !== "v1") throw bandwidthOnV2(name);
  const file = name.endsWith("_period") ? "cpu.cfs_period_us" : "cpu.cfs_quota_us";
  const folders = name.startsWith("global_")
    ? [cpu]
    : name.startsWith("emulator_")
    ? [`${cpu}/${EMULATOR_GROUP}`]
    : [...Deno.readDirSync(cpu)]
      .filter((entry) => entry.isDirectory && /^vcpu\d+$/.test(entry.name))
      .slice(0, THREADS_MAX)
      .map((entry) => `${cpu}/${entry.name}`);
  for (const folder of folders) writeControl(`${folder}/${file}`, String(value));
}

function bandwidthOnV2(where: string): VirtError {
  return new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    "a CFS period or quota needs cgroup v1 here (per-thread groups of v2 are not made)",
    { where },
  );
}
