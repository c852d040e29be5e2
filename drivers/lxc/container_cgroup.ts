/**
 * A container's control group, on whichever cgroup layout the host mounts: the v1 controllers
 * (`cpuacct`, `memory`, `freezer`, each its own hierarchy, as on this project's CI machine) or
 * the v2 unified hierarchy (`cgroup.freeze`, `memory.max`, `cpu.stat`). Both answer the same
 * {@linkcode ContainerCgroup} calls, so the driver never asks which one it has.
 *
 * A container's group lives below the group the service itself runs in (per hierarchy), named
 * `evirt-lxc-<uuid>`; its paths are recorded in the runtime record so a restarted service,
 * which may run in another group, finds it again.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** Most processes read from one `cgroup.procs`. */
export const CGROUP_PROCS_MAX = 65_536;

/** Largest cgroup control file read, in bytes. */
const CONTROL_FILE_MAX_BYTES = 64 * 1024;

/** The v1 controllers a container needs, by the role they play. */
const V1_CONTROLLERS = ["cpuacct", "memory", "freezer"] as const;

/** Which layout a group is on, and its folders. */
export type CgroupPaths =
  | { layout: "v1"; cpuacct: string; memory: string; freezer: string }
  | { layout: "v2"; unified: string };

/** What a container's control group answers, on either layout. */
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
  /** v2: the unified mount point, when it has the controllers a container needs. */
  v2?: string;
}

/**
 * Reads the cgroup mounts from `/proc/self/mountinfo` text.
 *
 * @example
 * ```ts
 * import { parseCgroupMounts } from "./container_cgroup.ts";
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
        if ((V1_CONTROLLERS as readonly string[]).includes(option)) {
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
 * The folders a new container group will have on this host (pure: creates nothing), below the
 * service's own groups. v1 when it has the three controllers, else v2 when the unified
 * hierarchy offers `memory` and `cpu` and `cgroup.freeze`.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) when neither layout has what a container needs.
 */
export function planCgroup(
  uuid: string,
  mounts: CgroupMounts,
  ownGroups: Record<string, string>,
  v2Controllers: readonly string[],
): CgroupPaths {
  const leaf = `evirt-lxc-${uuid}`;
  const under = (mount: string, group: string | undefined) =>
    `${mount}${(group ?? "/") === "/" ? "" : group}/${leaf}`;
  if (V1_CONTROLLERS.every((controller) => mounts.v1[controller] !== undefined)) {
    return {
      layout: "v1",
      cpuacct: under(mounts.v1.cpuacct, ownGroups.cpuacct),
      memory: under(mounts.v1.memory, ownGroups.memory),
      freezer: under(mounts.v1.freezer, ownGroups.freezer),
    };
  }
  if (
    mounts.v2 !== undefined && v2Controllers.includes("memory") && v2Controllers.includes("cpu")
  ) {
    return { layout: "v2", unified: under(mounts.v2, ownGroups[""]) };
  }
  throw new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    "containers need the cpuacct, memory and freezer cgroup v1 controllers or cgroup v2 with memory and cpu",
  );
}

/** The host's cgroup layout for a new container, read from `/proc`. */
export function planHostCgroup(uuid: string): CgroupPaths {
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
  return planCgroup(uuid, mounts, own, v2Controllers);
}

/** Every folder of a group (one per v1 hierarchy, or the unified one). */
export function cgroupFolders(paths: CgroupPaths): string[] {
  return paths.layout === "v1" ? [paths.cpuacct, paths.memory, paths.freezer] : [paths.unified];
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

function writeControl(path: string, value: string): void {
  try {
    Deno.writeTextFileSync(path, value);
  } catch (error) {
    throw systemError(`cannot write '${value}' to ${path}`, error);
  }
}

/**
 * Makes the group's folders and sets the memory limit (`<memory>`; 0: none).
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when a folder or limit cannot be written; the folders
 *   already made are removed again.
 */
export function createCgroup(paths: CgroupPaths, memoryLimitKiB: number): void {
  const made: string[] = [];
  try {
    for (const folder of cgroupFolders(paths)) {
      Deno.mkdirSync(folder, { recursive: true });
      made.push(folder);
    }
    if (memoryLimitKiB > 0) {
      const bytes = String(memoryLimitKiB * 1024);
      if (paths.layout === "v1") {
        writeControl(`${paths.memory}/memory.limit_in_bytes`, bytes);
      } else {
        writeControl(`${paths.unified}/memory.max`, bytes);
      }
    }
  } catch (error) {
    for (const folder of made) removeFolder(folder);
    throw error instanceof VirtError
      ? error
      : systemError("cannot create the container's cgroup", error);
  }
}

function removeFolder(folder: string): void {
  try {
    Deno.removeSync(folder);
  } catch {
    // Already gone, or still busy with a process that is exiting; nothing else to do.
  }
}

/** Removes the group's folders (they must be empty of processes). */
export function removeCgroup(paths: CgroupPaths): void {
  for (const folder of cgroupFolders(paths)) removeFolder(folder);
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
