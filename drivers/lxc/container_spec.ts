/**
 * What a `<domain type='lxc'>` definition asks of a container, in the driver's own terms: the
 * init and its arguments, environment and folder; the root file system and the other mounts;
 * the console; the memory limit. Everything the driver cannot honour is refused here, by
 * element (code 67), before anything exists; so is a mount whose target would leave the root.
 *
 * @module
 */

import type { DomainDefinition, Filesystem, IdMapRange } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { BlkioDeviceLimits, CgroupLimits } from "../../src/host/cgroups.ts";
import { checkInterfaces } from "./container_network.ts";
import { type CapabilityCut, capabilityCut } from "./container_privileges.ts";

/** Most mounts one container may have. */
export const MOUNTS_MAX = 64;

/** One mount inside the container, below its root. */
export type ContainerMount =
  /** A host folder bound at `target` (read-only when `readonly`). */
  | { kind: "bind"; source: string; target: string; readonly: boolean }
  /** A tmpfs of `sizeKiB` (0: the kernel's default) at `target`. */
  | { kind: "ram"; target: string; sizeKiB: number };

/** A container's cgroup limits besides the memory limit, as its definition gives them. */
export type ContainerTuning = Omit<CgroupLimits, "memoryLimitKiB" | "blkioDevices"> & {
  /** `<blkiotune><device>`s: the host block device's path and its settings. */
  blkioDevices: Array<Omit<BlkioDeviceLimits, "device"> & { path: string }>;
};

/** The definition's tuning, in the driver's terms. */
function tuningOf(definition: DomainDefinition): ContainerTuning {
  const memtune = definition.memtune;
  const cputune = definition.cputune;
  const blkiotune = definition.blkiotune;
  const tuning: ContainerTuning = { blkioDevices: [] };
  const set = <K extends keyof ContainerTuning>(key: K, value: ContainerTuning[K] | undefined) => {
    if (value !== undefined) tuning[key] = value;
  };
  set("softLimitKiB", memtune?.softLimitKiB);
  set("swapHardLimitKiB", memtune?.swapHardLimitKiB);
  set("cpuShares", cputune?.shares);
  set("cpuPeriodUs", cputune?.period);
  set("cpuQuotaUs", cputune?.quota);
  set("blkioWeight", blkiotune?.weight);
  (blkiotune?.devices ?? []).forEach((device, index) => {
    const where = `/domain/blkiotune/device[${index + 1}]/path`;
    const path = hostPath(device.path, where);
    const { path: _path, extra: _extra, ...settings } = device;
    tuning.blkioDevices.push({ path, ...settings });
  });
  return tuning;
}

/** A container as its definition describes it. */
export interface ContainerSpec {
  /** The host folder that becomes `/`. */
  rootDir: string;
  rootReadonly: boolean;
  /** Further mounts, in document order (after the root). */
  mounts: ContainerMount[];
  init: string;
  initArgs: string[];
  /** `<initenv name>` values, in document order. */
  initEnv: Array<[string, string]>;
  /** `<initdir>`; `/` when absent. */
  initDir: string;
  /** The UTS host name: the domain's name. */
  hostname: string;
  /** The cgroup memory limit in KiB (`<memtune><hard_limit>`, else `<memory>`); 0: none. */
  memoryLimitKiB: number;
  /** The other cgroup limits (`<memtune>`, `<cputune>`, `<blkiotune>`); block devices by path. */
  tuning: ContainerTuning;
  /** Whether the container has a `<console type='pty'>`. */
  console: boolean;
  /** `<inituser>` and `<initgroup>` as written (looked up in the container at launch). */
  initUser?: string;
  initGroup?: string;
  /** `<idmap>`: the container runs in a user namespace with these maps. */
  idmap?: { uids: IdMapRange[]; gids: IdMapRange[] };
  /** The capabilities the init loses (`<features><capabilities>`, libvirt's defaults). */
  capabilities: CapabilityCut;
}

function refuse(where: string, message: string): VirtError {
  return new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

/**
 * A path inside the container, absolute and without `.`/`..` components, so it cannot leave
 * the root once joined to it.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) at `where` for a relative path or one that climbs.
 */
export function containerPath(path: string, where: string): string {
  if (!path.startsWith("/")) {
    throw refuse(where, `'${path}' is not an absolute path inside the container`);
  }
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw refuse(where, `'${path}' leaves the container's root file system`);
  }
  if (parts.some((part) => part.includes("\0"))) {
    throw refuse(where, `'${path}' contains a NUL character`);
  }
  return `/${parts.join("/")}`;
}

/** A host path the driver passes to the setup: absolute, without NUL or newline. */
function hostPath(path: string | undefined, where: string): string {
  if (path === undefined || path === "") throw refuse(where, "the source folder is missing");
  if (!path.startsWith("/") || /[\0\n]/.test(path)) {
    throw refuse(where, `'${path}' is not an absolute host path`);
  }
  return path;
}

function readMount(
  filesystem: Filesystem,
  index: number,
): { mount: ContainerMount; rootDir?: string } {
  const where = `/domain/devices/filesystem[${index + 1}]`;
  const type = filesystem.type ?? "mount";
  const target = filesystem.target?.dir;
  if (target === undefined) throw refuse(`${where}/target`, "a filesystem needs a target dir");
  const targetPath = containerPath(target, `${where}/target/@dir`);
  const readonly = filesystem.readonly === true;
  if (type === "mount") {
    const sourceDir = hostPath(filesystem.source?.dir, `${where}/source/@dir`);
    return {
      mount: { kind: "bind", source: sourceDir, target: targetPath, readonly },
      ...(targetPath === "/" ? { rootDir: sourceDir } : {}),
    };
  }
  if (type === "ram") {
    if (targetPath === "/") throw refuse(`${where}/@type`, "a ram filesystem cannot be the root");
    return {
      mount: { kind: "ram", target: targetPath, sizeKiB: filesystem.source?.usageKiB ?? 0 },
    };
  }
  throw refuse(`${where}/@type`, `filesystem type '${type}' is not supported by the lxc driver`);
}

/**
 * Reads what the container needs from a definition.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the element the driver cannot honour.
 *
 * @example
 * ```ts ignore
 * const spec = containerSpec(definition);
 * console.log(spec.init, spec.rootDir);
 * ```
 */
export function containerSpec(definition: DomainDefinition): ContainerSpec {
  if (definition.os.type !== "exe") {
    throw refuse("/domain/os/type", `os type '${definition.os.type}' is not 'exe'`);
  }
  const os = definition.os;
  if (os.init === undefined) {
    // libvirt's wording (`lxc_definition_rules.ts` refuses it at define already).
    throw new VirtError(ErrorCode.XML_ERROR, "init binary must be specified", {
      where: "/domain/os/init",
    });
  }
  const init = containerPath(os.init, "/domain/os/init");
  const initArgs = os.initargs ?? [];
  const initEnv = (os.initenvs ?? []).map(({ name, value }, index): [string, string] => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw refuse(`/domain/os/initenv[${index + 1}]/@name`, `'${name}' is not a variable name`);
    }
    return [name, value ?? ""];
  });
  const initDir = os.initdir === undefined ? "/" : containerPath(os.initdir, "/domain/os/initdir");
  const devices = definition.devices;
  const filesystems = devices.filesystems ?? [];
  if (filesystems.length > MOUNTS_MAX) {
    throw refuse("/domain/devices/filesystem", `more than ${MOUNTS_MAX} filesystems`);
  }
  let rootDir: string | undefined;
  let rootReadonly = false;
  const mounts: ContainerMount[] = [];
  filesystems.forEach((filesystem, index) => {
    const read = readMount(filesystem, index);
    if (read.rootDir !== undefined) {
      if (rootDir !== undefined) {
        throw refuse(`/domain/devices/filesystem[${index + 1}]/target`, "a second root filesystem");
      }
      rootDir = read.rootDir;
      rootReadonly = read.mount.kind === "bind" && read.mount.readonly;
    } else {
      mounts.push(read.mount);
    }
  });
  if (rootDir === undefined) {
    throw refuse(
      "/domain/devices/filesystem",
      "the lxc driver needs a root filesystem (<filesystem type='mount'> with <target dir='/'/>)",
    );
  }
  refuseUnsupportedDevices(definition);
  checkInterfaces(definition);
  const consoles = devices.consoles;
  consoles.forEach((console, index) => {
    if ((console.type ?? "pty") !== "pty") {
      throw refuse(
        `/domain/devices/console[${index + 1}]/@type`,
        "only pty consoles are supported",
      );
    }
  });
  if (consoles.length > 1) {
    throw refuse("/domain/devices/console[2]", "only one console is supported");
  }
  return {
    rootDir,
    rootReadonly,
    mounts,
    init,
    initArgs,
    initEnv,
    initDir,
    hostname: definition.name,
    memoryLimitKiB: definition.memtune?.hardLimitKiB ?? definition.memoryKiB,
    tuning: tuningOf(definition),
    console: consoles.length === 1,
    ...(os.inituser === undefined ? {} : { initUser: os.inituser }),
    ...(os.initgroup === undefined ? {} : { initGroup: os.initgroup }),
    ...idmapOf(definition),
    capabilities: capabilityCut(
      definition.features?.capabilities?.policy,
      definition.featureCapabilities,
    ),
  };
}

/** Most ranges of one map (the kernel takes 340 lines in `uid_map`). */
export const IDMAP_RANGES_MAX = 340;

function idmapOf(definition: DomainDefinition): Pick<ContainerSpec, "idmap"> {
  const idmap = definition.idmap;
  if (idmap === undefined || (idmap.uids.length === 0 && idmap.gids.length === 0)) return {};
  for (const [name, ranges] of [["uid", idmap.uids], ["gid", idmap.gids]] as const) {
    if (ranges.length > IDMAP_RANGES_MAX) {
      throw refuse(`/domain/idmap/${name}`, `more than ${IDMAP_RANGES_MAX} ${name} ranges`);
    }
    ranges.forEach((range, index) => {
      const fits = [range.start, range.target, range.count].every((value) =>
        Number.isInteger(value) && value >= 0 && value <= 0xffffffff
      ) && range.count > 0;
      if (!fits) {
        throw refuse(
          `/domain/idmap/${name}[${index + 1}]`,
          `the ${name} range is not one the kernel takes`,
        );
      }
    });
  }
  return { idmap: { uids: idmap.uids, gids: idmap.gids } };
}

function refuseUnsupportedDevices(definition: DomainDefinition): void {
  const devices = definition.devices;
  const lists: Array<[string, unknown[]]> = [
    ["disk", devices.disks],
    ["hostdev", devices.hostdevs],
    ["serial", devices.serials],
  ];
  for (const [name, list] of lists) {
    if (list.length > 0) {
      throw refuse(`/domain/devices/${name}`, `<${name}> is not supported by the lxc driver yet`);
    }
  }
}
