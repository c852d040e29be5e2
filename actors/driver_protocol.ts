/**
 * The protocol between domain actors and hypervisor drivers.
 *
 * A driver does the real work (spawning QEMU, QMP commands, an in-memory hypervisor) and reports
 * what it observes. It never decides lifecycle policy and never writes facts: the domain actor
 * calls it, then records what happened. Observations report only changes the driver did not make
 * on the actor's request (a STOP event caused by the actor's own `pause()` is not reported).
 *
 * @module
 */

import type { SchedulerParameter } from "../src/model/scheduler_params.ts";
import type { BlockFigures, DiskError } from "../src/storage/block_figures.ts";
import type { BlockStorageAccess } from "../src/storage/block_info.ts";
import type { StorageInfo } from "../src/storage/storage_info.ts";
import type {
  DomainCapabilities,
  DomainCapabilitiesQuery,
  GuestCapability,
  HostCapability,
} from "../src/model/capabilities.ts";
import type { Bandwidth } from "../src/model/network.ts";
import type { AppliedTuning } from "../src/model/domain_resources.ts";
export type { AppliedTuning };
import type { DomainDefinition } from "../src/model/domain.ts";
import type { DeviceListName, DeviceOf } from "../src/model/device_edit.ts";
import type { PausedReasonName, RuntimeRecord } from "../src/model/facts.ts";
import type { Observation } from "../src/model/observation.ts";
import type { SecurityDescription } from "../src/model/domain_list.ts";
import type { ChainLayer } from "../src/model/block_jobs.ts";

/** What a driver needs to act on a running instance. */
export interface DomainHandle {
  /** The domain's uuid. */
  uuid: string;
  /** The domain's name. */
  name: string;
  /** The running instance's id. */
  id: number;
  /** The live definition the instance runs with. */
  definition: DomainDefinition;
  /** Driver data recorded at launch (pid, monitor socket, …). */
  runtime: RuntimeRecord;
}

export type { Observation } from "../src/model/observation.ts";

/** What a launch starts: which domain, its instance id and the definition it runs. */
export interface LaunchRequest {
  uuid: string;
  name: string;
  id: number;
  definition: DomainDefinition;
  /**
   * The instance will receive a saved state (`restore`): QEMU starts with `-incoming defer`
   * and waits for {@linkcode Driver.restoreState}. Absent: a fresh boot.
   */
  incoming?: boolean;
  /**
   * The instance starts from the internal snapshot of this name (QEMU's `-loadvm`): its disks
   * and memory as the snapshot holds them. Absent: a fresh boot.
   */
  loadSnapshot?: string;
}

/** What a snapshot acts on: the definition whose disks it names, and the instance if one runs. */
export interface SnapshotTarget {
  /** The definition whose disks hold (or will hold) the snapshot. */
  definition: DomainDefinition;
  /** The running instance, when there is one (a running guest's snapshot takes its memory). */
  handle?: DomainHandle;
}

/** One new overlay of an external disk snapshot: the disk's new top, backed by its old one. */
export interface SnapshotOverlay {
  /** The disk's target (`vda`). */
  disk: string;
  /** The new image's path. */
  path: string;
  /** The new image's format (`qcow2`). */
  format: string;
  /** The image it is backed by: the disk's source before the snapshot. */
  backingPath: string;
  /** The backing image's format. */
  backingFormat: string;
  /** The file exists already and is used as it is (`--reuse-external`). */
  reuse: boolean;
}

/** One disk's overlay an external snapshot's deletion folds into the image below it. */
export interface SnapshotMerge {
  /** The disk's target (`vda`). */
  disk: string;
  /** The disk's chain, top first: the running instance's, or as a shut-off disk's images say. */
  chain: ChainLayer[];
  /** The overlay's position in `chain` (0: the disk's top); the image below it receives it. */
  position: number;
}

/**
 * Snapshots of a driver's disks (and memory). An internal snapshot lives inside qcow2 images
 * under the snapshot's name; an external one is a new overlay on each disk.
 */
export interface SnapshotDriver {
  /**
   * Whether a snapshot of a running persistent domain keeps its persistent definition too
   * (`<inactiveDomain>`), as libvirt's QEMU driver does (its test driver does not).
   */
  readonly keepsInactiveDefinition: boolean;
  /** The libvirt function its creation's flag errors name (`qemuDomainSnapshotCreateXML`). */
  readonly createFunction: string;
  /** The libvirt function its deletion's flag errors name (`qemuDomainSnapshotDelete`). */
  readonly deleteFunction: string;
  /**
   * The snapshots are metadata only (libvirt's test driver): there is no snapshot without its
   * record, so `--no-metadata` and `--metadata` are refused as that driver refuses them.
   */
  readonly metadataOnly: boolean;
  /**
   * Refuses disks that cannot take an internal snapshot (libvirt's checks: qcow2 only).
   *
   * @throws {VirtError} Code 67 naming the disk.
   */
  checkInternal(definition: DomainDefinition, disks: readonly string[]): void;
  /**
   * Takes the internal snapshot `name` of the disks `disks` (targets); of a running instance
   * with its memory state (QEMU's `snapshot-save` job), of a shut-off one with `qemu-img
   * snapshot -c`.
   */
  createInternal(
    target: SnapshotTarget,
    name: string,
    disks: readonly string[],
    signal: AbortSignal,
  ): Promise<void>;
  /** Rewrites the shut-off disks `disks` to the internal snapshot `name` (`qemu-img snapshot -a`). */
  revertInternal(
    definition: DomainDefinition,
    name: string,
    disks: readonly string[],
    signal: AbortSignal,
  ): Promise<void>;
  /** Removes the internal snapshot `name` from the disks `disks` (running or not). */
  deleteInternal(
    target: SnapshotTarget,
    name: string,
    disks: readonly string[],
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Optional: creates the overlays and, for a running instance, makes them the disks' tops
   * (QEMU's `blockdev-snapshot`). A failure removes the overlays it created. Absent: disk-only
   * snapshots are refused (as libvirt's test driver refuses them).
   */
  createExternal?(
    target: SnapshotTarget,
    overlays: readonly SnapshotOverlay[],
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Optional: folds each overlay of `merges` into the image below it and removes the overlay
   * file, as libvirt 9.0 deletes an external snapshot: a running instance by a commit job
   * (active, then pivoted, for a disk's top), a shut-off domain with `qemu-img commit` and the
   * image above rebased. Absent: external snapshots are deleted only as metadata.
   */
  deleteExternal?(
    target: SnapshotTarget,
    merges: readonly SnapshotMerge[],
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Optional: whether the running instance's disks have the files `paths` on top (an external
   * snapshot's overlays), asked after a crash to tell whether the snapshot happened.
   */
  overlaysInUse?(
    target: SnapshotTarget,
    paths: readonly string[],
    signal: AbortSignal,
  ): Promise<boolean>;
}

/** A live migration's progress, from the hypervisor (QEMU's `query-migrate`). */
export interface MigrationProgress {
  /** The hypervisor's status: `setup`, `active`, `device`, `completed`, `failed`, `cancelled`… */
  status: string;
  /** Time since it began, in ms. */
  totalTimeMs: number;
  /** The guest's measured downtime, in ms, once completed. */
  downtimeMs?: number;
  /** The downtime expected now, in ms, while active. */
  expectedDowntimeMs?: number;
  /** Time spent setting up, in ms. */
  setupTimeMs?: number;
  memoryTotalBytes: number;
  memoryProcessedBytes: number;
  memoryRemainingBytes: number;
  memoryConstantPages: number;
  memoryNormalPages: number;
  memoryNormalBytes: number;
  /** Pages dirtied per second. */
  memoryDirtyRate: number;
  /** Passes over memory (dirty syncs). */
  memoryIterations: number;
  /** The guest's page size, in bytes (absent: not reported). */
  memoryPageSize?: number;
  /** Pages the destination asked for in post-copy mode (absent: not reported). */
  memoryPostcopyRequests?: number;
  /** Throughput, in bytes per second. */
  memoryBps: number;
  /** Why it failed. */
  error?: string;
}

/**
 * libvirt's "unlimited" migration bandwidth (`QEMU_DOMAIN_MIG_BANDWIDTH_MAX`, MiB/s), which it
 * sets before every migration unless asked for less; QEMU's own default would stretch one.
 */
export const UNLIMITED_BANDWIDTH_MIB = 8796093022207;

/** A live migration's limits: the downtime allowed (ms), the bandwidth (MiB/s). */
export interface MigrationTuning {
  maxDowntimeMs?: number;
  bandwidthMiB?: number;
}

/**
 * A driver's live migration of running instances to an instance of another host (the receiving
 * one launched with `incoming`), over loopback or network TCP.
 */
export interface MigrationDriver {
  /** The instance (launched with `incoming`) listens for the stream on `address:port`. */
  listen(handle: DomainHandle, address: string, port: number, signal: AbortSignal): Promise<void>;
  /**
   * Sends the running instance's state to `address:port`; resolves once complete (the CPUs are
   * then stopped, as by the driver: no unsolicited pause is reported), with the final figures.
   *
   * @throws {VirtError} 9 when it fails; 10 when cancelled.
   */
  send(
    handle: DomainHandle,
    target: { address: string; port: number },
    signal: AbortSignal,
  ): Promise<MigrationProgress>;
  /** Resolves once an incoming stream is complete (the CPUs stay stopped); at most `timeoutMs`. */
  received(handle: DomainHandle, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** The migration's progress; null when none ever began on this instance. */
  progress(handle: DomainHandle, signal: AbortSignal): Promise<MigrationProgress | null>;
  /** Cancels the migration in flight (the source's guest runs on). */
  cancel(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Sets the downtime limit or bandwidth. */
  tune(handle: DomainHandle, tuning: MigrationTuning, signal: AbortSignal): Promise<void>;
  /** The downtime limit and bandwidth limit in force. */
  limits(handle: DomainHandle, signal: AbortSignal): Promise<Required<MigrationTuning>>;
  /** The last progress polled of the migration the instance of `uuid` sends now; none: undefined. */
  current(uuid: string): MigrationProgress | undefined;
  /**
   * After a send that did not complete (or whose end was not carried through): the driver
   * takes the CPUs' state from the hypervisor again. `stoppedByMigration`: the CPUs were
   * stopped by the migration's switch-over (and stay stopped until resumed).
   */
  resync(
    handle: DomainHandle,
    signal: AbortSignal,
  ): Promise<{ running: boolean; stoppedByMigration: boolean }>;
}

/** What a save writes beside the guest's state: the image's header and data. */
/**
 * A save's or restore's progress (libvirt's `VIR_DOMAIN_JOB_*` statistics of a job writing or
 * reading QEMU's migration stream); sizes in bytes, times in ms.
 */
export interface DomainJobStats {
  /**
   * `save` (`VIR_DOMAIN_JOB_OPERATION_SAVE` 2), `restore` (3), `migration_in` (4: a completed
   * incoming migration, kept by the destination) or `migration_out` (an outgoing
   * live migration, 5: the host's, not a driver's).
   */
  operation: "save" | "restore" | "migration_out" | "migration_in";
  /** Still running, or how it ended. */
  status: "active" | "completed" | "failed" | "cancelled";
  timeElapsedMs: number;
  dataTotal: number;
  dataProcessed: number;
  dataRemaining: number;
  memoryTotal: number;
  memoryProcessed: number;
  memoryRemaining: number;
  /** Pages all of one byte (QEMU's `duplicate`). */
  memoryConstant: number;
  memoryNormal: number;
  memoryNormalBytes: number;
  /** Bytes per second. */
  memoryBps: number;
  /** Pages dirtied per second. */
  memoryDirtyRate: number;
  memoryPageSize: number;
  memoryIteration: number;
  memoryPostcopyRequests: number;
  setupTimeMs: number;
  /** Expected downtime while active, the downtime once completed; absent: not known. */
  downtimeMs?: number;
}

export interface SaveRequest {
  /** The image's path (created or truncated by the service). */
  path: string;
  /** The domain XML the image carries. */
  xml: string;
  /** Whether the guest ran before the save paused it. */
  wasRunning: boolean;
  /**
   * Written uncompressed whatever the driver's save image format (a snapshot's memory, as
   * libvirt's `snapshot_image_format` defaults to raw).
   */
  raw?: boolean;
  /** Write the image past the page cache (`--bypass-cache`, O_DIRECT). */
  bypassCache?: boolean;
}

/** Where an instance really is, as a driver finds it after a service restart. */
export type Reality =
  /** The process is gone. */
  | { kind: "gone" }
  /** The driver keeps no reality apart from the log (the test hypervisor): keep the record. */
  | { kind: "as_recorded" }
  /** The CPUs run. */
  | { kind: "running" }
  /** The CPUs are stopped, for this reason. */
  | { kind: "paused"; reason: PausedReasonName }
  /** The guest shut down and the process waits to be ended. */
  | { kind: "shutdown" }
  /** The guest panicked and the process is preserved. */
  | { kind: "crashed" };

/** A device named by an attach, detach or update: its `<devices>` list and the decoded device. */
export interface DeviceChange {
  list: DeviceListName;
  device: DeviceOf<DeviceListName>;
}

/** What a live device change left: the instance's new live definition and the device's alias. */
export interface LiveDeviceChange {
  live: DomainDefinition;
  alias: string;
}

/** What every block job names: the disk (target and position) and its chain, top first. */
interface BlockJobDisk {
  disk: string;
  diskIndex: number;
  chain: ChainLayer[];
  /** The speed limit in bytes/s; 0 for none. */
  bandwidthBytes: bigint;
}

/**
 * A block job to start, in evirt's terms: a commit of the images from `top` down to just above
 * `base` into `base` (positions in the chain; top 0 is an active commit, which waits to be
 * pivoted), a pull into the top of everything above `base` (undefined: the whole chain), or a
 * copy of the disk to `destination` (shallow: the top image only, over the same backing images;
 * `reuse`: the destination exists, else the driver makes it), which waits to be pivoted.
 */
export type BlockJobRequest =
  | BlockJobDisk & { kind: "commit"; top: number; base: number }
  | BlockJobDisk & { kind: "pull"; base: number | undefined }
  | BlockJobDisk & {
    kind: "copy";
    destination: ChainLayer;
    shallow: boolean;
    reuse: boolean;
    /** Dirty bitmap granularity in bytes; absent: the hypervisor's default. */
    granularityBytes?: number;
    /** Copy buffer size in bytes; absent: the hypervisor's default. */
    bufferBytes?: bigint;
  };

/** A running block job as the hypervisor reports it. */
export interface BlockJobInfo {
  /** The disk's target. */
  disk: string;
  /** Work done and total, in the hypervisor's units (bytes). */
  cur: bigint;
  end: bigint;
  /** The speed limit in bytes/s; 0 for none. */
  bandwidthBytes: bigint;
  /** Whether it is synchronized (for jobs that have the phase); absent: it has none. */
  ready?: boolean;
  /** Whether it has ended (concluded) and waits only to be reported. */
  concluded: boolean;
  /** Why a concluded job failed; absent: it did not. */
  error?: string;
}

/** Receives a driver's observations, in the order they happened. */
export type ObservationSink = (uuid: string, observation: Observation) => void;

/** Live figures of a running instance. */
export interface DomainDescription {
  /** The guest OS type `virDomainGetOSType` answers; absent: the definition's `<os><type>`. */
  osType?: string;
  /** CPU time `virDomainGetInfo` answers in any state, in ns; absent: the instance's. */
  cpuTimeNs?: number;
  /** The security driver's model and the domain's label; absent: none. */
  security?: SecurityDescription;
}

export type { SecurityDescription } from "../src/model/domain_list.ts";

/** Live figures of an instance. */
export interface InstanceInfo {
  /** CPU time consumed, in ns. */
  cpuTimeNs: number;
  /** Current memory (balloon), in KiB. */
  memoryKiB: number;
}

/** One vCPU as a driver last sampled it. */
export interface VcpuSample {
  /** The vCPU's number. */
  number: number;
  /** libvirt's `virVcpuState`: 0 offline, 1 running, 2 blocked. */
  state: 0 | 1 | 2;
  /** CPU time the vCPU consumed, in ns. */
  timeNs: number;
  /** Time it waited for a host CPU, in ns, when the host tells. */
  waitNs?: number;
  /** The host CPU it last ran on. */
  hostCpu: number;
  /** The host CPUs it may run on (its affinity), ascending. */
  affinity: number[];
}

/** One interface's counters in the guest's view: `rx` is what the guest received. */
export interface InterfaceSample {
  /** The interface's position in the definition's interface list. */
  index: number;
  /** Its host-side device, e.g. a tap name. */
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDrops: number;
}

/**
 * Block figures of a running instance, in evirt's own terms (never a hypervisor's replies):
 * `src/storage/block_info.ts` turns them into libvirt's figures.
 */
export interface BlockSample {
  /** Per disk of the live definition, by position: its figures. */
  disks: BlockFigures[];
  /** Container facts re-read from storage where the figures lack a size (by source path). */
  containers: Record<string, StorageInfo>;
}

/** A secret's value by the uuid or usage a definition names (see `Driver.useSecretValues`). */
export type SecretValueLookup = (
  reference: { uuid: string } | { usage: string; type?: string },
) => Uint8Array;

/**
 * What a driver last sampled of a running instance. Every figure is optional: a driver leaves out
 * what it cannot know, and a domain without a balloon has no balloon figure.
 */
export interface InstanceSamples {
  /** When the figures were taken, in ms since the epoch; undefined before the first sample. */
  takenAtMs: number | undefined;
  /** The last attempt to sample failed (e.g. a monitor stopped answering): the figures are old. */
  stale: boolean;
  /** Why the samples are stale. */
  staleReason?: string;
  /** CPU time of the whole instance, in ns. */
  cpu?: { timeNs: number; userNs: number; systemNs: number };
  /** Resident memory of the hypervisor process, in KiB. */
  rssKiB?: number;
  /** Memory the guest has now according to its balloon, in KiB (absent without a balloon). */
  balloonKiB?: number;
  /**
   * The guest's own memory statistics through its balloon driver, with `virsh dommemstat`'s names
   * (`swap_in`, `swap_out`, `major_fault`, `minor_fault`, `unused`, `available`, `usable`,
   * `last_update`, `disk_caches`, …), in the order QEMU gives them. Sizes in KiB.
   */
  guestMemory?: Array<[string, number]>;
  /** Each vCPU. */
  vcpus?: VcpuSample[];
  /** Block figures. */
  block?: BlockSample;
  /** Interfaces with host-side counters. */
  interfaces?: InterfaceSample[];
  /** The counts of the perf events counted now, in libvirt's order (`perf.<name>`). */
  perf?: Array<[string, number]>;
}

/** A screenshot: the image's bytes and its media type (`image/x-portable-pixmap`, …). */
export interface Screenshot {
  mime: string;
  data: Uint8Array<ArrayBuffer>;
}

/** Host facts for `nodeinfo`. */
export interface NodeInfo {
  /** CPU model, e.g. `x86_64`. */
  model: string;
  /** Memory in KiB. */
  memoryKiB: number;
  /** Logical CPUs. */
  cpus: number;
  /** CPU frequency in MHz. */
  mhz: number;
  /** NUMA cells. */
  nodes: number;
  /** Sockets per node. */
  sockets: number;
  /** Cores per socket. */
  cores: number;
  /** Threads per core. */
  threads: number;
  /**
   * How many CPUs the host's CPU map covers (`virNodeGetCPUMap`), which affinity maps span;
   * absent: {@linkcode NodeInfo.cpus}. libvirt's test driver answers 8 beside its 16 CPUs.
   */
  cpuMapCpus?: number;
}

/**
 * A hypervisor driver. Every method that acts on an instance takes an `AbortSignal` and has a
 * bounded duration of its own; it rejects with a `VirtError` that says what went wrong.
 */
export interface Driver {
  /** The driver's name, e.g. `test` or `qemu`. */
  readonly name: string;
  /** The `<domain type=…>` values this driver runs. */
  readonly domainTypes: readonly string[];
  /** The hypervisor's version, e.g. `7.2.0`, for `version`. */
  readonly hypervisorVersion: string;

  /**
   * Refuses a definition this driver cannot run, with code 67 naming the element. Called at
   * define and again at start; never has side effects.
   */
  check(definition: DomainDefinition): void;

  /**
   * Optional: the definition as this driver completes it at define and create, as libvirt's
   * post-parse does (versioned machine type, implicit devices, device addresses), before
   * `check`; what it returns is what is recorded and run. Never has side effects.
   *
   * @throws {VirtError} A libvirt error (code 27 for explicit addresses that collide, …).
   */
  completeDefinition?(definition: DomainDefinition): Promise<DomainDefinition>;

  /**
   * Optional: the definition an instance of `definition` runs with: what the hypervisor adds
   * only while it runs (libvirt's QEMU driver: the device aliases). The start records it as
   * the live definition. Pure.
   */
  instanceDefinition?(definition: DomainDefinition): DomainDefinition;

  /**
   * Optional: the command line an instance of `definition` would run with, as one line of
   * shell text (libvirt's `domxml-to-native qemu-argv`), after the driver's define-time
   * completion. Starts nothing, touches no file.
   *
   * @throws {VirtError} What `completeDefinition` and `check` throw.
   */
  nativeCommandLine?(definition: DomainDefinition): Promise<string>;

  /**
   * Optional: the verdict of `check` computed without holding up the caller's loop (on a
   * worker thread for a large definition). A definition it accepted makes the `check` of the
   * same object at define cheap; the host runs it on the completed definition at define and
   * create.
   */
  checkOffLoop?(definition: DomainDefinition): Promise<void>;

  /**
   * Optional: the limits a running instance has now (its cgroups'), for the live `schedinfo`
   * and `memtune`; undefined when they cannot be read (or the instance has no group): the live
   * definition answers then.
   */
  appliedTuning?(handle: DomainHandle): AppliedTuning | undefined;

  /**
   * Optional: how many of libvirt's `posix` scheduler parameters the driver answers, in
   * libvirt's order (`cpu_shares`, `vcpu_period`, `vcpu_quota`, then emulator, global and
   * iothread period and quota): libvirt's LXC driver has 3. Absent: all 9, as libvirt's QEMU
   * driver.
   */
  readonly schedulerParameterCount?: number;

  /**
   * Whether the driver runs interfaces of type `network` and `bridge` on a bridge (a tap each):
   * the host then gives them their network's bridge and a tap name at start and hotplug
   * (`actors/network_interfaces.ts`). Absent: they are run as the driver runs them (libvirt's
   * test driver keeps them as written).
   */
  readonly bridgesInterfaces?: boolean;

  /**
   * Where an instance of `request` will live (runtime directory, pid file, monitor, claim), for
   * the intent recorded before {@linkcode Driver.launch}. Pure: creates nothing.
   */
  plan(request: LaunchRequest): RuntimeRecord;

  /**
   * Starts an instance with its CPUs stopped (QEMU's `-S`), where {@linkcode Driver.plan} said.
   * While any instance of the domain lives, another launch of it fails (code 9).
   *
   * @returns The runtime record that finds the instance again after a service restart.
   */
  launch(request: LaunchRequest, signal: AbortSignal): Promise<RuntimeRecord>;

  /**
   * After a service restart, finds the instance a recorded but unfinished launch left (spawned
   * in the last instant before the crash, perhaps before its pid was known).
   *
   * @param planned What {@linkcode Driver.plan} gave for the launch.
   * @returns Its runtime record, or undefined when no instance of the launch lives (leftover
   *   files are then removed).
   */
  adopt(
    request: LaunchRequest,
    planned: RuntimeRecord,
    signal: AbortSignal,
  ): Promise<RuntimeRecord | undefined>;

  /** Runs the CPUs (QMP `cont`). */
  resume(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Stops the CPUs (QMP `stop`). */
  pause(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Asks the guest to power off (ACPI); resolves once the request reached the guest. */
  powerdown(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /** Resets the guest now (QMP `system_reset`). */
  reset(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /**
   * Asks the guest to reboot; resolves once the request reached the guest. The reset that
   * follows is reported as a `reset` observation.
   */
  reboot(handle: DomainHandle, signal: AbortSignal): Promise<void>;
  /**
   * Ends the instance and resolves once it is gone: SIGTERM, then SIGKILL after a grace period
   * unless `graceful`, in which case it rejects if SIGTERM did not suffice.
   */
  terminate(
    handle: DomainHandle,
    options: { graceful: boolean },
    signal: AbortSignal,
  ): Promise<void>;

  /** Finds where an instance recorded as active really is (after a service restart). */
  probe(handle: DomainHandle, signal: AbortSignal): Promise<Reality>;
  /**
   * Where a watched instance is now, asked of the hypervisor without disturbing it: used when
   * some of its observations could not be recorded (its domain's observation queue was full),
   * so the record can be brought back in line. Absent: the driver has no state to re-read
   * (the test hypervisor's instances change only through the actor and `simulate`).
   */
  status?(handle: DomainHandle, signal: AbortSignal): Promise<Reality>;
  /** Starts reporting observations of an instance (after launch, or after probe). */
  watch(handle: DomainHandle, sink: ObservationSink): void;
  /** Stops reporting observations of an instance and releases its resources in the service. */
  unwatch(uuid: string): void;

  /**
   * Whether `domblkstat` without a disk sums every disk's counters (libvirt's QEMU driver does;
   * its test driver refuses, code 84). Absent: it does.
   */
  readonly sumsBlockStats?: boolean;

  /** Live figures of an instance, from what the driver has at hand (never blocks on a guest). */
  info(handle: DomainHandle): InstanceInfo;

  /**
   * What the driver says of a domain in any state where its libvirt counterpart answers with
   * figures of its own (libvirt's test driver: OS type `linux`, the clock as CPU time, its test
   * security model). Optional: without it the definition and the instance answer.
   */
  describe?(definition: DomainDefinition, active: boolean): DomainDescription;

  /**
   * The latest sampled figures of a running instance (stats, `dommemstat`, `vcpuinfo`, …), from
   * what the driver has at hand: never waits on a guest or a monitor. A driver that polls marks
   * the samples stale when a poll fails and keeps the previous figures. Undefined when the
   * driver runs no such instance.
   */
  samples(handle: DomainHandle): InstanceSamples | undefined;

  /**
   * Block figures of a running instance queried now (`virDomainGetBlockInfo` asks live, as
   * libvirt does), within the driver's own query timeouts: a monitor that does not answer gives
   * a timeout error (code 68), never a hang.
   */
  blockQuery(handle: DomainHandle, signal: AbortSignal): Promise<BlockSample>;

  /**
   * The disks of a running instance whose I/O failed (`virDomainGetDiskErrors`), in the live
   * definition's order, asked now within the driver's query timeouts; disks without an error
   * are left out.
   */
  diskErrors(handle: DomainHandle, signal: AbortSignal): Promise<DiskError[]>;

  /**
   * How block info reads the storage of this driver's disks; absent: the host's file system.
   * (The test hypervisor's disks live in its own simulated storage.)
   */
  storageAccess?(): BlockStorageAccess;

  /**
   * Gives the driver the host's secret values (a LUKS disk's passphrase, by the uuid or usage
   * its `<secret>` names); absent: the driver uses no secrets. The lookup throws libvirt's
   * code 66 for a secret that does not exist or has no value.
   */
  useSecretValues?(lookup: SecretValueLookup): void;

  /**
   * The host path of an instance's text console (a pty), for `console`: the given serial or
   * console device alias, or the primary console. Undefined when it has none.
   */
  consolePath?(handle: DomainHandle, device?: string): string | undefined;

  /**
   * Optional: the guests this driver runs, for the capabilities document (`<guest>`: OS type,
   * architecture, emulator, machine types). Without it the driver's domain types are listed on
   * the host's architecture.
   */
  guests?(): Promise<GuestCapability[]>;

  /**
   * Optional: the host as a driver that simulates one describes it (libvirt's test driver: an
   * i686 host of two NUMA cells). Used when every driver of a host has it; otherwise the
   * capabilities describe the real machine.
   */
  hostCapability?(): HostCapability;

  /**
   * Optional: the domain capabilities of an emulator, architecture, machine and domain type
   * (`virConnectGetDomainCapabilities`). Without it the call answers code 3, as libvirt's test
   * driver does.
   *
   * @throws {VirtError} INVALID_ARG (8) or CONFIG_UNSUPPORTED (67) for a request it cannot serve.
   */
  domainCapabilities?(query: DomainCapabilitiesQuery): Promise<DomainCapabilities>;

  /**
   * Presses keys together, given as QEMU's key numbers (`qnum`, already translated from the
   * caller's codeset), held `holdTimeMs` (0: the hypervisor's default). Absent: code 3.
   */
  sendKey?(
    handle: DomainHandle,
    keys: { qnums: number[]; linuxCodes: number[]; holdTimeMs: number },
    signal: AbortSignal,
  ): Promise<void>;

  /** An image of display head `screen`, with its media type. Absent: code 3. */
  screenshot?(handle: DomainHandle, screen: number, signal: AbortSignal): Promise<Screenshot>;

  /**
   * Passes a raw command to the hypervisor's monitor (QEMU: a QMP command as JSON text, or an
   * HMP line) and answers its reply as text. Absent: code 3.
   */
  monitorCommand?(
    handle: DomainHandle,
    command: string,
    options: { hmp: boolean },
    signal: AbortSignal,
  ): Promise<string>;

  /**
   * Passes a raw command (JSON text) to the guest agent and answers its reply as JSON text,
   * waiting at most `timeoutMs`. Absent: code 3.
   *
   * @throws {VirtError} Code 74 when the domain has no agent channel, 86 when the agent does
   *   not answer.
   */
  agentCommand?(
    handle: DomainHandle,
    command: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<string>;

  /**
   * Asks the guest to hold `memoryKiB` (the balloon's target; QEMU: `balloon`). Resolves once
   * the hypervisor took the request; the guest reaches the size later (balloon observations).
   * Absent: the live memory cannot change (code 3).
   *
   * @throws {VirtError} Code 55 when the instance has no balloon.
   */
  setMemory?(handle: DomainHandle, memoryKiB: number, signal: AbortSignal): Promise<void>;

  /**
   * Makes `count` vCPUs of the instance present (QEMU: `device_add` / `device_del` of vCPU
   * devices) and answers the live definition that results. Absent: code 3.
   *
   * @throws {VirtError} Code 9 when hotpluggable vCPUs cannot reach `count`, 8 above the maximum.
   */
  setVcpus?(handle: DomainHandle, count: number, signal: AbortSignal): Promise<DomainDefinition>;
  /**
   * Starts or stops counting one perf event (`virDomainSetPerfEvents`) on the running instance's
   * host process; nothing when it already is so. Absent: the driver counts none (libvirt's test
   * driver only records them in the definition).
   *
   * @throws {VirtError} libvirt's words when the host refuses (codes 38, 74).
   */
  setPerfEvent?(handle: DomainHandle, name: string, enabled: boolean): void;
  /**
   * Applies one `schedinfo --set --live` parameter (`cpu_shares`, `vcpu_period`, …; periods and
   * quotas in µs, never 0) to the running instance's control groups. Absent: the driver applies
   * no scheduler parameters live.
   *
   * @throws {VirtError} libvirt's words when the group refuses (codes 8, 55, 67, 38).
   */
  setSchedulerParameter?(handle: DomainHandle, name: SchedulerParameter, value: number): void;

  /**
   * Sets the `<bandwidth>` of the running instance's interface at `index` of its live
   * definition on its host-side device (`domiftune --live`); undefined clears it. Absent: the
   * driver shapes no interface.
   *
   * @throws {VirtError} libvirt's refusal for an interface type it cannot shape (67), tc's
   *   failure in libvirt's words (1).
   */
  setInterfaceBandwidth?(
    handle: DomainHandle,
    index: number,
    bandwidth: Bandwidth | undefined,
  ): Promise<void>;

  /**
   * Resizes the instance's disk at `diskIndex` of its live definition to `sizeBytes` (QEMU:
   * `block_resize`). Absent: code 3, as libvirt's test driver answers.
   */
  resizeBlock?(
    handle: DomainHandle,
    diskIndex: number,
    sizeBytes: bigint,
    signal: AbortSignal,
  ): Promise<void>;

  /**
   * Optional: starts a block job on a disk of a running instance; resolves once it runs. Its
   * synchronized phase and its end are reported as `block_job` observations. Absent: the
   * driver has no block jobs (code 3, as libvirt's test driver answers).
   *
   * @throws {VirtError} The hypervisor's refusal; a destination it made is removed again.
   */
  startBlockJob?(
    handle: DomainHandle,
    request: BlockJobRequest,
    signal: AbortSignal,
  ): Promise<void>;

  /** Optional (with `startBlockJob`): the block jobs the instance runs now. */
  blockJobs?(handle: DomainHandle, signal: AbortSignal): Promise<BlockJobInfo[]>;

  /**
   * Optional (with `startBlockJob`): ends the disk's block job, switching the disk to the job's
   * result (`pivot`) or cancelling it; resolves once asked. The end is reported as a
   * `block_job` observation.
   */
  endBlockJob?(
    handle: DomainHandle,
    disk: string,
    options: { pivot: boolean },
    signal: AbortSignal,
  ): Promise<void>;

  /** Optional (with `startBlockJob`): sets the disk's block job's speed limit (0: none). */
  setBlockJobSpeed?(
    handle: DomainHandle,
    disk: string,
    bandwidthBytes: bigint,
    signal: AbortSignal,
  ): Promise<void>;

  /** Optional (with `startBlockJob`): forgets a disk's concluded job whose end was recorded. */
  dismissBlockJob?(handle: DomainHandle, disk: string): Promise<void>;

  /**
   * Optional: removes a copy destination a block job made that is no longer used (a copy that
   * did not start, or was aborted, after a service restart).
   */
  removeBlockJobFile?(handle: DomainHandle, path: string): Promise<void>;

  /**
   * Optional: plugs a device into a running instance (`attach-device --live`) and answers the
   * live definition with it, completed and aliased as at start. Absent: the driver has no
   * device changes at all (libvirt's test driver), and every device call answers code 3.
   *
   * @throws {VirtError} 84 for a device it does not hotplug; 9 with the hypervisor's answer.
   */
  attachDevice?(
    handle: DomainHandle,
    change: DeviceChange,
    signal: AbortSignal,
  ): Promise<LiveDeviceChange>;

  /**
   * Optional: asks the guest to release the device with `alias` (QEMU `device_del`); resolves
   * once asked. Its removal is reported as a `device_removed` observation whenever the guest
   * lets go of it.
   */
  detachDevice?(handle: DomainHandle, alias: string, signal: AbortSignal): Promise<void>;

  /**
   * Optional: changes a device of a running instance in place (a cdrom's or floppy's medium)
   * and answers the new live definition.
   */
  updateDevice?(
    handle: DomainHandle,
    change: DeviceChange,
    options: { force: boolean },
    signal: AbortSignal,
  ): Promise<LiveDeviceChange>;

  /**
   * Optional: whether the device with `alias` is gone from a running instance (asked after a
   * service restart for removals still pending: the guest may have let go of it meanwhile).
   */
  deviceGone?(handle: DomainHandle, alias: string, signal: AbortSignal): Promise<boolean>;

  /**
   * Optional: writes the stopped instance's state into a save image at `request.path` (libvirt's
   * layout, `src/storage/save_image.ts`): the header first with the partial magic, the
   * hypervisor's stream, then the complete magic once the stream is synced. A failed save
   * removes the partial file and leaves the instance as it was (paused). Absent: code 3.
   *
   * @throws {VirtError} 38 when the file cannot be created; 9 when the hypervisor fails.
   */
  saveState?(handle: DomainHandle, request: SaveRequest, signal: AbortSignal): Promise<void>;

  /**
   * Optional: loads the stream of a save image (from byte `offset` of `path`) into an instance
   * launched with `incoming`; its CPUs stay stopped. Absent: code 3.
   *
   * @throws {VirtError} 9 when the hypervisor refuses the stream (a truncated or foreign one).
   */
  restoreState?(
    handle: DomainHandle,
    image: { path: string; offset: number; compressed?: number; bypassCache?: boolean },
    signal: AbortSignal,
  ): Promise<void>;

  /**
   * Optional: the driver's own save-image layout (libvirt's test driver's,
   * `src/storage/test_save_image.ts`): the domain XML of the image at `path`, with the driver's
   * errors. Such a driver takes no save or restore flags and no replacement XML, as libvirt's
   * test driver. Absent: libvirt's QEMU layout (`src/storage/save_image.ts`).
   *
   * @throws {VirtError} The layout's errors (38, 1).
   */
  readOwnSaveImage?(path: string): Promise<string>;

  /**
   * Optional (with `saveState`): the statistics of the save or restore the instance of `uuid`
   * runs now, or with `completed` of the last one that completed; null: none. Answered beside
   * the domain's queue (the save holds it).
   */
  jobStats?(
    uuid: string,
    options: { completed: boolean; keepCompleted?: boolean },
    signal: AbortSignal,
  ): Promise<DomainJobStats | null>;

  /**
   * Optional (with `saveState`): cancels the save the instance of `uuid` runs (QEMU
   * `migrate_cancel`); the save then fails with code 78 and leaves the guest as it was.
   *
   * @returns The operation of the job found ("save" when cancelled), or null when there is none.
   * @throws {VirtError} 55 for a restore (libvirt: a start cannot be aborted).
   */
  abortJob?(uuid: string, signal: AbortSignal): Promise<"save" | null>;

  /**
   * Optional: a managed save keeps no image, only a mark on the domain (libvirt's test
   * driver): the instance ends (STOPPED/saved), the next start boots afresh and clears the mark,
   * and no call reads or changes an image (code 3).
   */
  readonly managedSaveWithoutImage?: boolean;

  /** Optional: snapshots of the driver's domains. Absent: code 3. */
  readonly snapshots?: SnapshotDriver;

  /** Optional: live migration of running instances between hosts. Absent: code 3. */
  readonly migration?: MigrationDriver;

  /** Releases the driver (monitors, timers). Running instances keep running. */
  close(): Promise<void>;
}
