/**
 * The QEMU driver: runs domains of type `qemu` (TCG) and `kvm` as detached QEMU processes
 * controlled over QMP, and reports what it observes (driver protocol, reference §3).
 *
 * - **Launch**: the command line (`command_line.ts`) with `-S -no-shutdown`, started detached
 *   and confined (`qemu_process.ts`; the QEMU user, its files given to it, `dac_*.ts`); host
 *   paths checked first; QEMU's output in the per-domain log; the start done once the monitor
 *   answers a command (QEMU's main loop runs: its devices are set up). Each disk's backing chain
 *   is read from its images first, and QEMU gets one read-only node per image; the live XML's
 *   facts (ptys from `query-chardev`, VNC ports, chain indexes, …: `runtime_facts.ts`) go into
 *   the runtime record, so replay never asks QEMU.
 *   The runtime record (pid, start time, monitor socket, …) finds the process again after a
 *   service restart. QEMU runs holding its domain's claim (`instance_claim.ts`), so a second
 *   QEMU of one domain never starts; `plan` names the files before the spawn for the launch
 *   intent, and `adopt` finds the QEMU of an interrupted launch (`instance_adoption.ts`).
 * - **Control**: `cont`, `stop`, `system_powerdown`, `system_reset`, and libvirt's fake reboot
 *   (powerdown, then on the guest's SHUTDOWN `system_reset` + `cont`). The translator
 *   (`event_translation.ts`) drops the echoes of the driver's own actions.
 * - **End**: the monitor closed once QEMU answered what was sent (QEMU 7.2 signalled during a
 *   QMP dispatch hangs until SIGKILL), then SIGTERM, SIGKILL after a grace period; never `quit`.
 *   An exit the driver did not cause (QMP end of file and the process gone, zombie included) is
 *   reported as `stopped`.
 * - **Reconnect**: `probe` checks the recorded pid and start time, connects to the recorded
 *   socket and maps `query-status` to a {@linkcode Reality}; running domains are never stopped.
 *
 * @module
 */

import type { SchedulerParameter } from "../../src/model/scheduler_params.ts";
import {
  cgroupJoinFiles,
  type CgroupPaths,
  cgroupRecord,
  removeCgroup,
} from "../../src/host/cgroups.ts";
import {
  appliedQemuLimits,
  createQemuCgroup,
  joinQemuCgroup,
  pinQemuThreads,
  planQemuCgroup,
  qemuCgroupOfRecord,
  setQemuSchedulerParameter,
} from "./qemu_cgroup.ts";
import { type HugetlbfsMount, readHugetlbfsMounts } from "./hugetlbfs_mounts.ts";
import { saveFormatNumber, type SaveImageFormat } from "../../src/model/save_image_format.ts";
import { qemuSnapshots } from "./qemu_snapshots.ts";
import type {
  AppliedTuning,
  BlockSample,
  DeviceChange,
  DomainHandle,
  DomainJobStats,
  Driver,
  InstanceInfo,
  InstanceSamples,
  LaunchRequest,
  LiveDeviceChange,
  MigrationDriver,
  MigrationProgress,
  Observation,
  ObservationSink,
  Reality,
  SaveRequest,
  Screenshot,
  SecretValueLookup,
} from "../../actors/driver_protocol.ts";
import {
  encryptForQemu,
  MASTER_KEY_FILE,
  MASTER_KEY_ID,
  newMasterKey,
  writeMasterKey,
} from "./disk_encryption.ts";
import { UNLIMITED_BANDWIDTH_MIB } from "../../actors/driver_protocol.ts";
import { readSaveImage, writeSaveImage } from "./save_restore.ts";
import { MigrationJobs } from "./migration_jobs.ts";
import { SAVE_BANDWIDTH_BYTES_PER_SECOND } from "./qmp_migration.ts";
import type {
  DomainCapabilities,
  DomainCapabilitiesQuery,
  GuestCapability,
} from "../../src/model/capabilities.ts";
import { agentSocketPath, runAgentCommand } from "./guest_agent.ts";
import { logTaint, passThrough } from "./monitor_passthrough.ts";
import { takeScreenshot } from "./screenshot.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { deviceCount } from "../../src/model/device_limits.ts";
import { errorOfReply, WorkerPool } from "../../src/workers/worker_pool.ts";
import { knownJsonText, takeJsonText } from "../../src/log/json_text.ts";
import { releaseJsonText } from "../../src/log/json_pieces.ts";
import { valueOfCompactJson } from "../../src/log/compact_json.ts";
import { compactPartsOf, isCompactDefinition } from "../../src/model/compact_definition.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { Bandwidth } from "../../src/model/network.ts";
import { clearBandwidth, setBandwidth } from "../../src/host/tc_bandwidth.ts";
import type { PausedReasonName, RuntimeRecord } from "../../src/model/facts.ts";
import { LIVE_FACTS_KEY } from "../../src/model/live_facts.ts";
import { acceleratorFor, isKvmUsable, readKvmEvidence } from "./accelerator.ts";
import type { BlockNode } from "./argument_collector.ts";
import type { RunningDisk } from "./block_node_facts.ts";
import { qmpBlockFigures } from "./qmp_block_figures.ts";
import { diskErrorsOf } from "./qmp_disk_errors.ts";
import type { DiskError } from "../../src/storage/block_figures.ts";
import {
  buildCommandLine,
  type CommandLine,
  type CommandLineContext,
  emulatorFor,
} from "./command_line.ts";
import { type DryBuildReply, type DryBuildRequest, dryBuildShared } from "./dry_build_worker.ts";
import { type BlockNodeInfo, EventTranslator } from "./event_translation.ts";
import { resolveDacSettings } from "./dac_identity.ts";
import { PerfCounters, perfCounts } from "./perf_counters.ts";
import { enabledPerfEvents } from "../../src/model/perf_events.ts";
import {
  dacPlanFor,
  dacRecord,
  giveBack,
  giveBackFiles,
  givenByPlan,
  givenByRecord,
  type GivenResources,
  labelFiles,
  linkSockets,
  liveSeclabelOf,
  redirectSockets,
} from "./dac_labelling.ts";
import type { OwnerIds } from "./dac_ownership.ts";
import type { DacSettings } from "./dac_policy.ts";
import {
  attachTaps,
  type InterfaceScript,
  makeBridgePort,
  refuseSandboxedScripts,
  refuseUnopenableTun,
  runInterfaceScripts,
} from "./dac_tap.ts";
import { checkHostPaths } from "./host_paths.ts";
import {
  bridgePortsOf,
  makeBridgePorts,
  removeInstanceTaps,
  removeTap,
  shapeBridgePorts,
  tapNamesOf,
} from "./bridge_ports.ts";
import { isBridgedInterface } from "../../src/model/tap_names.ts";
import {
  loadQemuConfinement,
  type QemuConfinementConfig,
} from "../../src/config/qemu_confinement.ts";
import { findClaimedQemu } from "./instance_adoption.ts";
import { claimPathFor } from "./instance_claim.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isProcessGone,
  readProcessStat,
  waitForExit,
} from "../../src/host/process_state.ts";
import { CapabilityCache } from "./qemu_capabilities.ts";
import {
  domainCapabilitiesOf,
  emulatorForQuery,
  EmulatorProbes,
  guestOf,
  hostArch,
} from "./qemu_domain_capabilities.ts";
import { completeQemuDefinition, isCompleted } from "./definition_completion.ts";
import type { MachineTypes } from "./machine_type.ts";
import { assignDeviceAliases } from "./device_aliases.ts";
import { commandLineText } from "./command_text.ts";
import { appendQemuLog, logFileNameFits, logFileStem } from "./qemu_log_file.ts";
import { endQemu, QEMU_START_TIMEOUT_MS, type QemuIdentity, spawnQemu } from "./qemu_process.ts";
import { privateBusFiles, startPrivateBus, stopPrivateBus } from "./private_dbus.ts";
import { QmpCommands, type QmpExecutor, type QmpRunState } from "./qmp_commands.ts";
import {
  cancelMigration,
  listenForMigration,
  migrationLimits,
  migrationProgress,
  sendMigration,
  tuneMigration,
  waitForOutcome,
} from "./live_migration.ts";
import { QmpLog } from "./qmp_log.ts";
import { QmpMonitor } from "./qmp_monitor.ts";
import { resizeRunningDisk, setLiveVcpus } from "./live_resources.ts";
import type { QmpEvent } from "./qmp_protocol.ts";
import { STATS_INTERVAL_MS_DEFAULT, StatsSampler } from "./stats_sampler.ts";
import {
  learnLiveFacts,
  queryPtyPaths,
  resourcePartitionOf,
  withDetectedBackingChains,
} from "./runtime_facts.ts";
import { CHANNEL_SOCKET_FOLDER } from "./chardev_arguments.ts";
import { QemuHotplug } from "./qemu_hotplug.ts";
import {
  diskOfJobId,
  dismissJob,
  endJob,
  pruneLeftNodes,
  queryJobs,
  removeNodes,
  setJobSpeed,
  startChainJob,
  startCopy,
  type StartedCopy,
} from "./qemu_block_jobs.ts";
import type {
  BlockJobInfo,
  BlockJobRequest,
  SnapshotDriver,
} from "../../actors/driver_protocol.ts";

/** Bound on connecting to a recorded monitor during a probe, in milliseconds. */
export const PROBE_CONNECT_TIMEOUT_MS = 3_000;

/** How long QEMU may take to be gone after its monitor hit end of file, in milliseconds. */
export const EOF_EXIT_WAIT_MS = 2_000;

/**
 * Longest wait for QEMU to answer the commands in flight before it is ended, in ms (a query
 * normally answers in under a millisecond; this bounds a QEMU that no longer answers).
 */
export const QUIET_MONITOR_TIMEOUT_MS = 500;

/** Attempts to reconnect to a monitor that closed while QEMU kept running. */
export const MONITOR_RECONNECT_ATTEMPTS_MAX = 3;

/** Observations kept for an instance nobody watches yet; older ones are dropped. */
export const PENDING_OBSERVATIONS_MAX = 256;

/** Longest Unix socket path Linux accepts, in bytes. */
const SOCKET_PATH_MAX_BYTES = 107;

/**
 * Most devices whose dry build `checkOffLoop` leaves to `check` on the loop: a few milliseconds
 * at most, less than the trip to a thread and back.
 */
export const DRY_BUILD_INLINE_DEVICES_MAX = 64;

const DRY_BUILD_WORKER_URL = new URL("./dry_build_worker.ts", import.meta.url).href;

/** Longest domain name part of a runtime folder name (libvirt shortens the same way). */
const SHORT_NAME_MAX_CHARS = 20;

/** Options of {@linkcode QemuDriver.create}. */
export interface QemuDriverOptions {
  /** `EVIRT_RUNTIME_DIR`: per-domain folders (monitor socket, pid file) go under `qemu/`. */
  runtimeDir: string;
  /** Where per-domain QEMU logs and QMP transcripts go, e.g. `$EVIRT_STATE_DIR/log/qemu`. */
  logDir: string;
  /** The emulator whose version `hypervisorVersion` reports. Default `qemu-system-x86_64`. */
  emulator?: string;
  /** Whether KVM is usable; default: decided from `/proc/cpuinfo` and `/dev/kvm`. */
  kvmUsable?: boolean;
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Where operational messages go. Default: stderr. */
  log?: (message: string) => void;
  /**
   * The hugetlbfs mounts huge-page guest memory comes from (libvirt's `hugetlbfs_mount`),
   * default page size first. Default: those of `/proc/mounts`.
   */
  hugetlbfs?: HugetlbfsMount[];
  /**
   * Time between two statistics samples of a running domain, in ms. Default
   * {@linkcode STATS_INTERVAL_MS_DEFAULT}.
   */
  statsIntervalMs?: number;
  /**
   * Who QEMU runs as and whether its files are given to it. Default: from the environment
   * (`src/config/qemu_confinement.ts`), as the service's user when it is not root.
   */
  dac?: DacSettings;
  /**
   * The QEMU user and group settings `dac` is resolved from when it is not given. Default: from
   * the environment (the service passes the configuration file's layered over it).
   */
  confinement?: QemuConfinementConfig;
  /**
   * How save images' streams are compressed (libvirt's qemu.conf `save_image_format`):
   * `raw`, `gzip`, `bzip2`, `xz`, `lzop` or `zstd`. Default `raw`.
   */
  saveImageFormat?: SaveImageFormat;
  /**
   * A save's stream cap (QEMU's migration `max-bandwidth`), in bytes per second. Default:
   * {@linkcode SAVE_BANDWIDTH_BYTES_PER_SECOND} (uncapped, as libvirt).
   */
  saveBandwidthBytesPerSecond?: number;
}

/** The files of one running domain. */
interface DomainPaths {
  dir: string;
  /** The domain's claim file (one per uuid, shared by all its instances). */
  claimPath: string;
  monitorSocket: string;
  pidFile: string;
  logPath: string;
  qmpLogPath: string;
  /** The domain's folders under hugetlbfs mounts (QEMU's huge-page files), removed with it. */
  hugepageFolders: string[];
  /** The control group QEMU runs in, when its definition has cgroup limits (`qemu_cgroup.ts`). */
  cgroup?: CgroupPaths;
}

/** The runtime record's fields that name a domain's files, as `plan` and `launch` record them. */
/**
 * The completed definition a dry build sent back: compact as sent, its JSON text remembered for
 * the define's append (no parse, walk or encoding of its large parts on the main loop), or as
 * sent.
 */
function completedOf(reply: DryBuildReply & { ok: true }): DomainDefinition | undefined {
  if (reply.completedJson === undefined) return reply.completed;
  return valueOfCompactJson(reply.completedJson);
}

function recordedPaths(paths: DomainPaths) {
  return {
    runtimeDir: paths.dir,
    monitorSocket: paths.monitorSocket,
    pidFile: paths.pidFile,
    claimPath: paths.claimPath,
    logPath: paths.logPath,
    qmpLogPath: paths.qmpLogPath,
    ...(paths.hugepageFolders.length === 0
      ? {}
      : { hugepageFolders: JSON.stringify(paths.hugepageFolders) }),
    ...(paths.cgroup === undefined ? {} : cgroupRecord(paths.cgroup)),
  };
}

/** One QEMU process the driver manages in this service. */
interface Instance {
  uuid: string;
  name: string;
  /** The instance's id (its taps' names start with it). */
  id: number;
  identity: QemuIdentity;
  paths: DomainPaths;
  definition: DomainDefinition;
  translator: EventTranslator;
  qmpLog: QmpLog;
  monitor: QmpMonitor | undefined;
  qmp: QmpCommands | undefined;
  sink: ObservationSink | undefined;
  pending: Observation[];
  balloonKiB: number | undefined;
  /** How each disk is named in QEMU's block replies, by position in the definition. */
  disks: RunningDisk[];
  /** Polls the instance's figures while it is watched. */
  sampler: StatsSampler | undefined;
  /** Unwatched: the service let go of it. */
  released: boolean;
  /** The process is known to be gone. */
  ended: boolean;
  /** What QEMU was given (files, socket links), given back once it is gone. */
  given: GivenResources;
  /** The host's perf counters open on the process (`<perf>`, `virsh perf`). */
  perf: PerfCounters;
}

/**
 * The QEMU driver.
 *
 * @example
 * ```ts ignore
 * const qemu = await QemuDriver.create({ runtimeDir: "/run/evirt", logDir: "/var/lib/evirt/log/qemu" });
 * const host = await Host.open({ store, drivers: [qemu] });
 * ```
 */
export class QemuDriver implements Driver {
  readonly name = "qemu";
  readonly domainTypes: readonly string[] = ["qemu", "kvm"];
  /** `network` and `bridge` interfaces run on a tap the service puts on their bridge. */
  readonly bridgesInterfaces = true;
  readonly hypervisorVersion: string;
  readonly #runtimeDir: string;
  readonly #logDir: string;
  readonly #kvmUsable: boolean;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #capabilities: CapabilityCache;
  readonly #probes = new EmulatorProbes();
  readonly #defaultEmulator: string;
  /** The default emulator's machine types, for completing a definition recorded before completion. */
  readonly #machines: MachineTypes;
  readonly #statsIntervalMs: number;
  readonly #hugetlbfs: readonly HugetlbfsMount[];
  /** The host's secret values (LUKS passphrases); none until the service gives them. */
  #secretValues: SecretValueLookup | undefined;
  /** The header number of the save image format (`QemuDriverOptions.saveImageFormat`). */
  readonly #saveFormatNumber: number;
  readonly #saveBandwidthBytesPerSecond: number;
  /** Saves and restores under way, and the last completed one of each instance. */
  readonly #migrationJobs = new MigrationJobs();
  /** The control group QEMU runs in: the service's own (QEMU is not moved). */
  readonly #resourcePartition = resourcePartitionOf(Deno.pid);
  readonly #dac: DacSettings;
  readonly #instances = new Map<string, Instance>();
  readonly #hotplug = new QemuHotplug<Instance>({
    qmp: (instance) => this.#qmp(instance),
    complete: (definition) => this.completeDefinition(definition),
    instanceDefinition: (definition) => this.instanceDefinition(definition),
    commandLine: (definition) => buildCommandLine(definition, this.#checkContext(definition)),
    label: (instance, definition, hostPaths) => {
      const plan = dacPlanFor(definition, hostPaths, this.#dac);
      labelFiles(plan, instance.uuid, this.#log);
      return plan.targets.map((target) => target.path);
    },
    giveBack: (uuid, paths) => giveBackFiles(paths, uuid, this.#log),
    makeTap: async (definition, port, where) => {
      const owner = dacPlanFor(definition, [], this.#dac).policy.runAs;
      refuseUnopenableTun(owner, where);
      makeBridgePort(port, owner, where);
      try {
        await shapeBridgePorts([port]);
      } catch (error) {
        removeTap(port.tap, this.#log);
        throw error;
      }
    },
    removeTap: (name) => removeTap(name, this.#log),
    log: (message) => this.#log(message),
  });
  /** Internal and external snapshots (`qemu_snapshots.ts`). */
  readonly snapshots: SnapshotDriver = qemuSnapshots({
    monitorOf: (target) => {
      const instance = this.#instance(target.handle!);
      this.#qmp(instance);
      return instance.monitor!;
    },
    label: (target, overlay) => {
      const disks = target.definition.devices.disks;
      const index = disks.findIndex((disk) => disk.target.dev === overlay.disk);
      const where = `/domain/devices/disk[${index + 1}]/source/@file`;
      const plan = dacPlanFor(
        target.definition,
        [{ path: overlay.path, kind: "file", where }],
        this.#dac,
      );
      labelFiles(plan, target.handle?.uuid ?? target.definition.uuid ?? "", this.#log);
      return plan.targets.map((each) => each.path);
    },
    giveBack: (target, paths) => giveBackFiles(paths, target.handle?.uuid ?? "", this.#log),
  });
  /**
   * The migration bandwidth asked for per uuid (`migrate-setspeed`), MiB/s; absent: libvirt's
   * unlimited. At most one entry per domain the driver ran.
   */
  readonly #bandwidth = new Map<string, number>();
  /** The last progress of each outgoing migration in flight, by uuid. */
  readonly #migrating = new Map<string, MigrationProgress>();
  /** Live migration to and from another host's QEMU (`live_migration.ts`). */
  readonly migration: MigrationDriver = {
    listen: (handle, address, port, signal) =>
      listenForMigration(this.#monitorOf(handle), address, port, signal),
    send: async (handle, target, signal) => {
      const instance = this.#instance(handle);
      const monitor = this.#monitorOf(handle);
      // QEMU stops the CPUs itself at the switch-over: that STOP is the migration's, not news.
      await tuneMigration(monitor, {
        bandwidthMiB: this.#bandwidth.get(handle.uuid) ?? UNLIMITED_BANDWIDTH_MIB,
      }, signal);
      const undo = instance.translator.ownPause();
      try {
        return await sendMigration(
          monitor,
          target,
          signal,
          (progress) => this.#migrating.set(handle.uuid, progress),
        );
      } catch (error) {
        undo();
        throw error;
      } finally {
        this.#migrating.delete(handle.uuid);
      }
    },
    received: async (handle, timeoutMs, signal) => {
      await waitForOutcome(this.#monitorOf(handle), "incoming migration", signal, timeoutMs);
    },
    progress: (handle, signal) => migrationProgress(this.#monitorOf(handle), signal),
    cancel: (handle, signal) => cancelMigration(this.#monitorOf(handle), signal),
    tune: async (handle, tuning, signal) => {
      await tuneMigration(this.#monitorOf(handle), tuning, signal);
      if (tuning.bandwidthMiB !== undefined) {
        this.#bandwidth.set(handle.uuid, tuning.bandwidthMiB);
      }
    },
    limits: async (handle, signal) => ({
      maxDowntimeMs: (await migrationLimits(this.#monitorOf(handle), signal)).maxDowntimeMs,
      bandwidthMiB: this.#bandwidth.get(handle.uuid) ?? UNLIMITED_BANDWIDTH_MIB,
    }),
    current: (uuid) => this.#migrating.get(uuid),
    resync: async (handle, signal) => {
      const instance = this.#instance(handle);
      const { running, status } = await this.#qmp(instance).queryStatus({ signal });
      if (running) instance.translator.ownResume();
      else instance.translator.ownPause();
      return {
        running,
        stoppedByMigration: status === "postmigrate" || status === "finish-migrate",
      };
    },
  };
  /** Block job ends held until their job concludes, by `uuid/disk`. */
  readonly #jobEnds = new Map<string, QmpEvent>();
  /** The chains the disks had when this service started a job on them, by uuid, then disk. */
  readonly #jobChains = new Map<string, Map<string, string[]>>();
  /** Copies this service started, by domain uuid, then disk: their nodes and given files. */
  readonly #copies = new Map<string, Map<string, StartedCopy>>();
  /** Instances (`uuid/id`) already marked tainted in their domain's log. */
  readonly #tainted = new Set<string>();
  readonly #dryBuilds = new WorkerPool<DryBuildRequest, DryBuildReply>(DRY_BUILD_WORKER_URL, {
    threadsMax: 1,
    queueMax: 64,
    timeoutMs: 30_000,
    task: "checking the definition",
  });
  /** Definitions whose dry build passed on a thread (see checkOffLoop). */
  readonly #builtOffLoop = new WeakSet<DomainDefinition>();

  private constructor(
    options: QemuDriverOptions,
    version: string,
    capabilities: CapabilityCache,
    machines: MachineTypes,
    dac: DacSettings,
  ) {
    this.#dac = dac;
    this.#runtimeDir = options.runtimeDir.replace(/\/+$/, "");
    this.#logDir = options.logDir.replace(/\/+$/, "");
    this.#kvmUsable = options.kvmUsable ?? isKvmUsable(readKvmEvidence());
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? ((message) => console.error(`evirt: qemu: ${message}`));
    this.#capabilities = capabilities;
    this.#defaultEmulator = options.emulator ?? "qemu-system-x86_64";
    this.#machines = machines;
    this.#statsIntervalMs = options.statsIntervalMs ?? STATS_INTERVAL_MS_DEFAULT;
    this.#hugetlbfs = options.hugetlbfs ?? readHugetlbfsMounts();
    this.#saveFormatNumber = saveFormatNumber(options.saveImageFormat ?? "raw");
    this.#saveBandwidthBytesPerSecond = options.saveBandwidthBytesPerSecond ??
      SAVE_BANDWIDTH_BYTES_PER_SECOND;
    this.hypervisorVersion = version;
  }

  /**
   * Creates the driver, probes the default emulator (version, sandbox support) and resolves
   * the QEMU user (creating evirt's own where needed, `dac_identity.ts`).
   *
   * @throws {VirtError} SYSTEM_ERROR (38) when the default emulator cannot be found or run;
   *   INVALID_ARG (8) when the configured QEMU user or group does not exist.
   */
  static async create(options: QemuDriverOptions): Promise<QemuDriver> {
    const capabilities = new CapabilityCache();
    const probed = await capabilities.get(options.emulator ?? "qemu-system-x86_64");
    const log = options.log ?? ((message) => console.error(`evirt: qemu: ${message}`));
    const dac = options.dac ??
      await resolveDacSettings(
        options.confinement ?? loadQemuConfinement(Deno.env.toObject()),
        Deno.uid() ?? -1,
        log,
      );
    return new QemuDriver(options, probed.version, capabilities, probed.machines, dac);
  }

  /** Who QEMU runs as by default and whether files are given to it. */
  get dacSettings(): DacSettings {
    return this.#dac;
  }

  /** Whether KVM is usable on this host (decides whether `type='kvm'` can run). */
  get kvmUsable(): boolean {
    return this.#kvmUsable;
  }

  /** The default emulator's guest (its machine types), asked of the emulator over QMP. */
  async guests(): Promise<GuestCapability[]> {
    return [guestOf(await this.#probes.report(this.#defaultEmulator), this.#kvmUsable)];
  }

  /** The domain capabilities of an emulator, asked of it over QMP and narrowed to this driver. */
  async domainCapabilities(query: DomainCapabilitiesQuery): Promise<DomainCapabilities> {
    const emulator = query.emulator ??
      (query.arch === undefined || query.arch === hostArch()
        ? this.#defaultEmulator
        : emulatorForQuery(query));
    return domainCapabilitiesOf(await this.#probes.report(emulator), query, this.#kvmUsable);
  }

  /**
   * The definition as libvirt's QEMU driver completes it at define: the emulator's versioned
   * machine type, implicit devices and PCI addresses (definition_completion.ts).
   *
   * @throws {VirtError} 38 when the emulator cannot be found or run; 27 for explicit PCI
   *   addresses that collide.
   */
  async completeDefinition(definition: DomainDefinition): Promise<DomainDefinition> {
    const capabilities = await this.#capabilities.get(emulatorFor(definition));
    // A definition kept compact goes to the thread whatever its size: reading its parts here
    // would inflate and parse them on the main loop.
    if (
      !isCompactDefinition(definition) &&
      deviceCount(definition.devices) <= DRY_BUILD_INLINE_DEVICES_MAX
    ) {
      return completeQemuDefinition(definition, capabilities.machines, capabilities.path);
    }
    // A large definition is completed and built on the thread in one trip; the completed object
    // is remembered as built, so the define's checkOffLoop and check of it are free.
    // A compact definition is sent as its parts (its large ones deflated: a 4 MiB description
    // of one letter is 4 KiB); one read on a thread otherwise came with its JSON text, which
    // costs less to send than a clone.
    const parts = compactPartsOf(definition);
    const known = knownJsonText(definition);
    const { cpuNames, ...context } = this.#checkContext(definition);
    const reply = await this.#dryBuilds.run({
      definition: parts !== undefined
        ? { parts }
        // (A text in pieces comes only with a compact definition's parts.)
        : known === undefined || typeof known.text !== "string"
        ? definition
        : { json: known.text },
      context,
      shared: dryBuildShared(capabilities.machines, cpuNames),
      complete: { emulator: capabilities.path },
    });
    if (!reply.ok) throw errorOfReply(reply);
    const completed = completedOf(reply) ?? definition;
    // The text as read is done with once the completed one replaces it: freed now
    // (src/log/json_pieces.ts).
    if (completed !== definition) releaseJsonText(takeJsonText(definition)?.text);
    this.#builtOffLoop.add(completed);
    return completed;
  }

  /**
   * The definition a running instance has: the device aliases QEMU's `-device id=` carry. A
   * definition recorded before define-time completion existed (no PCI root controller) is
   * completed first, so it runs with libvirt's placement too.
   */
  instanceDefinition(definition: DomainDefinition): DomainDefinition {
    const completed = isCompleted(definition)
      ? definition
      : completeQemuDefinition(definition, this.#machines);
    return assignDeviceAliases(completed);
  }

  check(definition: DomainDefinition): void {
    const context = this.#checkContext(definition);
    // Built already, off the loop, by checkOffLoop: the same object, so the same verdict.
    if (this.#builtOffLoop.has(definition)) return;
    buildCommandLine(definition, context);
  }

  /**
   * The verdict of {@linkcode QemuDriver.check}, with the dry build of a large definition (more
   * than {@linkcode DRY_BUILD_INLINE_DEVICES_MAX} devices) run on a worker thread; the
   * definition is then remembered, so the `check` of the same object at define is free.
   *
   * @throws {VirtError} What `check` throws; 87, 68 or 78 from the thread pool.
   */
  async checkOffLoop(definition: DomainDefinition): Promise<void> {
    if (this.#builtOffLoop.has(definition)) return;
    const { cpuNames, ...context } = this.#checkContext(definition);
    if (deviceCount(definition.devices) <= DRY_BUILD_INLINE_DEVICES_MAX) return;
    const reply = await this.#dryBuilds.run({
      definition,
      context,
      shared: dryBuildShared(undefined, cpuNames),
    });
    if (!reply.ok) throw errorOfReply(reply);
    this.#builtOffLoop.add(definition);
  }

  /**
   * The command line a start of `definition` would run, as shell text: completed and given
   * its aliases as at define and start, built with the emulator's capabilities and the paths
   * of a domain not yet running (id -1). Starts nothing, creates no file.
   */
  async nativeCommandLine(definition: DomainDefinition): Promise<string> {
    const instance = this.instanceDefinition(await this.completeDefinition(definition));
    const capabilities = await this.#capabilities.get(emulatorFor(instance));
    const paths = this.#pathsFor(-1, instance.name, instance.uuid ?? "");
    return commandLineText(buildCommandLine(instance, {
      emulator: capabilities.path,
      accelerator: acceleratorFor(instance.type, this.#kvmUsable),
      monitorSocketPath: paths.monitorSocket,
      pidFilePath: paths.pidFile,
      sandbox: capabilities.sandbox,
      cpuNames: capabilities.cpuNames,
      nowMs: this.#now(),
      hugetlbfs: this.#hugetlbfs,
      ...this.#partitionContext(),
    }));
  }

  /** Starts the dry-build thread now (it stalls the loop once): before callers are accepted. */
  prestartChecks(): void {
    this.#dryBuilds.prestart();
  }

  /** The cheap part of a check, and the context of its dry build. */
  #checkContext(definition: DomainDefinition): CommandLineContext {
    if (!logFileNameFits(definition.name)) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `name '${
          definition.name.slice(0, 64)
        }…' is too long for the domain's log file names once escaped: File name too long`,
        { where: "/domain/name" },
      );
    }
    // A dry build finds everything the driver cannot express, without touching the host.
    return {
      emulator: emulatorFor(definition),
      accelerator: acceleratorFor(definition.type, this.#kvmUsable),
      monitorSocketPath: "/run/check/monitor.sock",
      pidFilePath: "/run/check/qemu.pid",
      sandbox: false,
      nowMs: this.#now(),
      ...this.#partitionContext(),
      atDefine: true,
      cpuNames: this.#capabilities.known(emulatorFor(definition))?.cpuNames,
    };
  }

  #partitionContext(): { resourcePartition?: string } {
    const partition = this.#resourcePartition;
    return partition === undefined ? {} : { resourcePartition: partition };
  }

  plan(request: LaunchRequest): RuntimeRecord {
    const paths = this.#pathsFor(request.id, request.name, request.uuid);
    const commandLine = buildCommandLine(request.definition, {
      ...this.#checkContext(request.definition),
      monitorSocketPath: paths.monitorSocket,
      pidFilePath: paths.pidFile,
      // The start's own checks (the hugetlbfs mounts) come before its intent is recorded.
      atDefine: false,
      hugetlbfs: this.#hugetlbfs,
    });
    paths.hugepageFolders = commandLine.hugepageFolders;
    // The control group too: recovery removes it.
    const cgroup = planQemuCgroup(request.uuid, request.definition);
    if (cgroup !== undefined) paths.cgroup = cgroup;
    // The files given to QEMU are named before any is chowned: recovery gives them back.
    const dac = dacPlanFor(request.definition, commandLine.hostPaths, this.#dac, paths.dir);
    // The taps to be made on bridges are named too: recovery removes what a crash left.
    const taps = tapNamesOf(commandLine.netdevs);
    return {
      driver: "qemu",
      ...recordedPaths(paths),
      ...dacRecord(dac),
      ...(taps.length === 0 ? {} : { taps: taps.join(",") }),
    };
  }

  useSecretValues(lookup: SecretValueLookup): void {
    this.#secretValues = lookup;
  }

  async launch(request: LaunchRequest, signal: AbortSignal): Promise<RuntimeRecord> {
    const { definition } = request;
    this.#migrationJobs.forget(request.uuid);
    // As libvirt: a fresh master key per start encrypts the disks' passphrases for QEMU.
    const masterKey = newMasterKey();
    const accelerator = acceleratorFor(definition.type, this.#kvmUsable);
    const capabilities = await this.#capabilities.get(emulatorFor(definition));
    const paths = this.#pathsFor(request.id, request.name, request.uuid);
    // As libvirt: the chains are read before QEMU starts, which gets one node per image.
    const running = await withDetectedBackingChains(definition, { signal });
    const commandLine = buildCommandLine(running, {
      emulator: capabilities.path,
      accelerator,
      monitorSocketPath: paths.monitorSocket,
      pidFilePath: paths.pidFile,
      sandbox: capabilities.sandbox,
      cpuNames: capabilities.cpuNames,
      nowMs: this.#now(),
      ...this.#partitionContext(),
      ...(request.incoming === true ? { incoming: true } : {}),
      ...(request.loadSnapshot === undefined ? {} : { loadSnapshot: request.loadSnapshot }),
      hugetlbfs: this.#hugetlbfs,
      diskSecrets: (reference, where) => {
        if (this.#secretValues === undefined) {
          throw new VirtError(ErrorCode.NO_SECRET, "this host keeps no secrets", { where });
        }
        return encryptForQemu(masterKey, this.#secretValues(reference));
      },
    });
    paths.hugepageFolders = commandLine.hugepageFolders;
    const dac = dacPlanFor(running, commandLine.hostPaths, this.#dac, paths.dir);
    const runAs = dac.policy.runAs;
    this.#prepareDirectories(paths, runAs);
    try {
      // The master key lives in the runtime folder the start's intent names (removed with it).
      if (commandLine.args.some((arg) => arg.startsWith(`secret,id=${MASTER_KEY_ID},`))) {
        writeMasterKey(`${paths.dir}/${MASTER_KEY_FILE}`, masterKey, runAs);
      }
      checkHostPaths(commandLine.hostPaths);
      labelFiles(dac, request.uuid, this.#log);
    } catch (error) {
      removeFolders(paths);
      throw error;
    }
    let portsMade = false;
    const giveAllBack = () => {
      giveBack(givenByPlan(dac), request.uuid, this.#log);
      if (portsMade) {
        for (const tap of tapNamesOf(commandLine.netdevs)) removeTap(tap, this.#log);
      }
    };
    let args = redirectSockets(commandLine.args, dac.socketLinks);
    let inheritedFds: number[] = [];
    let scripts: InterfaceScript[] = [];
    if (commandLine.privateBusAddress !== undefined) {
      // The D-Bus display's bus runs before QEMU connects to it; its files are in the runtime
      // folder the intent named, and removeFolders ends it.
      try {
        await startPrivateBus(privateBusFiles(paths.dir), runAs, signal);
      } catch (error) {
        giveBack(givenByPlan(dac), request.uuid, this.#log);
        removeFolders(paths);
        throw error;
      }
    }
    try {
      // As libvirt: the service puts a tap on each interface's bridge before QEMU runs.
      makeBridgePorts(commandLine.netdevs, runAs);
      portsMade = true;
      // Their <bandwidth> as tc rules, as libvirt sets them before QEMU runs.
      await shapeBridgePorts(bridgePortsOf(commandLine.netdevs));
      linkSockets(dac.socketLinks.filter((link) => link.beforeStart === true));
      if (this.#dac.user !== undefined) {
        // As libvirt, the root service makes the taps (a confined QEMU cannot open
        // /dev/net/tun) and hands them down in the same synchronous run as the spawn (no await
        // until spawnQemu has spawned); it runs their scripts too (the sandbox forbids QEMU).
        ({ args, fds: inheritedFds, scripts } = attachTaps(definition, args));
      } else if (capabilities.sandbox) {
        refuseSandboxedScripts(definition);
      }
      // The control group QEMU joins, with its limits (libvirt's qemuSetupCgroup).
      const cgroup = planQemuCgroup(request.uuid, definition);
      if (cgroup !== undefined) {
        paths.cgroup = cgroup;
        createQemuCgroup(cgroup, definition);
      }
    } catch (error) {
      giveAllBack();
      removeFolders(paths);
      throw error;
    }
    let instance: Instance | undefined;
    const identity = await spawnQemu(
      {
        emulator: capabilities.path,
        args,
        inheritedFds,
        pidFilePath: paths.pidFile,
        env: commandLine.env,
        ...(commandLine.cpuset === undefined ? {} : { cpuset: commandLine.cpuset }),
        homeDir: paths.dir,
        logPath: paths.logPath,
        claimPath: paths.claimPath,
        name: request.name,
        ...(runAs === undefined ? {} : { runAs }),
        ...(paths.cgroup === undefined ? {} : { cgroupProcs: cgroupJoinFiles(paths.cgroup) }),
      },
      signal,
      // QEMU has initialised once its monitor answers a command.
      async (started, startSignal) => {
        instance = this.#newInstance(
          request,
          started,
          paths,
          commandLine,
          givenByPlan(dac),
        );
        await this.#connect(instance, startTimeoutMs(running), startSignal);
        // The greeting can come from the monitor's I/O thread while QEMU still sets up its
        // devices; a command answers only from the main loop, once that is done.
        await this.#qmp(instance).queryStatus({
          timeoutMs: startTimeoutMs(running),
          signal: startSignal,
        });
      },
    ).catch((error) => {
      if (instance !== undefined) this.#release(instance);
      giveAllBack();
      removeFolders(paths);
      throw error;
    });
    if (instance === undefined) throw new Error("QEMU started without its monitor connection");
    try {
      const qmp = this.#qmp(instance);
      if (paths.cgroup !== undefined || definition.cputune !== undefined) {
        // As libvirt once the vCPU threads exist: the groups joined, the threads pinned.
        const vcpus = await qmp.queryCpusFast({ signal });
        if (paths.cgroup !== undefined) {
          joinQemuCgroup(paths.cgroup, identity.pid, definition, vcpus);
        }
        await pinQemuThreads(identity.pid, definition, vcpus, signal);
      }
      linkSockets(dac.socketLinks);
      await runInterfaceScripts(scripts);
      const ptys = await queryPtyPaths(qmp, commandLine.ptyChardevs, signal);
      const learnt = await learnLiveFacts(qmp, running, commandLine, identity.pid, ptys, signal);
      // The DAC label QEMU runs with replaces the definition's `<seclabel>`, as libvirt's.
      const seclabel = liveSeclabelOf(dacRecord(dac));
      const live = seclabel === undefined ? learnt : { ...learnt, seclabels: [seclabel] };
      await this.#applyRuntimeSettings(instance, commandLine, signal);
      // As libvirt's qemuProcessEnablePerf: an event the host refuses fails the start.
      for (const name of enabledPerfEvents(definition.perf)) instance.perf.enable(name);
      this.#instances.set(request.uuid, instance);
      return {
        driver: "qemu",
        pid: identity.pid,
        startTimeTicks: identity.startTimeTicks,
        emulator: capabilities.path,
        qemuVersion: capabilities.version,
        accelerator,
        ...recordedPaths(paths),
        ...dacRecord(dac),
        ...ptys.record,
        [LIVE_FACTS_KEY]: live,
      };
    } catch (error) {
      instance.translator.beginTermination();
      await this.#quietMonitor(instance);
      await endQemu(identity, { graceful: false }, AbortSignal.timeout(15_000)).catch(() => {});
      this.#release(instance);
      giveAllBack();
      removeFolders(paths);
      throw error;
    }
  }

  async adopt(
    request: LaunchRequest,
    planned: RuntimeRecord,
    signal: AbortSignal,
  ): Promise<RuntimeRecord | undefined> {
    const paths = pathsOf(planned);
    const found = await findClaimedQemu(paths, signal);
    if (found === undefined) {
      // The launch may have given files to QEMU and made taps before the crash: undo both.
      giveBack(givenByRecord(planned), request.uuid, this.#log);
      removeInstanceTaps(request.id, undefined, this.#log);
      removeFolders(paths);
      return undefined;
    }
    const { definition } = request;
    this.#log(`domain ${request.name}: adopting qemu process ${found.pid} of an interrupted start`);
    return {
      ...planned,
      pid: found.pid,
      startTimeTicks: found.startTimeTicks,
      emulator: emulatorFor(definition),
      accelerator: acceleratorFor(definition.type, this.#kvmUsable),
      consolePty: null,
    };
  }

  async resume(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    const instance = this.#instance(handle);
    const undo = instance.translator.ownResume();
    try {
      await this.#qmp(instance).cont({ signal });
    } catch (error) {
      undo();
      throw error;
    }
  }

  async pause(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    const instance = this.#instance(handle);
    const undo = instance.translator.ownPause();
    try {
      await this.#qmp(instance).stop({ signal });
    } catch (error) {
      undo();
      throw error;
    }
  }

  async powerdown(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    await this.#qmp(this.#instance(handle)).systemPowerdown({ signal });
  }

  async reset(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    const instance = this.#instance(handle);
    instance.translator.ownReset(this.#now());
    await this.#qmp(instance).systemReset({ signal });
  }

  async reboot(handle: DomainHandle, signal: AbortSignal): Promise<void> {
    const instance = this.#instance(handle);
    const undo = instance.translator.requestFakeReboot();
    try {
      await this.#qmp(instance).systemPowerdown({ signal });
    } catch (error) {
      undo();
      throw error;
    }
  }

  async terminate(
    handle: DomainHandle,
    options: { graceful: boolean },
    signal: AbortSignal,
  ): Promise<void> {
    const instance = this.#instances.get(handle.uuid);
    const identity = instance?.identity ?? identityOf(handle.runtime);
    const undo = instance?.translator.beginTermination();
    if (instance !== undefined) await this.#quietMonitor(instance);
    try {
      await endQemu(identity, options, signal);
    } catch (error) {
      undo?.();
      if (instance !== undefined) await this.#reconnectAfterFailedEnd(instance);
      throw error;
    }
    if (instance !== undefined) {
      instance.ended = true;
      instance.sampler?.stop();
      appendQemuLog(
        instance.paths.logPath,
        `${new Date(this.#now()).toISOString()} shutting down\n`,
      );
      await instance.monitor?.close();
      removeFolders(instance.paths);
    } else {
      const dir = handle.runtime.runtimeDir;
      if (typeof dir === "string") removeRuntimeFolder(dir);
      hugepageFoldersOf(handle.runtime).forEach(removeDirectory);
      const cgroup = qemuCgroupOfRecord(handle.runtime);
      if (cgroup !== undefined) removeCgroup(cgroup);
    }
    giveBack(givenByRecord(handle.runtime), handle.uuid, this.#log);
    removeInstanceTaps(handle.id, handle.definition, this.#log);
    this.#hotplug.ended(handle.uuid);
    this.#copiesEnded(handle.uuid);
  }

  async probe(handle: DomainHandle, signal: AbortSignal): Promise<Reality> {
    const identity = identityOf(handle.runtime);
    const paths = pathsOf(handle.runtime);
    if (isProcessGone(identity.pid, identity.startTimeTicks)) {
      giveBack(givenByRecord(handle.runtime), handle.uuid, this.#log);
      removeInstanceTaps(handle.id, handle.definition, this.#log);
      removeFolders(paths);
      return { kind: "gone" };
    }
    const definition = handle.definition;
    const accelerator = definition.type === "kvm" ? "kvm" : "tcg";
    const commandLine = buildCommandLine(definition, {
      emulator: typeof handle.runtime.emulator === "string" ? handle.runtime.emulator : "qemu",
      accelerator,
      monitorSocketPath: paths.monitorSocket,
      pidFilePath: paths.pidFile,
      sandbox: false,
      nowMs: this.#now(),
      ...this.#partitionContext(),
      // Rebuilt for the running QEMU's names (block nodes, netdevs) only: what a start asks of
      // the host (hugetlbfs mounts, the accelerator's CPU modes) is not asked again.
      atDefine: true,
    });
    const instance = this.#newInstance(
      handle,
      identity,
      paths,
      commandLine,
      givenByRecord(handle.runtime),
    );
    let status: QmpRunState;
    try {
      await this.#connect(instance, PROBE_CONNECT_TIMEOUT_MS, signal);
      status = (await this.#qmp(instance).queryStatus({ signal })).status;
    } catch (error) {
      this.#release(instance);
      if (isProcessGone(identity.pid, identity.startTimeTicks)) {
        giveBack(givenByRecord(handle.runtime), handle.uuid, this.#log);
        removeInstanceTaps(handle.id, handle.definition, this.#log);
        removeFolders(paths);
        return { kind: "gone" };
      }
      throw error;
    }
    const reality = realityOf(status);
    instance.translator = new EventTranslator({
      running: status === "running",
      rebootEndsDomain: rebootEndsDomain(definition),
      blockNodes: blockNodeMap(commandLine),
      shutdownSeen: status === "shutdown",
    });
    // The counters died with the old service: opened again, as libvirt's qemuDomainPerfRestart
    // (a refusal now is logged, not fatal).
    for (const name of enabledPerfEvents(definition.perf)) {
      try {
        instance.perf.enable(name);
      } catch (error) {
        this.#log(`domain ${handle.name}: perf event ${name}: ${(error as Error).message}`);
      }
    }
    this.#instances.set(handle.uuid, instance);
    return reality;
  }

  async status(handle: DomainHandle, signal: AbortSignal): Promise<Reality> {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined || instance.ended) return { kind: "gone" };
    const { pid, startTimeTicks } = instance.identity;
    if (isProcessGone(pid, startTimeTicks)) return { kind: "gone" };
    return realityOf((await this.#qmp(instance).queryStatus({ signal })).status);
  }

  watch(handle: DomainHandle, sink: ObservationSink): void {
    const instance = this.#instance(handle);
    instance.sink = sink;
    this.#startSampler(instance);
    const pending = instance.pending.splice(0);
    for (const observation of pending) sink(instance.uuid, observation);
  }

  unwatch(uuid: string): void {
    const instance = this.#instances.get(uuid);
    if (instance === undefined) return;
    this.#release(instance);
    if (instance.ended) removeFolders(instance.paths);
  }

  /** The limits a running QEMU's group has now (live `schedinfo`, `memtune`); none: no group. */
  appliedTuning(handle: DomainHandle): AppliedTuning | undefined {
    const cgroup = this.#instances.get(handle.uuid)?.paths.cgroup;
    return cgroup === undefined ? undefined : appliedQemuLimits(cgroup);
  }

  info(handle: DomainHandle): InstanceInfo {
    const instance = this.#instances.get(handle.uuid);
    const definition = handle.definition;
    const configuredKiB = definition.currentMemoryKiB ?? definition.memoryKiB;
    const identity = instance?.identity ?? tryIdentityOf(handle.runtime);
    const stat = identity === undefined ? undefined : readProcessStat(identity.pid);
    const cpuTimeNs = stat === undefined || stat.startTimeTicks !== identity?.startTimeTicks
      ? 0
      : (stat.userTimeTicks + stat.systemTimeTicks) * (1_000_000_000 / CLOCK_TICKS_PER_SECOND);
    return { cpuTimeNs, memoryKiB: instance?.balloonKiB ?? configuredKiB };
  }

  samples(handle: DomainHandle): InstanceSamples | undefined {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined || instance.ended) return undefined;
    const samples = instance.sampler?.samples;
    const perf = perfCounts(instance.perf);
    // The counters are read now: a read of a perf counter never waits.
    return perf.length === 0 ? samples : { takenAtMs: undefined, stale: false, ...samples, perf };
  }

  async setInterfaceBandwidth(
    handle: DomainHandle,
    index: number,
    bandwidth: Bandwidth | undefined,
  ): Promise<void> {
    this.#instance(handle);
    const nic = handle.definition.devices.interfaces[index];
    const tap = nic?.target?.dev;
    // As libvirt's QEMU driver for the types evirt runs on a tap of its own.
    if (nic === undefined || !isBridgedInterface(nic) || tap === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `Setting bandwidth on interfaces of type '${nic?.type ?? ""}' is not implemented yet`,
      );
    }
    if (bandwidth === undefined) await clearBandwidth(tap);
    else await setBandwidth(tap, bandwidth, { hierarchical: false, swapped: true });
  }

  setSchedulerParameter(handle: DomainHandle, name: SchedulerParameter, value: number): void {
    setQemuSchedulerParameter(this.#instance(handle).paths.cgroup, name, value);
  }

  setPerfEvent(handle: DomainHandle, name: string, enabled: boolean): void {
    const instance = this.#instance(handle);
    if (enabled) instance.perf.enable(name);
    else instance.perf.disable(name);
  }

  async blockQuery(handle: DomainHandle, signal: AbortSignal): Promise<BlockSample> {
    const instance = this.#instance(handle);
    const qmp = this.#qmp(instance);
    const blockstats = await qmp.queryBlockstats({}, { signal });
    const namedNodes = await qmp.queryNamedBlockNodes({ flat: true }, { signal });
    const replies = { blockstats, namedNodes };
    return {
      disks: instance.disks.map((disk) => qmpBlockFigures(replies, disk)),
      containers: {},
    };
  }

  async diskErrors(handle: DomainHandle, signal: AbortSignal): Promise<DiskError[]> {
    const instance = this.#instance(handle);
    const blocks = await this.#qmp(instance).queryBlock({ signal });
    return diskErrorsOf(blocks, instance.disks);
  }

  /**
   * The typed QMP commands of a running instance, for the parts of the service that query QEMU
   * (block info, statistics). Commands share the instance's one monitor connection.
   *
   * @throws {VirtError} OPERATION_INVALID (55) when the domain has no running instance here;
   *   OPERATION_FAILED (9) when its monitor is not connected.
   */
  qmpOf(uuid: string): QmpCommands {
    const instance = this.#instances.get(uuid);
    if (instance === undefined || instance.ended) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    return this.#qmp(instance);
  }

  /**
   * The pty paths of a running domain's character devices, from its runtime record:
   * `console` for the domain's console, and each device alias (`serial0`, `channel0`, …).
   *
   * @example
   * ```ts ignore
   * QemuDriver.ptyPaths(handle.runtime).console; // "/dev/pts/3"
   * ```
   */
  consolePath(handle: DomainHandle, device?: string): string | undefined {
    const paths = QemuDriver.ptyPaths(handle.runtime);
    if (device !== undefined) return paths[device];
    return paths.console ?? paths.serial0 ?? Object.values(paths)[0];
  }

  /** QMP `send-key` with the keys' QEMU numbers. */
  async sendKey(
    handle: DomainHandle,
    keys: { qnums: number[]; holdTimeMs: number },
    signal: AbortSignal,
  ): Promise<void> {
    await this.qmpOf(handle.uuid).sendKey(keys.qnums, keys.holdTimeMs, { signal });
  }

  /** QMP `balloon`: the guest is asked to hold `memoryKiB`; BALLOON_CHANGE tells when it does. */
  async setMemory(handle: DomainHandle, memoryKiB: number, signal: AbortSignal): Promise<void> {
    await this.qmpOf(handle.uuid).balloon(memoryKiB * 1024, { signal });
  }

  /** vCPU hotplug and unplug to `count` present vCPUs (`live_resources.ts`). */
  async setVcpus(
    handle: DomainHandle,
    count: number,
    signal: AbortSignal,
  ): Promise<DomainDefinition> {
    this.qmpOf(handle.uuid);
    const instance = this.#instances.get(handle.uuid)!;
    const live = await setLiveVcpus(instance.monitor!, handle.definition, count, signal);
    const cgroup = instance.paths.cgroup;
    if (cgroup !== undefined || live.cputune !== undefined) {
      // As libvirt: a plugged vCPU's thread joins its own group and gets its pin.
      const vcpus = await this.#qmp(instance).queryCpusFast({ signal });
      if (cgroup !== undefined) joinQemuCgroup(cgroup, instance.identity.pid, live, vcpus);
      await pinQemuThreads(instance.identity.pid, live, vcpus, signal);
    }
    return live;
  }

  /** QMP `block_resize` of the disk at `diskIndex` of the live definition. */
  async resizeBlock(
    handle: DomainHandle,
    diskIndex: number,
    sizeBytes: bigint,
    signal: AbortSignal,
  ): Promise<void> {
    this.qmpOf(handle.uuid);
    const instance = this.#instances.get(handle.uuid)!;
    const target = handle.definition.devices.disks[diskIndex]?.target.dev;
    const disk = instance.disks.find((each) => each.target === target);
    if (disk === undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `disk '${target}' was not found in the domain config`,
      );
    }
    await resizeRunningDisk(instance.monitor!, disk, sizeBytes, signal);
  }

  /** QMP `screendump` into the domain's runtime folder, read back and removed (PPM). */
  async screenshot(handle: DomainHandle, screen: number, signal: AbortSignal): Promise<Screenshot> {
    return await takeScreenshot(this.qmpOf(handle.uuid), handle.runtime, screen, signal);
  }

  /** Plugs a disk into the running guest (`blockdev-add`, `device_add`): device_hotplug.ts. */
  attachDevice(
    handle: DomainHandle,
    change: DeviceChange,
    signal: AbortSignal,
  ): Promise<LiveDeviceChange> {
    return this.#hotplug.attach(this.#instance(handle), handle, change, signal);
  }

  /** Asks the guest to release a device (`device_del`); DEVICE_DELETED reports its removal. */
  detachDevice(handle: DomainHandle, alias: string, signal: AbortSignal): Promise<void> {
    const nic = handle.definition.devices.interfaces.find((each) => each.alias === alias);
    const tap = nic !== undefined && isBridgedInterface(nic) ? nic.target?.dev : undefined;
    return this.#hotplug.detach(this.#instance(handle), alias, signal, tap);
  }

  /** Changes a cdrom's or floppy's medium in the running guest. */
  updateDevice(
    handle: DomainHandle,
    change: DeviceChange,
    options: { force: boolean },
    signal: AbortSignal,
  ): Promise<LiveDeviceChange> {
    return this.#hotplug.update(this.#instance(handle), handle, change, options, signal);
  }

  /** Starts a commit, pull or copy (`qemu_block_jobs.ts`); resolves once QEMU runs it. */
  async startBlockJob(
    handle: DomainHandle,
    request: BlockJobRequest,
    signal: AbortSignal,
  ): Promise<void> {
    const instance = this.#instance(handle);
    this.#qmp(instance);
    const monitor = instance.monitor!;
    const chains = this.#jobChains.get(handle.uuid) ?? new Map<string, string[]>();
    chains.set(request.disk, request.chain.map((layer) => layer.path));
    this.#jobChains.set(handle.uuid, chains);
    if (request.kind !== "copy") {
      await startChainJob(monitor, request, signal);
      return;
    }
    const where = `/domain/devices/disk[${request.diskIndex + 1}]/source/@${
      request.destination.type === "block" ? "dev" : "file"
    }`;
    const started = await startCopy(monitor, request, {
      signal,
      label: (layer) => {
        const hostPaths = [{ path: layer.path, kind: layer.type, where }];
        const plan = dacPlanFor(handle.definition, hostPaths, this.#dac);
        labelFiles(plan, instance.uuid, this.#log);
        return plan.targets.map((target) => target.path);
      },
      giveBack: (paths) => giveBackFiles(paths, instance.uuid, this.#log),
    });
    const byDisk = this.#copies.get(handle.uuid) ?? new Map<string, StartedCopy>();
    byDisk.set(request.disk, started);
    this.#copies.set(handle.uuid, byDisk);
  }

  /** evirt's block jobs QEMU runs (`query-block-jobs`). */
  blockJobs(handle: DomainHandle, signal: AbortSignal): Promise<BlockJobInfo[]> {
    const instance = this.#instance(handle);
    this.#qmp(instance);
    return queryJobs(instance.monitor!, signal);
  }

  /** Pivots (`block-job-complete`) or cancels (`block-job-cancel`) a disk's block job. */
  async endBlockJob(
    handle: DomainHandle,
    disk: string,
    options: { pivot: boolean },
    signal: AbortSignal,
  ): Promise<void> {
    const instance = this.#instance(handle);
    this.#qmp(instance);
    await endJob(instance.monitor!, disk, options.pivot, signal);
  }

  /** `block-job-set-speed` of a disk's block job. */
  async setBlockJobSpeed(
    handle: DomainHandle,
    disk: string,
    bandwidthBytes: bigint,
    signal: AbortSignal,
  ): Promise<void> {
    const instance = this.#instance(handle);
    this.#qmp(instance);
    await setJobSpeed(instance.monitor!, disk, bandwidthBytes, signal);
  }

  /** `job-dismiss` of a disk's concluded job (after a service restart). */
  async dismissBlockJob(handle: DomainHandle, disk: string): Promise<void> {
    const instance = this.#instance(handle);
    this.#qmp(instance);
    await dismissJob(instance.monitor!, disk);
  }

  /** Removes a copy destination a job made and no longer uses (after a service restart). */
  async removeBlockJobFile(_handle: DomainHandle, path: string): Promise<void> {
    await Deno.remove(path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }

  /**
   * A block job's end (BLOCK_JOB_COMPLETED or _CANCELLED) is held until QEMU concludes the job
   * (JOB_STATUS_CHANGE concluded): then the job is dismissed, the nodes it left are removed (an
   * abandoned copy's, or the images a pivot left), and only then is the end reported, so the
   * next job on the disk finds QEMU's graph as the end left it.
   *
   * @returns Whether the event was taken here (held, or the conclusion it waited for).
   */
  async #holdJobEnd(instance: Instance, event: QmpEvent): Promise<boolean> {
    const ending = event.event === "BLOCK_JOB_COMPLETED" || event.event === "BLOCK_JOB_CANCELLED";
    const id = ending ? event.data.device : event.data.id;
    const disk = typeof id === "string" ? diskOfJobId(id) : undefined;
    if (disk === undefined) return false;
    const key = `${instance.uuid}/${disk}`;
    if (ending) {
      this.#jobEnds.set(key, event);
      return true;
    }
    if (event.event !== "JOB_STATUS_CHANGE" || event.data.status !== "concluded") return false;
    const end = this.#jobEnds.get(key);
    if (end === undefined) return true;
    this.#jobEnds.delete(key);
    const monitor = instance.monitor;
    const chain = this.#jobChains.get(instance.uuid)?.get(disk);
    this.#jobChains.get(instance.uuid)?.delete(disk);
    const done = end.event === "BLOCK_JOB_COMPLETED" && end.data.error === undefined;
    try {
      if (monitor !== undefined) await dismissJob(monitor, disk);
      // A pivoted copy keeps its files given until the instance ends.
      if (!done) await this.#copyAbandoned(instance, disk);
      if (done && chain !== undefined && monitor !== undefined) {
        await pruneLeftNodes(monitor, chain);
      }
    } catch (error) {
      this.#log(`domain ${instance.name}: ${(error as Error).message}`);
    }
    for (const observation of instance.translator.translate(end).observations) {
      this.#emit(instance, observation);
    }
    return true;
  }

  /** A copy ended without pivoting: its nodes leave QEMU and its files are given back. */
  async #copyAbandoned(instance: Instance, disk: string): Promise<void> {
    const copy = this.#copies.get(instance.uuid)?.get(disk);
    if (copy === undefined) return;
    this.#copies.get(instance.uuid)?.delete(disk);
    if (instance.monitor !== undefined) {
      await removeNodes(instance.monitor, [copy.nodes.format, copy.nodes.storage]);
    }
    giveBackFiles(copy.given, instance.uuid, this.#log);
  }

  /** The instance ended: the files its copies were given are given back. */
  #copiesEnded(uuid: string): void {
    const byDisk = this.#copies.get(uuid);
    this.#copies.delete(uuid);
    this.#jobChains.delete(uuid);
    for (const copy of byDisk?.values() ?? []) giveBackFiles(copy.given, uuid, this.#log);
  }

  /** Whether the device is gone from QEMU (`qom-get` of its path finds nothing). */
  deviceGone(handle: DomainHandle, alias: string, signal: AbortSignal): Promise<boolean> {
    return this.#hotplug.gone(this.#instance(handle), alias, signal);
  }

  /** Writes the stopped instance's state into a save image (`save_restore.ts`). */
  async saveState(handle: DomainHandle, request: SaveRequest, signal: AbortSignal): Promise<void> {
    const instance = this.#instance(handle);
    if (instance.monitor === undefined) this.#qmp(instance);
    const compressed = request.raw === true ? 0 : this.#saveFormatNumber;
    const monitor = instance.monitor!;
    await this.#migrationJobs.run(
      handle.uuid,
      { operation: "save", monitor },
      () =>
        writeSaveImage(monitor, instance.paths.dir, request, signal, {
          compressed,
          bandwidthBytesPerSecond: this.#saveBandwidthBytesPerSecond,
        }),
      signal,
    );
  }

  /** The running (or last completed) save's or restore's statistics (`migration_jobs.ts`). */
  jobStats(
    uuid: string,
    options: { completed: boolean; keepCompleted?: boolean },
    signal: AbortSignal,
  ): Promise<DomainJobStats | null> {
    return this.#migrationJobs.stats(uuid, options, signal);
  }

  /** Cancels the instance's save (`migration_jobs.ts`). */
  abortJob(uuid: string, signal: AbortSignal): Promise<"save" | null> {
    return this.#migrationJobs.abort(uuid, signal);
  }

  /** Loads a save image's stream into an instance launched with `incoming`. */
  async restoreState(
    handle: DomainHandle,
    image: { path: string; offset: number; compressed?: number; bypassCache?: boolean },
    signal: AbortSignal,
  ): Promise<void> {
    const instance = this.#instance(handle);
    if (instance.monitor === undefined) this.#qmp(instance);
    const monitor = instance.monitor!;
    const counter = { sentBytes: 0, totalBytes: 0 };
    await this.#migrationJobs.run(
      handle.uuid,
      { operation: "restore", monitor, counter },
      () => readSaveImage(monitor, instance.paths.dir, image, signal, counter),
      signal,
    );
  }

  /** A raw QMP or HMP command; the first one of an instance taints the domain in its log. */
  async monitorCommand(
    handle: DomainHandle,
    command: string,
    options: { hmp: boolean },
    signal: AbortSignal,
  ): Promise<string> {
    const qmp = this.qmpOf(handle.uuid);
    const key = `${handle.uuid}/${handle.id}`;
    const logPath = handle.runtime.logPath;
    if (!this.#tainted.has(key) && typeof logPath === "string") {
      this.#tainted.add(key);
      logTaint(logPath, handle.id, "custom-monitor", new Date(this.#now()));
    }
    return await passThrough(qmp, command, options, signal);
  }

  /** A raw guest agent command over the domain's `org.qemu.guest_agent.0` channel. */
  async agentCommand(
    handle: DomainHandle,
    command: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<string> {
    const path = agentSocketPath(handle.definition, handle.runtime);
    if (path === undefined) {
      throw new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured");
    }
    return await runAgentCommand(path, command, timeoutMs, signal);
  }

  static ptyPaths(runtime: RuntimeRecord): Record<string, string> {
    const paths: Record<string, string> = {};
    for (const [key, value] of Object.entries(runtime)) {
      if (key.startsWith("pty.") && typeof value === "string") paths[key.slice(4)] = value;
    }
    if (typeof runtime.consolePty === "string") paths.console = runtime.consolePty;
    return paths;
  }

  async close(): Promise<void> {
    this.#dryBuilds.close();
    const instances = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(instances.map(async (instance) => {
      instance.released = true;
      instance.sink = undefined;
      instance.sampler?.stop();
      await instance.monitor?.close();
      instance.qmpLog.close();
    }));
  }

  // --- instances ---------------------------------------------------------------------------

  #newInstance(
    request: { uuid: string; name: string; id: number; definition: DomainDefinition },
    identity: QemuIdentity,
    paths: DomainPaths,
    commandLine: CommandLine,
    given: GivenResources,
  ): Instance {
    Deno.mkdirSync(this.#logDir, { recursive: true, mode: 0o700 });
    return {
      uuid: request.uuid,
      name: request.name,
      id: request.id,
      identity,
      paths,
      definition: request.definition,
      translator: new EventTranslator({
        running: false,
        rebootEndsDomain: rebootEndsDomain(request.definition),
        blockNodes: blockNodeMap(commandLine),
      }),
      qmpLog: QmpLog.open(paths.qmpLogPath),
      monitor: undefined,
      qmp: undefined,
      sink: undefined,
      pending: [],
      balloonKiB: undefined,
      disks: runningDisks(commandLine.blockNodes),
      sampler: undefined,
      released: false,
      ended: false,
      given,
      perf: new PerfCounters(identity.pid),
    };
  }

  #instance(handle: DomainHandle): Instance {
    const instance = this.#instances.get(handle.uuid);
    if (instance === undefined || instance.ended) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    return instance;
  }

  /** The raw monitor of a running instance (connected if need be). */
  #monitorOf(handle: DomainHandle): QmpExecutor {
    const instance = this.#instance(handle);
    this.#qmp(instance);
    return instance.monitor!;
  }

  #qmp(instance: Instance): QmpCommands {
    if (instance.qmp === undefined || instance.monitor?.isClosed !== false) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `no connection to the monitor of domain '${instance.name}'`,
      );
    }
    return instance.qmp;
  }

  #release(instance: Instance): void {
    instance.released = true;
    instance.sink = undefined;
    instance.sampler?.stop();
    instance.perf.close();
    if (this.#instances.get(instance.uuid) === instance) this.#instances.delete(instance.uuid);
    // Closing resolves `closed` with reason `closed`, which the exit watch ignores.
    instance.monitor?.close().finally(() => instance.qmpLog.close());
    if (instance.monitor === undefined) instance.qmpLog.close();
  }

  #emit(instance: Instance, observation: Observation): void {
    if (instance.released) return;
    if (instance.sink !== undefined) {
      instance.sink(instance.uuid, observation);
      return;
    }
    if (instance.pending.length >= PENDING_OBSERVATIONS_MAX) instance.pending.shift();
    instance.pending.push(observation);
  }

  async #connect(instance: Instance, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const monitor = await QmpMonitor.connect(instance.paths.monitorSocket, {
      connectTimeoutMs: timeoutMs,
      signal,
      log: instance.qmpLog,
      onEvent: (event) => this.#onEvent(instance, event),
      onEventError: (error, event) =>
        this.#log(
          `domain ${instance.name}: handling ${event.event} failed: ${(error as Error).message}`,
        ),
    });
    instance.monitor = monitor;
    instance.qmp = new QmpCommands(monitor);
    monitor.closed.then((closed) =>
      closed.reason === "closed" ? undefined : this.#onMonitorLost(instance, monitor)
    ).catch((error) => this.#log(`domain ${instance.name}: ${(error as Error).message}`));
  }

  async #onEvent(instance: Instance, event: QmpEvent): Promise<void> {
    if (event.event === "BALLOON_CHANGE" && typeof event.data.actual === "number") {
      instance.balloonKiB = Math.floor(event.data.actual / 1024);
    }
    if (event.event === "DEVICE_DELETED" && typeof event.data.device === "string") {
      await this.#hotplug.deviceDeleted(instance, event.data.device);
    }
    if (await this.#holdJobEnd(instance, event)) return;
    const translation = instance.translator.translate(event);
    for (const observation of translation.observations) this.#emit(instance, observation);
    if (translation.fakeReboot) await this.#fakeReboot(instance);
  }

  /** Finishes libvirt's fake reboot: the guest shut down, so reset it and run it again. */
  async #fakeReboot(instance: Instance): Promise<void> {
    try {
      const qmp = this.#qmp(instance);
      instance.translator.ownReset(this.#now());
      await qmp.systemReset();
      const undo = instance.translator.ownResume();
      try {
        await qmp.cont();
      } catch (error) {
        undo();
        throw error;
      }
      instance.translator.fakeRebootDone();
      // As libvirt's fake reboot: the guest runs again, booted.
      this.#emit(instance, { kind: "reset", booted: true });
    } catch (error) {
      if (instance.translator.terminating || instance.ended) return;
      this.#log(`domain ${instance.name}: reboot failed: ${(error as Error).message}`);
      // The guest is shut down and stays so: let the actor apply on_poweroff.
      this.#emit(instance, { kind: "shutdown", detail: "guest" });
    }
  }

  /** The monitor hit end of file (or garbage): QEMU exited, or the connection must be redone. */
  async #onMonitorLost(instance: Instance, monitor: QmpMonitor): Promise<void> {
    if (instance.released || instance.monitor !== monitor) return;
    const { pid, startTimeTicks } = instance.identity;
    const gone = await waitForExit(pid, {
      startTimeTicks,
      timeoutMs: EOF_EXIT_WAIT_MS,
      pollIntervalMs: 1,
    });
    if (instance.translator.terminating || instance.released) return;
    if (gone) {
      instance.ended = true;
      instance.sampler?.stop();
      appendQemuLog(
        instance.paths.logPath,
        `${new Date(this.#now()).toISOString()} qemu (pid ${pid}) exited without being asked\n`,
      );
      giveBack(instance.given, instance.uuid, this.#log);
      removeInstanceTaps(instance.id, instance.definition, this.#log);
      this.#hotplug.ended(instance.uuid);
      this.#emit(instance, {
        kind: "stopped",
        reason: instance.translator.shutdownSeen ? "shutdown" : "crashed",
      });
      return;
    }
    for (let attempt = 1; attempt <= MONITOR_RECONNECT_ATTEMPTS_MAX; attempt++) {
      try {
        await this.#connect(
          instance,
          PROBE_CONNECT_TIMEOUT_MS,
          AbortSignal.timeout(PROBE_CONNECT_TIMEOUT_MS),
        );
        this.#log(`domain ${instance.name}: reconnected to its monitor`);
        return;
      } catch (error) {
        this.#log(
          `domain ${instance.name}: reconnect ${attempt}/${MONITOR_RECONNECT_ATTEMPTS_MAX} failed: ${
            (error as Error).message
          }`,
        );
      }
    }
    this.#log(`domain ${instance.name}: lost its monitor; QEMU (pid ${pid}) still runs`);
  }

  /**
   * Stops sampling and closes the monitor once QEMU answered what was sent: a QEMU 7.2 that gets
   * SIGTERM while it dispatches a command hangs until SIGKILL (the 5 s destroys of issue 10).
   */
  async #quietMonitor(instance: Instance): Promise<void> {
    instance.sampler?.stop();
    const monitor = instance.monitor;
    if (monitor === undefined || monitor.isClosed) return;
    const answered = await monitor.closeWhenAnswered(QUIET_MONITOR_TIMEOUT_MS);
    if (!answered) {
      this.#log(`domain ${instance.name}: monitor still busy after ${QUIET_MONITOR_TIMEOUT_MS} ms`);
    }
  }

  /** After an end that failed (graceful, or SIGKILL unanswered): talk to the QEMU again. */
  async #reconnectAfterFailedEnd(instance: Instance): Promise<void> {
    if (isProcessGone(instance.identity.pid, instance.identity.startTimeTicks)) return;
    try {
      await this.#connect(
        instance,
        PROBE_CONNECT_TIMEOUT_MS,
        AbortSignal.timeout(PROBE_CONNECT_TIMEOUT_MS),
      );
      if (instance.sink !== undefined) this.#startSampler(instance);
    } catch (error) {
      this.#log(`domain ${instance.name}: cannot reconnect: ${(error as Error).message}`);
    }
  }

  #startSampler(instance: Instance): void {
    instance.sampler ??= new StatsSampler({
      // A reconnect replaces the commands: always sample through the current connection.
      qmp: () => instance.monitor?.isClosed === false ? instance.qmp : undefined,
      pid: instance.identity.pid,
      definition: instance.definition,
      disks: instance.disks,
      intervalMs: this.#statsIntervalMs,
      now: this.#now,
      log: (message) => this.#log(`domain ${instance.name}: ${message}`),
    });
    instance.sampler.start();
  }

  async #applyRuntimeSettings(
    instance: Instance,
    commandLine: CommandLine,
    signal: AbortSignal,
  ): Promise<void> {
    const qmp = this.#qmp(instance);
    const period = commandLine.runtime.balloonStatsPeriodSeconds;
    if (period !== undefined) {
      await qmp.qomSet("balloon0", "guest-stats-polling-interval", period, { signal });
    }
    // libvirt brings a link that starts down down once QEMU runs: `-device` has no such switch.
    for (const netdev of commandLine.netdevs) {
      if (netdev.linkDown) await qmp.setLink(netdev.deviceId, false, { signal });
    }
    const definition = instance.definition;
    const currentKiB = definition.currentMemoryKiB;
    if (commandLine.balloon && currentKiB !== undefined && currentKiB < definition.memoryKiB) {
      await qmp.balloon(currentKiB * 1024, { signal });
      instance.balloonKiB = currentKiB;
    }
  }

  // --- paths -------------------------------------------------------------------------------

  #pathsFor(id: number, name: string, uuid: string): DomainPaths {
    const short = name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, SHORT_NAME_MAX_CHARS);
    let dir = `${this.#runtimeDir}/qemu/domain-${id}-${short}`;
    if (byteLength(`${dir}/monitor.sock`) > SOCKET_PATH_MAX_BYTES) {
      dir = `${this.#runtimeDir}/qemu/d${id}`;
    }
    if (byteLength(`${dir}/monitor.sock`) > SOCKET_PATH_MAX_BYTES) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `the runtime directory '${this.#runtimeDir}' is too long for a monitor socket path (${SOCKET_PATH_MAX_BYTES} bytes at most)`,
        { where: "EVIRT_RUNTIME_DIR" },
      );
    }
    const logName = logFileStem(name);
    return {
      dir,
      hugepageFolders: [],
      claimPath: claimPathFor(`${this.#runtimeDir}/qemu`, uuid),
      monitorSocket: `${dir}/monitor.sock`,
      pidFile: `${dir}/qemu.pid`,
      logPath: `${this.#logDir}/${logName}.log`,
      qmpLogPath: `${this.#logDir}/${logName}.qmp.log`,
    };
  }

  #prepareDirectories(paths: DomainPaths, runAs: OwnerIds | undefined): void {
    Deno.mkdirSync(this.#logDir, { recursive: true, mode: 0o700 });
    const qemuDir = paths.dir.slice(0, paths.dir.lastIndexOf("/"));
    Deno.mkdirSync(qemuDir, { recursive: true, mode: 0o700 });
    // A confined QEMU must reach its own folder: the runtime folder (as libvirt's /run/libvirt)
    // and the driver's are searchable by others, not listable.
    if (runAs !== undefined) {
      Deno.chmodSync(this.#runtimeDir, (Deno.statSync(this.#runtimeDir).mode ?? 0o700) | 0o111);
      Deno.chmodSync(qemuDir, 0o711);
    }
    Deno.mkdirSync(paths.claimPath.slice(0, paths.claimPath.lastIndexOf("/")), {
      recursive: true,
      mode: 0o700,
    });
    // A folder left by an instance that died with the service is stale: its id is not reused
    // while the instance is recorded, but make sure no process still holds its pid file.
    try {
      const stalePid = Number(Deno.readTextFileSync(paths.pidFile).trim());
      if (Number.isSafeInteger(stalePid) && stalePid > 0 && !isProcessGone(stalePid)) {
        const stat = readProcessStat(stalePid);
        if (stat?.comm.startsWith("qemu")) {
          throw new VirtError(
            ErrorCode.OPERATION_FAILED,
            `runtime directory '${paths.dir}' is in use by qemu process ${stalePid}`,
          );
        }
      }
    } catch (error) {
      if (error instanceof VirtError) throw error;
    }
    removeFolders(paths);
    Deno.mkdirSync(paths.dir, { mode: 0o700 });
    // QEMU makes (and unlinks at once) its huge-page files in the domain's folder of a mount.
    for (const folder of paths.hugepageFolders) {
      Deno.mkdirSync(folder.slice(0, folder.lastIndexOf("/")), { recursive: true, mode: 0o755 });
      Deno.mkdirSync(folder, { mode: 0o700 });
      if (runAs !== undefined) Deno.chownSync(folder, runAs.uid, runAs.gid);
    }
    Deno.mkdirSync(`${paths.dir}/${CHANNEL_SOCKET_FOLDER}`, { mode: 0o700 });
    // The domain's folder is QEMU's: it makes its monitor socket, pid file and channel sockets
    // there.
    if (runAs !== undefined) {
      Deno.chownSync(paths.dir, runAs.uid, runAs.gid);
      Deno.chownSync(`${paths.dir}/${CHANNEL_SOCKET_FOLDER}`, runAs.uid, runAs.gid);
    }
  }
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Extra time QEMU gets to start per GiB of guest memory (preallocation), as libvirt's. */
const START_TIMEOUT_MS_PER_GIB = 1_000;

/** How long QEMU may take to answer its monitor once spawned. */
function startTimeoutMs(definition: DomainDefinition): number {
  const gib = Math.floor(definition.memoryKiB / (1024 * 1024));
  return QEMU_START_TIMEOUT_MS + gib * START_TIMEOUT_MS_PER_GIB;
}

/**
 * Removes a domain's runtime folder (ending the private D-Bus daemon whose files are in it) and
 * its folders under hugetlbfs mounts.
 */
function removeFolders(paths: DomainPaths): void {
  removeRuntimeFolder(paths.dir);
  paths.hugepageFolders.forEach(removeDirectory);
  if (paths.cgroup !== undefined) removeCgroup(paths.cgroup);
}

/** Removes a domain's runtime folder, ending the private D-Bus daemon it holds first. */
function removeRuntimeFolder(dir: string): void {
  stopPrivateBus(privateBusFiles(dir));
  removeDirectory(dir);
}

/** The hugetlbfs folders a runtime record names. */
function hugepageFoldersOf(runtime: RuntimeRecord): string[] {
  const text = runtime.hugepageFolders;
  if (typeof text !== "string") return [];
  const folders: unknown = JSON.parse(text);
  return Array.isArray(folders) ? folders.filter((each) => typeof each === "string") : [];
}

function removeDirectory(dir: string): void {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** How each disk is named in QEMU's block replies: its format node, else its device. */
function runningDisks(blockNodes: BlockNode[]): RunningDisk[] {
  return blockNodes.map((node) => ({
    target: node.targetDev,
    ...(node.nodeName === "" ? {} : { nodeName: node.nodeName }),
    qdevId: node.alias,
    ...(node.sourcePath === "" ? {} : { path: node.sourcePath }),
  }));
}

function rebootEndsDomain(definition: DomainDefinition): boolean {
  return definition.onReboot === "destroy" || definition.onReboot === "preserve";
}

function blockNodeMap(commandLine: CommandLine): Map<string, BlockNodeInfo> {
  return new Map(
    commandLine.blockNodes.filter((node) => node.nodeName !== "").map((node) => [
      node.nodeName,
      { alias: node.alias, sourcePath: node.sourcePath },
    ]),
  );
}

/** Reference §3: QEMU's run state after a service restart → where the domain is. */
const PAUSED_REASONS: Partial<Record<QmpRunState, PausedReasonName>> = {
  paused: "user",
  prelaunch: "user",
  inmigrate: "migration",
  postmigrate: "migration",
  "finish-migrate": "migration",
  "io-error": "ioerror",
  "save-vm": "save",
  watchdog: "watchdog",
};

/**
 * The {@linkcode Reality} of a QMP run state (reference §3).
 *
 * @example
 * ```ts
 * import { realityOf } from "./qemu_driver.ts";
 * console.log(realityOf("io-error")); // { kind: "paused", reason: "ioerror" }
 * ```
 */
export function realityOf(status: QmpRunState): Reality {
  if (status === "running") return { kind: "running" };
  if (status === "shutdown") return { kind: "shutdown" };
  if (status === "guest-panicked") return { kind: "crashed" };
  return { kind: "paused", reason: PAUSED_REASONS[status] ?? "unknown" };
}

function identityOf(runtime: RuntimeRecord): QemuIdentity {
  const identity = tryIdentityOf(runtime);
  if (identity === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "the runtime record has no qemu pid and start time",
    );
  }
  return identity;
}

function tryIdentityOf(runtime: RuntimeRecord): QemuIdentity | undefined {
  const { pid, startTimeTicks } = runtime;
  if (typeof pid !== "number" || typeof startTimeTicks !== "number") return undefined;
  return { pid, startTimeTicks };
}

function pathsOf(runtime: RuntimeRecord): DomainPaths {
  const text = (key: string): string => {
    const value = runtime[key];
    if (typeof value !== "string") {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `the runtime record has no '${key}'`);
    }
    return value;
  };
  return {
    dir: text("runtimeDir"),
    // Records from before claims have none: an empty path holds nothing.
    claimPath: typeof runtime.claimPath === "string" ? runtime.claimPath : "",
    monitorSocket: text("monitorSocket"),
    pidFile: text("pidFile"),
    logPath: text("logPath"),
    qmpLogPath: text("qmpLogPath"),
    hugepageFolders: hugepageFoldersOf(runtime),
    ...cgroupOf(runtime),
  };
}

/** The control group a runtime record names, as a {@linkcode DomainPaths} field. */
function cgroupOf(runtime: RuntimeRecord): { cgroup?: CgroupPaths } {
  const cgroup = qemuCgroupOfRecord(runtime);
  return cgroup === undefined ? {} : { cgroup };
}
