/**
 * The LXC driver: `<domain type='lxc'>` as a Linux container (namespaces pid, mount, uts, ipc,
 * net; a cgroup for limits, freezing and figures), behind the neutral driver protocol.
 *
 * Each container has a supervisor of its own (`container_scripts.ts`), started in its own
 * session, so its init is never the service's child and a SIGKILLed service leaves it
 * running; the runtime record names the runtime folder and the cgroup, from which a restarted
 * service finds the container again (`probe`, `adopt`). A launch leaves the init waiting for
 * its go (the `paused (starting up)` of the protocol); `resume` gives it, later `pause` and
 * `resume` freeze and thaw the cgroup.
 *
 * @module
 */

import type {
  AppliedTuning,
  BlockSample,
  DomainDescription,
  DomainHandle,
  Driver,
  InstanceInfo,
  InstanceSamples,
  InterfaceSample,
  LaunchRequest,
  ObservationSink,
  Reality,
} from "../../actors/driver_protocol.ts";
import type { DiskError } from "../../src/storage/block_figures.ts";
import type { GuestCapability } from "../../src/model/capabilities.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { RuntimeRecord } from "../../src/model/facts.ts";
import {
  appliedLimits,
  cgroupFigures,
  cgroupJoinFiles,
  type CgroupLimits,
  cgroupOfRecord,
  type CgroupPaths,
  cgroupPids,
  cgroupRecord,
  createCgroup,
  frozenState,
  planHostCgroup,
  removeCgroup,
} from "../../src/host/cgroups.ts";
import {
  endProcess,
  findInit,
  findSupervisor,
  freeze,
  isAlive,
  killCgroup,
  type ProcessIdentity,
  readRunFile,
  releaseInit,
  RUN_DIR_PATTERN,
  SETUP_TIMEOUT_MS,
  spawnSupervisor,
  waitForReady,
} from "./container_process.ts";
import {
  idMapText,
  makeDevSkeleton,
  RUN_FILES,
  setupScript,
  supervisorScript,
} from "./container_scripts.ts";
import { checkUserNamespaces, initPrivileges } from "./container_privileges.ts";
import { type ContainerSpec, containerSpec } from "./container_spec.ts";
import {
  type ContainerLink,
  containerLinks,
  createLinks,
  namespaceLinks,
  removeLinks,
  withGuestNames,
} from "./container_network.ts";
import { checkLxcDefinition, completeLxcDefinition } from "./lxc_definition_rules.ts";

/** How often a watched container is looked at, in ms. */
export const WATCH_INTERVAL_MS = 200;

/** How long an ungraceful end gives the init after SIGTERM before SIGKILL, in ms. */
export const DESTROY_GRACE_MS = 1_000;

/** How long a graceful end waits for the init to exit after SIGTERM, in ms. */
export const SHUTDOWN_WAIT_MS = 30_000;

/** How long the supervisor may take to exit once its container is gone, in ms. */
const SUPERVISOR_EXIT_MS = 5_000;

/** Options of {@linkcode LxcDriver}. */
export interface LxcDriverOptions {
  /** The service's runtime folder; containers live in `<runtimeDir>/lxc/<uuid>`. */
  runtimeDir: string;
  log?: (message: string) => void;
  /** How often watched containers are looked at. Default {@linkcode WATCH_INTERVAL_MS}. */
  watchIntervalMs?: number;
}

/** What the driver holds of a running container. */
interface Container {
  uuid: string;
  name: string;
  runDir: string;
  cgroup: CgroupPaths;
  sink?: ObservationSink;
  timer?: ReturnType<typeof setInterval>;
  /** An end was asked by the actor: the exit is not reported as an observation. */
  ending: boolean;
  /** The end was observed or made: no more observations. */
  ended: boolean;
  /** A restart is under way: the end of the old init is not the container's end. */
  rebooting: boolean;
  /** Its veth pairs (made again at each restart: they end with the namespace). */
  links: ContainerLink[];
}

/** The host's architecture in libvirt's name. */
function hostArch(): string {
  return Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
}

/** The hypervisor version libvirt's LXC driver reports: the kernel release, as `x.y.z`. */
function kernelVersion(): string {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(Deno.osRelease());
  return match === null ? "0.0.0" : `${match[1]}.${match[2]}.${match[3] ?? "0"}`;
}

function runDirOf(record: RuntimeRecord): string {
  const dir = record.runDir;
  if (typeof dir !== "string" || !RUN_DIR_PATTERN.test(dir)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "runtime record lacks the container's folder");
  }
  return dir;
}

/** The record of a running container: the plan, its supervisor and its init at launch. */
function launchedRecord(
  planned: RuntimeRecord,
  supervisor: ProcessIdentity,
  init: ProcessIdentity,
): RuntimeRecord {
  return {
    ...planned,
    supervisorPid: supervisor.pid,
    supervisorStartTimeTicks: supervisor.startTimeTicks,
    pid: init.pid,
    startTimeTicks: init.startTimeTicks,
  };
}

/** The host ends of a container's veth pairs, as the runtime record lists them. */
function linksOfRecord(record: RuntimeRecord): string[] {
  const links = record.links;
  return typeof links === "string" ? links.split(" ").filter((name) => name !== "") : [];
}

function removeFolder(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // Already gone.
  }
}

/**
 * The LXC driver.
 *
 * @example
 * ```ts ignore
 * const driver = new LxcDriver({ runtimeDir: "/run/evirt" });
 * const host = await Host.open({ store, drivers: [driver], log: console.log });
 * ```
 */
export class LxcDriver implements Driver {
  readonly name = "lxc";
  readonly domainTypes: readonly string[] = ["lxc"];
  readonly hypervisorVersion: string = kernelVersion();
  readonly #runtimeDir: string;
  readonly #log: (message: string) => void;
  readonly #watchIntervalMs: number;
  readonly #containers = new Map<string, Container>();

  constructor(options: LxcDriverOptions) {
    this.#runtimeDir = `${options.runtimeDir}/lxc`;
    if (!RUN_DIR_PATTERN.test(this.#runtimeDir)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `runtime folder '${options.runtimeDir}' may only have letters, digits and . _ / -`,
      );
    }
    this.#log = options.log ?? (() => {});
    this.#watchIntervalMs = options.watchIntervalMs ?? WATCH_INTERVAL_MS;
  }

  /**
   * Why containers cannot run on this host, or undefined when they can (root, namespaces,
   * `unshare` and `socat` present, a cgroup layout with what a container needs).
   */
  static unavailableReason(): string | undefined {
    if (Deno.uid() !== 0) return "containers need root";
    for (const ns of ["pid", "mnt", "uts", "ipc", "net"]) {
      try {
        Deno.statSync(`/proc/self/ns/${ns}`);
      } catch {
        return `the kernel has no ${ns} namespaces`;
      }
    }
    try {
      planHostCgroup("00000000-0000-0000-0000-000000000000");
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  }

  /** libvirt's LXC post-parse (`lxc_definition_rules.ts`): arch, emulator, console targets, … */
  completeDefinition(definition: DomainDefinition): Promise<DomainDefinition> {
    return Promise.resolve(completeLxcDefinition(definition, { hostArch: hostArch() }));
  }

  /** libvirt's refusals of an LXC definition, then what this driver cannot run yet (67). */
  check(definition: DomainDefinition): void {
    checkLxcDefinition(definition);
    containerSpec(definition);
  }

  /**
   * Interfaces run on a bridge (`network`, `bridge`): the host gives them their bridge and the
   * name of their host end at start, as it gives the QEMU driver its taps.
   */
  readonly bridgesInterfaces = true;

  /** The live definition: every interface with its name inside the container (`eth0`, …). */
  instanceDefinition(definition: DomainDefinition): DomainDefinition {
    return withGuestNames(definition);
  }

  plan(request: LaunchRequest): RuntimeRecord {
    const links = containerLinks(request.definition, request.id);
    return {
      driver: "lxc",
      runDir: `${this.#runtimeDir}/${request.uuid}`,
      ...cgroupRecord(planHostCgroup(request.uuid)),
      // Intent: the host ends of the veth pairs the start will make.
      ...(links.length === 0 ? {} : { links: links.map((link) => link.hostDev).join(" ") }),
    };
  }

  async launch(request: LaunchRequest, signal: AbortSignal): Promise<RuntimeRecord> {
    const spec = containerSpec(request.definition);
    let rootStat: Deno.FileInfo;
    try {
      rootStat = Deno.statSync(spec.rootDir);
    } catch (error) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `root filesystem '${spec.rootDir}' cannot be used: ${(error as Error).message}`,
        { where: "/domain/devices/filesystem/source/@dir", cause: error },
      );
    }
    if (!rootStat.isDirectory) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `root filesystem '${spec.rootDir}' is not a folder`,
        { where: "/domain/devices/filesystem/source/@dir" },
      );
    }
    const planned = this.plan(request);
    const runDir = runDirOf(planned);
    const cgroup = cgroupOfRecord(planned);
    const links = containerLinks(request.definition, request.id);
    const existing = namespaceLinks();
    const taken = links.find((link) => existing.has(link.hostDev));
    if (taken !== undefined) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `Unable to create veth device ${taken.hostDev}: File exists`,
        { where: `${taken.where}/target/@dev` },
      );
    }
    if (cgroupPids(cgroup).length > 0 || findSupervisor(runDir) !== undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `domain '${request.name}' already has a running container`,
      );
    }
    const privileges = initPrivileges(spec);
    if (spec.idmap !== undefined) await checkUserNamespaces();
    removeFolder(runDir);
    Deno.mkdirSync(`${runDir}/${RUN_FILES.root}`, { recursive: true, mode: 0o700 });
    // A container root in a user namespace is no owner of the folder: it may only pass it
    // (setup runs from it and names its files relatively).
    if (spec.idmap !== undefined) Deno.chmodSync(runDir, 0o711);
    let supervisor: ProcessIdentity | undefined;
    try {
      await makeFifos([`${runDir}/${RUN_FILES.go}`, `${runDir}/${RUN_FILES.staged}`]);
      makeDevSkeleton(runDir);
      const joinFiles = cgroupJoinFiles(cgroup);
      Deno.writeTextFileSync(
        `${runDir}/${RUN_FILES.setup}`,
        setupScript(spec, {
          cgroupJoinFiles: spec.idmap === undefined ? joinFiles : [],
          uuid: request.uuid,
          name: request.name,
          privilegeArgs: privileges.args,
          ...(privileges.identity.uid === undefined ? {} : { initUid: privileges.identity.uid }),
        }),
      );
      Deno.writeTextFileSync(
        `${runDir}/${RUN_FILES.supervisor}`,
        supervisorScript({
          runDir,
          console: spec.console,
          cgroupJoinFiles: spec.idmap === undefined ? [] : joinFiles,
          ...(spec.idmap === undefined ? {} : {
            idmap: { uidMap: idMapText(spec.idmap.uids), gidMap: idMapText(spec.idmap.gids) },
          }),
        }),
      );
      createCgroup(cgroup, cgroupLimits(spec));
      const pid = spawnSupervisor(runDir, spec.console);
      await waitForReady(runDir, pid, signal);
      supervisor = findSupervisor(runDir);
      const init = findInit(runDir);
      if (supervisor === undefined || init === undefined) {
        throw new VirtError(ErrorCode.OPERATION_FAILED, "the container's init vanished at start");
      }
      await createLinks(links, init.pid);
      this.#containers.set(request.uuid, this.#newContainer(request, runDir, cgroup));
      return launchedRecord(planned, supervisor, init);
    } catch (error) {
      await this.#cleanUp(
        runDir,
        cgroup,
        supervisor ?? findSupervisor(runDir),
        linksOfRecord(planned),
      );
      throw error;
    }
  }

  async adopt(
    request: LaunchRequest,
    planned: RuntimeRecord,
    signal: AbortSignal,
  ): Promise<RuntimeRecord | undefined> {
    const runDir = runDirOf(planned);
    const cgroup = cgroupOfRecord(planned);
    const supervisor = findSupervisor(runDir);
    if (supervisor !== undefined && cgroupPids(cgroup).length === 0) {
      // Spawned in the last instant: give its setup the time a launch gives it.
      await waitForReady(runDir, supervisor.pid, signal).catch(() => {});
    }
    const init = findInit(runDir);
    if (init === undefined || supervisor === undefined) {
      await this.#cleanUp(runDir, cgroup, supervisor, linksOfRecord(planned));
      return undefined;
    }
    // A start interrupted before the interfaces were made (the init still waits for its go):
    // make them now, as the start would have.
    const links = containerLinks(request.definition, request.id);
    const present = namespaceLinks();
    if (
      readRunFile(runDir, "released") === undefined &&
      links.some((link) => !present.has(link.hostDev))
    ) {
      try {
        await removeLinks(links.map((link) => link.hostDev));
        await createLinks(links, init.pid);
      } catch (error) {
        this.#log(
          `domain ${request.name}: interfaces of an interrupted start: ${(error as Error).message}`,
        );
        await this.#cleanUp(runDir, cgroup, supervisor, linksOfRecord(planned));
        return undefined;
      }
    }
    this.#log(
      `domain ${request.name}: adopting container init ${init.pid} of an interrupted start`,
    );
    this.#containers.set(request.uuid, this.#newContainer(request, runDir, cgroup));
    return launchedRecord(planned, supervisor, init);
  }

  #newContainer(
    request: { uuid: string; name: string; id: number; definition: DomainDefinition },
    runDir: string,
    cgroup: CgroupPaths,
  ): Container {
    return {
      uuid: request.uuid,
      name: request.name,
      runDir,
      cgroup,
      ending: false,
      ended: false,
      rebooting: false,
      links: containerLinks(request.definition, request.id),
    };
  }

  #container(handle: DomainHandle): Container {
    let container = this.#containers.get(handle.uuid);
    if (container === undefined) {
      container = this.#newContainer(
        handle,
        runDirOf(handle.runtime),
        cgroupOfRecord(handle.runtime),
      );
      this.#containers.set(handle.uuid, container);
    }
    return container;
  }

  async #cleanUp(
    runDir: string,
    cgroup: CgroupPaths,
    supervisor: ProcessIdentity | undefined,
    links: readonly string[],
  ): Promise<void> {
    const signal = AbortSignal.timeout(30_000);
    try {
      await killCgroup(cgroup, 0, signal);
      await endProcess(supervisor, SUPERVISOR_EXIT_MS, signal);
    } catch (error) {
      this.#log(`container cleanup in ${runDir}: ${(error as Error).message}`);
    }
    // The namespace is gone with its processes, and the kernel removes the pairs with it;
    // whatever is left in the host's namespace (a start that failed halfway) goes here.
    await removeLinks(links);
    removeCgroup(cgroup);
    removeFolder(runDir);
  }

  async resume(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    const container = this.#container(handle);
    if (frozenState(container.cgroup) !== "thawed") await freeze(container.cgroup, false, signal);
    if (readRunFile(container.runDir, "released") === undefined) {
      await releaseInit(container.runDir);
      Deno.writeTextFileSync(`${container.runDir}/released`, "");
    }
  }

  async pause(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await freeze(this.#container(handle).cgroup, true, signal);
  }

  powerdown(handle: DomainHandle): Promise<void> {
    // As libvirt's LXC driver without /dev/initctl: SIGTERM to the init.
    const init = findInit(this.#container(handle).runDir);
    if (init === undefined) {
      return Promise.reject(new VirtError(ErrorCode.OPERATION_FAILED, "the container has no init"));
    }
    Deno.kill(init.pid, "SIGTERM");
    return Promise.resolve();
  }

  /** Restarts the container now (its init and every process): resolves once the new init runs. */
  async reset(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await this.#restart(this.#container(handle), signal);
  }

  /**
   * As libvirt's LXC driver without `/dev/initctl`: the container is restarted (every process
   * killed, the namespaces and mounts made again, a new init); the REBOOT is reported as a
   * `reset` observation once the new init runs.
   */
  reboot(handle: DomainHandle): Promise<void> {
    const container = this.#container(handle);
    this.#restart(container, AbortSignal.timeout(SETUP_TIMEOUT_MS + 30_000)).then(
      () => container.sink?.(container.uuid, { kind: "reset", booted: true }),
      (error) => this.#log(`container ${container.name}: reboot failed: ${error.message}`),
    );
    return Promise.resolve();
  }

  async #restart(container: Container, signal: AbortSignal): Promise<void> {
    const supervisor = findSupervisor(container.runDir);
    if (supervisor === undefined) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, "the container's supervisor is gone");
    }
    container.rebooting = true;
    try {
      // The supervisor starts the container again when it finds this file after the init ended,
      // once the hold is gone: the new run must not join the cgroup while it is being emptied.
      Deno.writeTextFileSync(`${container.runDir}/${RUN_FILES.rebootHold}`, "");
      Deno.writeTextFileSync(`${container.runDir}/${RUN_FILES.reboot}`, "");
      removeFolder(`${container.runDir}/${RUN_FILES.status}`);
      removeFolder(`${container.runDir}/released`);
      try {
        await killCgroup(container.cgroup, 0, signal);
      } finally {
        removeFolder(`${container.runDir}/${RUN_FILES.rebootHold}`);
      }
      await waitForReady(container.runDir, supervisor.pid, signal);
      await this.#remakeLinks(container);
      await releaseInit(container.runDir);
      Deno.writeTextFileSync(`${container.runDir}/released`, "");
    } finally {
      container.rebooting = false;
    }
  }

  /** The new run of a restarted container gets its interfaces again (the old ones ended). */
  async #remakeLinks(container: Container): Promise<void> {
    if (container.links.length === 0) return;
    const init = findInit(container.runDir);
    if (init === undefined) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, "the container's init vanished at restart");
    }
    await removeLinks(container.links.map((link) => link.hostDev));
    await createLinks(container.links, init.pid);
  }

  async terminate(
    handle: DomainHandle,
    options: { graceful: boolean },
    signal: AbortSignal,
  ): Promise<void> {
    const container = this.#container(handle);
    container.ending = true;
    try {
      if (options.graceful) {
        const init = findInit(container.runDir);
        if (init !== undefined) Deno.kill(init.pid, "SIGTERM");
        const deadline = performance.now() + SHUTDOWN_WAIT_MS;
        while (cgroupPids(container.cgroup).length > 0) {
          if (performance.now() > deadline) {
            throw new VirtError(
              ErrorCode.OPERATION_FAILED,
              `the container's init did not end within ${SHUTDOWN_WAIT_MS} ms of SIGTERM`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      await killCgroup(container.cgroup, options.graceful ? 0 : DESTROY_GRACE_MS, signal);
    } catch (error) {
      container.ending = false;
      throw error;
    }
    container.ended = true;
    this.#stopWatching(container);
    const supervisor = findSupervisor(container.runDir);
    await endProcess(supervisor, SUPERVISOR_EXIT_MS, signal).catch(() => {});
    await removeLinks(container.links.map((link) => link.hostDev));
    removeCgroup(container.cgroup);
    removeFolder(container.runDir);
    this.#containers.delete(handle.uuid);
  }

  probe(handle: DomainHandle): Promise<Reality> {
    return Promise.resolve(this.#reality(this.#container(handle), true));
  }

  status(handle: DomainHandle): Promise<Reality> {
    return Promise.resolve(this.#reality(this.#container(handle), false));
  }

  #reality(container: Container, cleanGone: boolean): Reality {
    if (cgroupPids(container.cgroup).length === 0 || findInit(container.runDir) === undefined) {
      if (cleanGone) {
        this.#containers.delete(container.uuid);
        void this.#cleanUp(
          container.runDir,
          container.cgroup,
          findSupervisor(container.runDir),
          container.links.map((link) => link.hostDev),
        );
      }
      return { kind: "gone" };
    }
    if (frozenState(container.cgroup) !== "thawed") return { kind: "paused", reason: "user" };
    return { kind: "running" };
  }

  watch(handle: DomainHandle, sink: ObservationSink): void {
    const container = this.#container(handle);
    container.sink = sink;
    if (container.timer !== undefined) return;
    container.timer = setInterval(() => this.#look(container), this.#watchIntervalMs);
  }

  /** One look at a watched container: its init's end, or the end of a reboot. */
  #look(container: Container): void {
    if (container.ending || container.ended || container.rebooting) return;
    if (readRunFile(container.runDir, RUN_FILES.guestReboot) !== undefined) {
      this.#finishGuestReboot(container);
      return;
    }
    const exit = readRunFile(container.runDir, RUN_FILES.exit);
    const supervisorGone = findSupervisor(container.runDir) === undefined;
    if (exit === undefined && !supervisorGone) return;
    if (exit !== undefined && !supervisorGone && cgroupPids(container.cgroup).length > 0) return;
    container.ended = true;
    this.#stopWatching(container);
    // As libvirt 9.0's LXC controller: whatever way the init ended (exit status or signal), the
    // container shut down; only a supervisor gone without recording the end is a failure.
    const reason = exit !== undefined ? "shutdown" : "crashed";
    const sink = container.sink;
    void this.#cleanUp(
      container.runDir,
      container.cgroup,
      findSupervisor(container.runDir),
      container.links.map((link) => link.hostDev),
    ).finally(() => {
      this.#containers.delete(container.uuid);
      sink?.(container.uuid, { kind: "stopped", reason });
    });
  }

  /** The init asked for a reboot (died of SIGHUP): once the new run is ready, its go. */
  #finishGuestReboot(container: Container): void {
    if (readRunFile(container.runDir, RUN_FILES.status)?.trim() !== "ready") return;
    container.rebooting = true;
    this.#remakeLinks(container).then(() => releaseInit(container.runDir)).then(() => {
      Deno.writeTextFileSync(`${container.runDir}/released`, "");
      removeFolder(`${container.runDir}/${RUN_FILES.guestReboot}`);
      container.sink?.(container.uuid, { kind: "reset", booted: true });
    }).catch((error) => this.#log(`container ${container.name}: reboot failed: ${error.message}`))
      .finally(() => container.rebooting = false);
  }

  #stopWatching(container: Container): void {
    if (container.timer !== undefined) clearInterval(container.timer);
    container.timer = undefined;
  }

  unwatch(uuid: string): void {
    const container = this.#containers.get(uuid);
    if (container === undefined) return;
    this.#stopWatching(container);
    container.sink = undefined;
  }

  info(handle: DomainHandle): InstanceInfo {
    const container = this.#containers.get(handle.uuid);
    const figures = container === undefined ? undefined : cgroupFigures(container.cgroup);
    return {
      cpuTimeNs: figures?.cpuTimeNs ?? 0,
      // As libvirt's LXC driver: the memory the cgroup is charged with.
      memoryKiB: figures === undefined
        ? handle.definition.memoryKiB
        : Math.round(figures.memoryBytes / 1024),
    };
  }

  /** libvirt's LXC driver's scheduler: `cpu_shares`, `vcpu_period`, `vcpu_quota`. */
  readonly schedulerParameterCount = 3;

  /** The limits the container's cgroup has now (`schedinfo`, `memtune` of a running one). */
  appliedTuning(handle: DomainHandle): AppliedTuning | undefined {
    const container = this.#containers.get(handle.uuid);
    return container === undefined ? undefined : appliedLimits(container.cgroup);
  }

  describe(definition: DomainDefinition): DomainDescription {
    return { osType: definition.os.type };
  }

  samples(handle: DomainHandle): InstanceSamples | undefined {
    const container = this.#containers.get(handle.uuid);
    if (container === undefined || container.ended) return undefined;
    const figures = cgroupFigures(container.cgroup);
    if (figures === undefined) {
      return { takenAtMs: Date.now(), stale: true, staleReason: "the container's cgroup is gone" };
    }
    const memoryKiB = Math.round(figures.memoryBytes / 1024);
    return {
      takenAtMs: Date.now(),
      stale: false,
      cpu: { timeNs: figures.cpuTimeNs, userNs: figures.userNs, systemNs: figures.systemNs },
      rssKiB: memoryKiB,
      balloonKiB: memoryKiB,
      ...(container.links.length === 0 ? {} : { interfaces: interfaceSamples(container.links) }),
    };
  }

  blockQuery(): Promise<BlockSample> {
    // Containers have no disks (the driver refuses `<disk>`).
    return Promise.resolve({ disks: [], containers: {} });
  }

  diskErrors(): Promise<DiskError[]> {
    return Promise.resolve([]);
  }

  consolePath(handle: DomainHandle): string | undefined {
    try {
      return Deno.realPathSync(`${runDirOf(handle.runtime)}/${RUN_FILES.console}`);
    } catch {
      return undefined;
    }
  }

  /**
   * The capabilities' `<guest>`: `exe` on the host's architecture (libvirt's LXC driver also
   * lists i686 on x86_64 hosts, for a 32-bit personality this driver does not set).
   */
  guests(): Promise<GuestCapability[]> {
    const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
    return Promise.resolve([{
      osType: "exe",
      arch,
      wordsize: 64,
      machines: [],
      domainTypes: ["lxc"],
    }]);
  }

  /** The container's init now (after a reboot it is another process than at launch). */
  static initOf(runtime: RuntimeRecord): ProcessIdentity | undefined {
    return findInit(runDirOf(runtime));
  }

  /** Whether the recorded supervisor of a container still lives. */
  static supervisorAlive(runtime: RuntimeRecord): boolean {
    const pid = runtime.supervisorPid;
    const ticks = runtime.supervisorStartTimeTicks;
    return typeof pid === "number" && typeof ticks === "number" &&
      isAlive({ pid, startTimeTicks: ticks });
  }

  close(): Promise<void> {
    for (const container of this.#containers.values()) this.#stopWatching(container);
    this.#containers.clear();
    return Promise.resolve();
  }
}

/**
 * The counters of the host ends, as libvirt's LXC driver reports a veth: in the guest's view
 * (what the host end sent, the container received) for `network` and `bridge` interfaces, in
 * the host's for `ethernet` ones (libvirt's `virDomainNetTypeSharesHostView`).
 */
function interfaceSamples(links: readonly ContainerLink[]): InterfaceSample[] {
  const present = namespaceLinks();
  const samples: InterfaceSample[] = [];
  links.forEach((link, index) => {
    const host = present.get(link.hostDev);
    if (host === undefined) return;
    const [rx, tx] = link.bridge === undefined ? ["rx", "tx"] as const : ["tx", "rx"] as const;
    samples.push({
      index,
      name: link.hostDev,
      rxBytes: host[`${rx}Bytes`],
      rxPackets: host[`${rx}Packets`],
      rxErrors: host[`${rx}Errors`],
      rxDrops: host[`${rx}Drops`],
      txBytes: host[`${tx}Bytes`],
      txPackets: host[`${tx}Packets`],
      txErrors: host[`${tx}Errors`],
      txDrops: host[`${tx}Drops`],
    });
  });
  return samples;
}

/**
 * The spec's limits for the cgroup, each `<blkiotune><device>` named by its `major:minor`.
 *
 * @throws {VirtError} OPERATION_INVALID (55) for a device path that is no block device.
 */
function cgroupLimits(spec: ContainerSpec): CgroupLimits {
  const { blkioDevices, ...rest } = spec.tuning;
  return {
    memoryLimitKiB: spec.memoryLimitKiB,
    ...rest,
    blkioDevices: blkioDevices.map(({ path, ...settings }, index) => {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(path);
      } catch (error) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          `Unable to stat ${path}: ${(error as Error).message}`,
          { where: `/domain/blkiotune/device[${index + 1}]/path`, cause: error },
        );
      }
      if (!info.isBlockDevice || info.rdev === null) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, `${path} is not a block device`, {
          where: `/domain/blkiotune/device[${index + 1}]/path`,
        });
      }
      // glibc's major()/minor() of a dev_t.
      const rdev = BigInt(info.rdev);
      const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
      const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
      return { device: `${major}:${minor}`, ...settings };
    }),
  };
}

async function makeFifos(paths: string[]): Promise<void> {
  const output = await new Deno.Command("mkfifo", {
    args: ["-m", "600", ...paths],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(5_000),
  }).output();
  if (!output.success) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot make the fifos ${paths.join(" ")}: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
}
