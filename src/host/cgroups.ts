/**
 * A guest's control group (an LXC container's, or a QEMU process's), on whichever cgroup layout
 * the host mounts: the v1 controllers (`cpuacct`, `memory`, `freezer`, each its own hierarchy,
 * as on this project's CI machine) or the v2 unified hierarchy (`cgroup.freeze`, `memory.max`,
 * `cpu.stat`). Both answer the same calls, so a driver never asks which one it has.
 *
 * A guest's group lives below the group the service itself runs in (per hierarchy), named
 * `<prefix><uuid>` (`evirt-lxc-`, `evirt-qemu-`); its paths are recorded in the runtime record
 * so a restarted service, which may run in another group, finds it again.
 *
 * @module
 */

import type { AppliedTuning } from "../model/domain_resources.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";

/** Most processes read from one `cgroup.procs`. */
export const CGROUP_PROCS_MAX = 65_536;

/** Largest cgroup control file read, in bytes. */
const CONTROL_FILE_MAX_BYTES = 64 * 1024;

/** The v1 controllers a guest needs, by the role they play. */
const V1_CONTROLLERS = ["cpuacct", "memory", "freezer"] as const;

/** The v1 controllers a guest joins when the host mounts them (`<cputune>`, `<blkiotune>`). */
const V1_OPTIONAL_CONTROLLERS = ["cpu", "blkio"] as const;

/** Which layout a group is on, and its folders. */
export type CgroupPaths =
  | {
    layout: "v1";
    cpuacct: string;
    memory: string;
    freezer: string;
    /** The `cpu` controller's group (shares, CFS period and quota), when mounted. */
    cpu?: string;
    /** The `blkio` controller's group (weight, throttles), when mounted. */
    blkio?: string;
  }
  | { layout: "v2"; unified: string };

/** One host block device's `<blkiotune><device>` settings, by `major:minor`. */
export interface BlkioDeviceLimits {
  device: string;
  weight?: number;
  readBytesSec?: number;
  writeBytesSec?: number;
  readIopsSec?: number;
  writeIopsSec?: number;
}

/** The limits a guest's group is given (`<memory>`, `<memtune>`, `<cputune>`, `<blkiotune>`). */
export interface CgroupLimits {
  /** The memory limit in KiB (`<memtune><hard_limit>`, else `<memory>`); 0: none. */
  memoryLimitKiB: number;
  softLimitKiB?: number;
  /** Memory plus swap, in KiB. */
  swapHardLimitKiB?: number;
  cpuShares?: number;
  /** CFS period and quota, in µs (a negative quota: none). */
  cpuPeriodUs?: number;
  cpuQuotaUs?: number;
  blkioWeight?: number;
  blkioDevices: BlkioDeviceLimits[];
}

/** What a guest's control group answers, on either layout. */
export interface CgroupFigures {
  /** CPU time of every process of the group, in ns. */
  cpuTimeNs: number;
  userNs: number;
  systemNs: number;
  /** Memory charged to the group now, in bytes. */
  memoryBytes: number;
}

/** Where the cgroup hierarchies are mounted on this host. */
export interface CgroupMounts {
  /** v1: mount point by controller name. */
  v1: Record<string, string>;
  /** v2: the unified mount point, when it has the controllers a guest needs. */
  v2?: string;
}

/**
 * Reads the cgroup mounts from `/proc/self/mountinfo` text.
 *
 * @example
 * ```ts
 * import { parseCgroupMounts } from "./cgroups.ts";
 * const line = "30 25 0:26 / /sys/fs/cgroup/freezer rw shared:9 - cgroup cgroup rw,freezer";
 * console.log(parseCgroupMounts(line).v1.freezer); // "/sys/fs/cgroup/freezer"
 * ```
 */
export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const mounts: CgroupMounts = { v1: {} };
  for (const line of mountinfo.split("\n")) {
    const [before, after] = line.split(" - ");
    if (after === undefined) continue;
    const fields = before.split(" ");
    const mountPoint = fields[4];
    const [fsType, , options] = after.split(" ");
    if (mountPoint === undefined || options === undefined) continue;
    if (fsType === "cgroup") {
      for (const option of options.split(",")) {
        if (
          (V1_CONTROLLERS as readonly string[]).includes(option) ||
          (V1_OPTIONAL_CONTROLLERS as readonly string[]).includes(option)
        ) {
          mounts.v1[option] ??= mountPoint;
        }
      }
    } else if (fsType === "cgroup2") {
      mounts.v2 ??= mountPoint;
    }
  }
  return mounts;
}

/**
 * The paths of a process's groups, from `/proc/PID/cgroup` text: v1 by controller, and the v2
 * path under key `""`.
 */
export function parseProcessCgroups(text: string): Record<string, string> {
  const groups: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    if (match[2] === "") groups[""] = match[3];
    for (const controller of match[2].split(",")) {
      if (controller !== "") groups[controller] = match[3];
    }
  }
  return groups;
}

/**
 * The folders a new guest group will have on this host (pure: creates nothing), below the
 * service's own groups. v1 when it has the three controllers, else v2 when the unified
 * hierarchy offers `memory` and `cpu` and `cgroup.freeze`.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) when neither layout has what a guest needs.
 */
export function planCgroup(
  uuid: string,
  mounts: CgroupMounts,
  ownGroups: Record<string, string>,
  v2Controllers: readonly string[],
  prefix = LXC_PREFIX,
): CgroupPaths {
  const leaf = `${prefix}${uuid}`;
  const under = (mount: string, group: string | undefined) =>
    `${mount}${(group ?? "/") === "/" ? "" : group}/${leaf}`;
  if (V1_CONTROLLERS.every((controller) => mounts.v1[controller] !== undefined)) {
    return {
      layout: "v1",
      cpuacct: under(mounts.v1.cpuacct, ownGroups.cpuacct),
      memory: under(mounts.v1.memory, ownGroups.memory),
      freezer: under(mounts.v1.freezer, ownGroups.freezer),
      ...Object.fromEntries(
        V1_OPTIONAL_CONTROLLERS.filter((controller) => mounts.v1[controller] !== undefined)
          .map((controller) => [controller, under(mounts.v1[controller], ownGroups[controller])]),
      ),
    };
  }
  if (
    mounts.v2 !== undefined && v2Controllers.includes("memory") && v2Controllers.includes("cpu")
  ) {
    return { layout: "v2", unified: under(mounts.v2, ownGroups[""]) };
  }
  throw new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    "guests need the cpuacct, memory and freezer cgroup v1 controllers or cgroup v2 with memory and cpu",
  );
}

/** The prefix of a container's group name. */
const LXC_PREFIX = "evirt-lxc-";

/** The host's cgroup layout for a new guest's group (`<prefix><uuid>`), read from `/proc`. */
export function planHostCgroup(uuid: string, prefix = LXC_PREFIX): CgroupPaths {
  const mounts = parseCgroupMounts(Deno.readTextFileSync("/proc/self/mountinfo"));
  const own = parseProcessCgroups(Deno.readTextFileSync("/proc/self/cgroup"));
  let v2Controllers: string[] = [];
  if (mounts.v2 !== undefined) {
    try {
      v2Controllers = Deno.readTextFileSync(`${mounts.v2}/cgroup.controllers`).trim().split(/\s+/);
    } catch {
      v2Controllers = [];
    }
  }
  return planCgroup(uuid, mounts, own, v2Controllers, prefix);
}

/**
 * Every folder of a group (one per v1 hierarchy, once where controllers share one, or the
 * unified one).
 */
export function cgroupFolders(paths: CgroupPaths): string[] {
  if (paths.layout === "v2") return [paths.unified];
  const folders = [paths.cpuacct, paths.memory, paths.freezer, paths.cpu, paths.blkio];
  return [...new Set(folders.filter((folder) => folder !== undefined))];
}

/** The `cgroup.procs` files a process writes `0` into to join the group. */
export function cgroupJoinFiles(paths: CgroupPaths): string[] {
  return cgroupFolders(paths).map((folder) => `${folder}/cgroup.procs`);
}

/** The paths as runtime record fields (strings only), and back. */
export function cgroupRecord(paths: CgroupPaths): Record<string, string> {
  return paths.layout === "v1"
    ? {
      cgroupLayout: "v1",
      cgroupCpuacct: paths.cpuacct,
      cgroupMemory: paths.memory,
      cgroupFreezer: paths.freezer,
      ...(paths.cpu === undefined ? {} : { cgroupCpu: paths.cpu }),
      ...(paths.blkio === undefined ? {} : { cgroupBlkio: paths.blkio }),
    }
    : { cgroupLayout: "v2", cgroupUnified: paths.unified };
}

/** The group a runtime record names. */
export function cgroupOfRecord(record: Record<string, unknown>): CgroupPaths {
  const text = (key: string) => {
    const value = record[key];
    if (typeof value !== "string" || !value.startsWith("/sys/")) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `runtime record lacks '${key}'`);
    }
    return value;
  };
  return record.cgroupLayout === "v2" ? { layout: "v2", unified: text("cgroupUnified") } : {
    layout: "v1",
    cpuacct: text("cgroupCpuacct"),
    memory: text("cgroupMemory"),
    freezer: text("cgroupFreezer"),
    // Absent from the records of services before `<cputune>`/`<blkiotune>` were applied.
    ...(record.cgroupCpu === undefined ? {} : { cpu: text("cgroupCpu") }),
    ...(record.cgroupBlkio === undefined ? {} : { blkio: text("cgroupBlkio") }),
  };
}

function systemError(what: string, error: unknown): VirtError {
  return new VirtError(ErrorCode.SYSTEM_ERROR, `${what}: ${(error as Error).message}`, {
    cause: error,
  });
}

function readControl(path: string): string {
  const file = Deno.openSync(path, { read: true });
  try {
    const buffer = new Uint8Array(CONTROL_FILE_MAX_BYTES);
    let length = 0;
    for (;;) {
      const read = file.readSync(buffer.subarray(length));
      if (read === null || read === 0) break;
      length += read;
      if (length === buffer.length) break;
    }
    return new TextDecoder().decode(buffer.subarray(0, length));
  } finally {
    file.close();
  }
}

/**
 * Writes a control file of a group.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) naming the value and the file.
 */
export function writeControl(path: string, value: string): void {
  try {
    Deno.writeTextFileSync(path, value);
  } catch (error) {
    throw systemError(`cannot write '${value}' to ${path}`, error);
  }
}

/**
 * Makes the group's folders and sets its limits, as libvirt's LXC driver sets them: the memory
 * limit (`<memtune><hard_limit>`, else `<memory>`), soft limit and memory-plus-swap limit; CPU
 * shares, CFS period and quota; block I/O weight and per-device weights and throttles.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) when a limit needs a controller the host does
 *   not mount; OPERATION_INVALID (55) for a block I/O weight without a scheduler that has one
 *   (libvirt's wording); SYSTEM_ERROR (38) when a folder or limit cannot be written. The folders
 *   already made are removed again.
 */
export function createCgroup(paths: CgroupPaths, limits: CgroupLimits): void {
  const made: string[] = [];
  try {
    for (const folder of cgroupFolders(paths)) {
      Deno.mkdirSync(folder, { recursive: true });
      made.push(folder);
    }
    for (const [file, value] of limitWrites(paths, limits)) writeControl(file, value);
  } catch (error) {
    for (const folder of made.reverse()) removeFolder(folder);
    throw error instanceof VirtError
      ? error
      : systemError("cannot create the guest's cgroup", error);
  }
}

function missingController(controller: string, element: string): VirtError {
  return new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    `${element} needs the ${controller} cgroup controller, which this host does not mount`,
    { where: `/domain/${element.slice(1, element.indexOf(">"))}` },
  );
}

/** Whether `path` exists (a control file the kernel offers, a thread's `/proc` entry). */
export function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The block I/O throttles: v1's `blkio.throttle.*` file, v2's `io.max` key. */
const THROTTLES: ReadonlyArray<
  ["readBytesSec" | "writeBytesSec" | "readIopsSec" | "writeIopsSec", { v1: string; v2: string }]
> = [
  ["readBytesSec", { v1: "read_bps_device", v2: "rbps" }],
  ["writeBytesSec", { v1: "write_bps_device", v2: "wbps" }],
  ["readIopsSec", { v1: "read_iops_device", v2: "riops" }],
  ["writeIopsSec", { v1: "write_iops_device", v2: "wiops" }],
];

/**
 * The control files a group's limits are written to, in order (pure but for the checks of
 * which files the kernel offers).
 */
export function limitWrites(paths: CgroupPaths, limits: CgroupLimits): Array<[string, string]> {
  const writes: Array<[string, string]> = [];
  const bytes = (kib: number) => String(kib * 1024);
  const wantsCpu = limits.cpuShares !== undefined || limits.cpuPeriodUs !== undefined ||
    limits.cpuQuotaUs !== undefined;
  const wantsBlkio = limits.blkioWeight !== undefined || limits.blkioDevices.length > 0;
  const noWeight = () =>
    new VirtError(
      ErrorCode.OPERATION_INVALID,
      "blkio device weight is valid only for bfq or cfq scheduler",
      { where: "/domain/blkiotune" },
    );
  if (paths.layout === "v1") {
    const memory = paths.memory;
    if (limits.memoryLimitKiB > 0) {
      writes.push([`${memory}/memory.limit_in_bytes`, bytes(limits.memoryLimitKiB)]);
    }
    if (limits.softLimitKiB !== undefined) {
      writes.push([`${memory}/memory.soft_limit_in_bytes`, bytes(limits.softLimitKiB)]);
    }
    if (limits.swapHardLimitKiB !== undefined) {
      writes.push([`${memory}/memory.memsw.limit_in_bytes`, bytes(limits.swapHardLimitKiB)]);
    }
    if (wantsCpu) {
      if (paths.cpu === undefined) throw missingController("cpu", "<cputune>");
      if (limits.cpuShares !== undefined) {
        writes.push([`${paths.cpu}/cpu.shares`, String(limits.cpuShares)]);
      }
      if (limits.cpuPeriodUs !== undefined) {
        writes.push([`${paths.cpu}/cpu.cfs_period_us`, String(limits.cpuPeriodUs)]);
      }
      if (limits.cpuQuotaUs !== undefined) {
        writes.push([`${paths.cpu}/cpu.cfs_quota_us`, String(limits.cpuQuotaUs)]);
      }
    }
    if (wantsBlkio) {
      const blkio = paths.blkio;
      if (blkio === undefined) throw missingController("blkio", "<blkiotune>");
      // The group's own files, or its parent's while it is not made yet.
      const parent = blkio.slice(0, blkio.lastIndexOf("/"));
      const offered = (name: string) =>
        fileExists(`${blkio}/${name}`) || fileExists(`${parent}/${name}`);
      if (limits.blkioWeight !== undefined) {
        const file = ["blkio.bfq.weight", "blkio.weight"].find(offered);
        if (file === undefined) throw noWeight();
        writes.push([`${blkio}/${file}`, String(limits.blkioWeight)]);
      }
      for (const device of limits.blkioDevices) {
        if (device.weight !== undefined) {
          const file = ["blkio.bfq.weight_device", "blkio.weight_device"].find(offered);
          if (file === undefined) throw noWeight();
          writes.push([`${blkio}/${file}`, `${device.device} ${device.weight}`]);
        }
        for (const [field, name] of THROTTLES) {
          const value = device[field];
          if (value !== undefined) {
            writes.push([`${blkio}/blkio.throttle.${name.v1}`, `${device.device} ${value}`]);
          }
        }
      }
    }
    return writes;
  }
  const unified = paths.unified;
  if (limits.memoryLimitKiB > 0) {
    writes.push([`${unified}/memory.max`, bytes(limits.memoryLimitKiB)]);
  }
  if (limits.softLimitKiB !== undefined) {
    writes.push([`${unified}/memory.high`, bytes(limits.softLimitKiB)]);
  }
  if (limits.swapHardLimitKiB !== undefined) {
    writes.push([`${unified}/memory.swap.max`, bytes(limits.swapHardLimitKiB)]);
  }
  if (limits.cpuShares !== undefined) {
    writes.push([`${unified}/cpu.weight`, String(limits.cpuShares)]);
  }
  if (limits.cpuPeriodUs !== undefined || limits.cpuQuotaUs !== undefined) {
    const quota = limits.cpuQuotaUs === undefined || limits.cpuQuotaUs < 0
      ? "max"
      : String(limits.cpuQuotaUs);
    writes.push([`${unified}/cpu.max`, `${quota} ${limits.cpuPeriodUs ?? 100_000}`]);
  }
  if (limits.blkioWeight !== undefined) {
    writes.push([`${unified}/io.weight`, `default ${limits.blkioWeight}`]);
  }
  for (const device of limits.blkioDevices) {
    if (device.weight !== undefined) {
      writes.push([`${unified}/io.weight`, `${device.device} ${device.weight}`]);
    }
    const set = THROTTLES.filter(([field]) => device[field] !== undefined)
      .map(([field, name]) => `${name.v2}=${device[field]}`);
    if (set.length > 0) writes.push([`${unified}/io.max`, `${device.device} ${set.join(" ")}`]);
  }
  return writes;
}

/** The kernel's "no limit" of a v1 memory control file (a page-rounded `LLONG_MAX`). */
const V1_UNLIMITED_BYTES = 9_223_372_036_854_771_712n;

/** The limits a running group has (undefined fields: unlimited, or no such controller). */
export function appliedLimits(paths: CgroupPaths): AppliedTuning {
  const read = (file: string): string | undefined => {
    try {
      return readControl(file).trim();
    } catch {
      return undefined;
    }
  };
  const kib = (text: string | undefined): number | undefined => {
    if (text === undefined || text === "max" || !/^\d+$/.test(text)) return undefined;
    const value = BigInt(text);
    return value >= V1_UNLIMITED_BYTES ? undefined : Number(value / 1024n);
  };
  const number = (text: string | undefined) =>
    text === undefined || !/^-?\d+$/.test(text) ? undefined : Number(text);
  const result: AppliedTuning = {};
  const set = <K extends keyof AppliedTuning>(key: K, value: AppliedTuning[K]) => {
    if (value !== undefined) result[key] = value;
  };
  if (paths.layout === "v1") {
    set("hardLimitKiB", kib(read(`${paths.memory}/memory.limit_in_bytes`)));
    set("softLimitKiB", kib(read(`${paths.memory}/memory.soft_limit_in_bytes`)));
    set("swapHardLimitKiB", kib(read(`${paths.memory}/memory.memsw.limit_in_bytes`)));
    if (paths.cpu !== undefined) {
      set("cpuShares", number(read(`${paths.cpu}/cpu.shares`)));
      set("cpuPeriodUs", number(read(`${paths.cpu}/cpu.cfs_period_us`)));
      set("cpuQuotaUs", number(read(`${paths.cpu}/cpu.cfs_quota_us`)));
    }
    return result;
  }
  set("hardLimitKiB", kib(read(`${paths.unified}/memory.max`)));
  set("softLimitKiB", kib(read(`${paths.unified}/memory.high`)));
  set("swapHardLimitKiB", kib(read(`${paths.unified}/memory.swap.max`)));
  set("cpuShares", number(read(`${paths.unified}/cpu.weight`)));
  const max = read(`${paths.unified}/cpu.max`)?.split(" ");
  if (max !== undefined) {
    set("cpuQuotaUs", max[0] === "max" ? -1 : number(max[0]));
    set("cpuPeriodUs", number(max[1]));
  }
  return result;
}

function removeFolder(folder: string): void {
  try {
    Deno.removeSync(folder);
  } catch {
    // Already gone, or still busy with a process that is exiting; nothing else to do.
  }
}

/**
 * Removes the group's folders (they must be empty of processes), the groups made below them
 * first (a QEMU's `vcpuN`).
 */
export function removeCgroup(paths: CgroupPaths): void {
  for (const folder of cgroupFolders(paths)) {
    try {
      for (const entry of Deno.readDirSync(folder)) {
        if (entry.isDirectory) removeFolder(`${folder}/${entry.name}`);
      }
    } catch {
      // The folder is gone already.
    }
    removeFolder(folder);
  }
}

/** The pids in the group now (none when it is gone). */
export function cgroupPids(paths: CgroupPaths): number[] {
  const folder = paths.layout === "v1" ? paths.freezer : paths.unified;
  let text: string;
  try {
    text = readControl(`${folder}/cgroup.procs`);
  } catch {
    return [];
  }
  const pids = text.split("\n").filter((line) => line !== "").map(Number);
  if (pids.length > CGROUP_PROCS_MAX) pids.length = CGROUP_PROCS_MAX;
  return pids;
}

/** Freezes (`true`) or thaws the group. */
export function setFrozen(paths: CgroupPaths, frozen: boolean): void {
  if (paths.layout === "v1") {
    writeControl(`${paths.freezer}/freezer.state`, frozen ? "FROZEN" : "THAWED");
  } else {
    writeControl(`${paths.unified}/cgroup.freeze`, frozen ? "1" : "0");
  }
}

/**
 * Whether the group is frozen now: `"frozen"`, `"thawed"`, or `"freezing"` while the v1
 * freezer is still stopping processes.
 */
export function frozenState(paths: CgroupPaths): "frozen" | "thawed" | "freezing" {
  try {
    if (paths.layout === "v1") {
      const state = readControl(`${paths.freezer}/freezer.state`).trim();
      return state === "FROZEN" ? "frozen" : state === "FREEZING" ? "freezing" : "thawed";
    }
    const events = readControl(`${paths.unified}/cgroup.events`);
    const wanted = readControl(`${paths.unified}/cgroup.freeze`).trim() === "1";
    if (/^frozen 1$/m.test(events)) return "frozen";
    return wanted ? "freezing" : "thawed";
  } catch {
    return "thawed";
  }
}

/** CPU and memory figures of the group; undefined when it is gone. */
export function cgroupFigures(paths: CgroupPaths): CgroupFigures | undefined {
  try {
    if (paths.layout === "v1") {
      const cpuTimeNs = Number(readControl(`${paths.cpuacct}/cpuacct.usage`).trim());
      const stat = readControl(`${paths.cpuacct}/cpuacct.stat`);
      // cpuacct.stat counts USER_HZ ticks (100 per second).
      const ticks = (name: string) =>
        Number(new RegExp(`^${name} (\\d+)$`, "m").exec(stat)?.[1] ?? 0);
      return {
        cpuTimeNs,
        userNs: ticks("user") * 10_000_000,
        systemNs: ticks("system") * 10_000_000,
        memoryBytes: Number(readControl(`${paths.memory}/memory.usage_in_bytes`).trim()),
      };
    }
    const stat = readControl(`${paths.unified}/cpu.stat`);
    const usec = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(stat)?.[1] ?? 0);
    return {
      cpuTimeNs: usec("usage_usec") * 1000,
      userNs: usec("user_usec") * 1000,
      systemNs: usec("system_usec") * 1000,
      memoryBytes: Number(readControl(`${paths.unified}/memory.current`).trim()),
    };
  } catch {
    return undefined;
  }
}

/** How many times the group's memory limit was hit by an allocation that then failed (OOM). */
export function memoryLimitHits(paths: CgroupPaths): number {
  try {
    if (paths.layout === "v1") {
      const control = readControl(`${paths.memory}/memory.oom_control`);
      return Number(/^oom_kill (\d+)$/m.exec(control)?.[1] ?? 0);
    }
    const events = readControl(`${paths.unified}/memory.events`);
    return Number(/^oom_kill (\d+)$/m.exec(events)?.[1] ?? 0);
  } catch {
    return 0;
  }
}
