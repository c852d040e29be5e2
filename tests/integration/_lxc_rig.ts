/**
 * The test container as an evirt domain on the LXC driver, and a host rig around it: temporary
 * runtime folder, an {@linkcode LxcDriver}, a {@linkcode Host}, and a teardown that SIGKILLs by
 * pid every process of every container the rig started and removes their cgroups.
 *
 * @module
 */

import { Host } from "../../actors/host.ts";
import { cgroupOfRecord, cgroupPids, removeCgroup } from "../../src/host/cgroups.ts";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import {
  type DomainDefinition,
  emptyDevices,
  type Filesystem,
  type FilesystemSource,
} from "../../src/model/domain.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { cacheDir, exists, missing, repoDir } from "../support/environment.ts";
import { runVirsh } from "../support/virsh.ts";

/** The busybox root file system built by `tests/fixtures/build_rootfs.sh`. */
export const rootfsDir = `${cacheDir}/lxc-rootfs`;

/** The init the fixture installs. */
export const TEST_INIT = "/sbin/evirt-init";

/** The line the test init prints first. */
export const INIT_MARKER = "EVIRT-INIT";

/** Why container tests cannot run here, or undefined. */
export function containerSkipReason(): string | undefined {
  return LxcDriver.unavailableReason() ??
    missing("unshare", "socat", "setsid", "mkfifo", "setpriv", "nsenter") ??
    (exists(`${rootfsDir}/sbin/evirt-init`)
      ? undefined
      : `needs the busybox rootfs (bash ${repoDir}/tests/fixtures/build_rootfs.sh)`);
}

/**
 * Why a container in a user namespace cannot use the fixture's rootfs here: a folder above it
 * that others (its mapped root) cannot pass.
 */
export function mappedRootSkipReason(): string | undefined {
  let path = rootfsDir;
  while (path !== "/" && path !== "") {
    if (((Deno.statSync(path).mode ?? 0) & 0o001) === 0) {
      return `${path} cannot be passed by a container's mapped root (mode o-x)`;
    }
    path = path.slice(0, path.lastIndexOf("/")) || "/";
  }
  return undefined;
}

/** libvirt's LXC driver's URI. */
export const LXC_URI = "lxc:///system";

/** Why libvirtd's LXC driver cannot be compared with here, or undefined. */
export async function libvirtLxcSkipReason(): Promise<string | undefined> {
  const absent = missing("virsh", "/run/libvirt/libvirt-sock");
  if (absent !== undefined) return absent;
  const run = await runVirsh(LXC_URI, ["version"]);
  return run.code === 0 ? undefined : `libvirtd's LXC driver does not answer: ${run.stderr.trim()}`;
}

let counter = 0;

/** Options of {@linkcode containerDefinition}. */
export interface ContainerOptions {
  /** Root folder (default the fixture). */
  rootDir?: string;
  init?: string;
  initArgs?: string[];
  initEnv?: Record<string, string>;
  /** Further `<filesystem>`s. */
  filesystems?: Filesystem[];
  memoryKiB?: number;
  console?: boolean;
}

/** A `<filesystem>`: a bind mount of `source.dir`, or a tmpfs of `source.usageKiB`. */
export function filesystemElement(
  type: "mount" | "ram",
  target: string,
  source: FilesystemSource,
  readonly = false,
): Filesystem {
  return {
    type,
    accessmode: "passthrough",
    source,
    target: { dir: target },
    ...(readonly ? { readonly: true } : {}),
  };
}

/** The test container as a domain definition. */
export function containerDefinition(
  name: string,
  options: ContainerOptions = {},
): DomainDefinition {
  counter++;
  const devices = emptyDevices();
  if (options.console ?? true) devices.consoles.push({ type: "pty", sources: [] });
  const filesystems = [
    filesystemElement("mount", "/", { dir: options.rootDir ?? rootfsDir }),
    ...(options.filesystems ?? []),
  ];
  devices.filesystems = filesystems;
  const initenvs = Object.entries(options.initEnv ?? {}).map(([name, value]) => ({ name, value }));
  return {
    type: "lxc",
    name,
    uuid: `00000000-0000-4000-a000-${(Date.now() % 1e9).toString(16).padStart(8, "0")}${
      counter.toString(16).padStart(4, "0")
    }`,
    memoryKiB: options.memoryKiB ?? 64 * 1024,
    vcpus: 1,
    os: {
      type: "exe",
      init: options.init ?? TEST_INIT,
      boot: [],
      ...(options.initArgs === undefined ? {} : { initargs: options.initArgs }),
      ...(initenvs.length === 0 ? {} : { initenvs }),
    },
    onPoweroff: "destroy",
    onReboot: "restart",
    onCrash: "destroy",
    devices,
  };
}

/** A host on the LXC driver in a temporary folder. */
export interface LxcRig {
  dir: string;
  driver: LxcDriver;
  host: Host;
  store: EventStore;
  /** `state (reason)` as virsh prints it. */
  stateText(name: string): string;
  /** The runtime record of a running domain. */
  runtime(name: string): RuntimeRecord;
  /** Kills every container the rig's domains ran, closes the host, removes the folder. */
  close(): Promise<void>;
}

/** Every container a test launched, by runtime record, for {@linkcode killContainers}. */
export function recordContainers(host: Host, started: RuntimeRecord[]): void {
  host.onApplied((_uuid, applied) => {
    for (const { fact } of applied) {
      if (fact.type === "domain.launching" || fact.type === "domain.launched") {
        started.push(fact.body.runtime);
      }
    }
  });
}

/** SIGKILLs every process of the containers' cgroups and supervisors, removes the cgroups. */
export async function killContainers(records: RuntimeRecord[]): Promise<void> {
  for (const record of records) {
    const cgroup = cgroupOfRecord(record);
    for (let round = 0; round < 100 && cgroupPids(cgroup).length > 0; round++) {
      for (const pid of cgroupPids(cgroup)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
      try {
        Deno.writeTextFileSync(
          cgroup.layout === "v1"
            ? `${cgroup.freezer}/freezer.state`
            : `${cgroup.unified}/cgroup.freeze`,
          cgroup.layout === "v1" ? "THAWED" : "0",
        );
      } catch {
        // Gone.
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const pid = record.supervisorPid;
    if (typeof pid === "number" && LxcDriver.supervisorAlive(record)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    removeCgroup(cgroup);
  }
}

/** Opens a rig; `close()` it in `finally`. */
export async function openLxcRig(): Promise<LxcRig> {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-lxc-it-" });
  const driver = new LxcDriver({ runtimeDir: `${dir}/run`, watchIntervalMs: 50 });
  const store = createMemoryStore();
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  const started: RuntimeRecord[] = [];
  recordContainers(host, started);
  return {
    dir,
    driver,
    host,
    store,
    stateText(name) {
      const summary = host.lookup(name);
      return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
    },
    runtime(name) {
      const runtime = host.context(name).runtime;
      if (runtime === null || runtime === undefined) throw new Error(`${name} is not running`);
      return runtime;
    },
    async close() {
      try {
        await host.close();
      } finally {
        await killContainers(started);
        Deno.removeSync(dir, { recursive: true });
      }
    },
  };
}
