/**
 * What each command and each driver observation does to a domain: which driver calls it makes
 * and which facts it appends, in which order. Every function here runs as a job of the domain's
 * actor, so it sees a stable snapshot and is the only writer of the domain's stream.
 *
 * Rules (reference §3): a command invalid in the current state is refused with libvirt's error
 * and appends nothing; a driver call that fails appends nothing unless the instance's state did
 * change (a failed `cont` after launch ends the instance: STOPPED/failed).
 *
 * @module
 */

import { type VolumeResolver, withVolumeDisks } from "./volume_disks.ts";
import {
  type NetworkPortBinder,
  type NetworkResolver,
  type PlacedPort,
  withNetworkInterfaces,
  withNetworkPorts,
} from "./network_interfaces.ts";
import type { DomainDefinition, XmlElement } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { agentChannelIndex } from "../src/model/guest_agent_channel.ts";
import type {
  DomainFact,
  DomainFactBodies,
  RuntimeRecord,
  StoppedDetail,
} from "../src/model/facts.ts";
import { factOfObservation } from "../src/model/lifecycle_table.ts";
import { type CommandRuling, commandRuling, rulesFamily } from "./command_rules.ts";
import type { JobContext } from "./domain_actor.ts";
import { abandonIntent, endInstance, recordEnding } from "./domain_intents.ts";
import { FactsHeldError } from "./held_facts.ts";
import { deleteCommittedImages } from "./block_job_commands.ts";
import {
  accepts,
  type DomainCommandName,
  type DomainSnapshot,
  isActive,
  statePath,
} from "./domain_machine.ts";
import type { DomainHandle, Driver, Observation, ObservationSink } from "./driver_protocol.ts";

/** What commands need from the host around the domain. */
export interface CommandEnvironment {
  /** The driver for the domain's type. */
  driverFor(definition: DomainDefinition): Driver;
  /** A fresh id for a starting instance. */
  allocateId(): number;
  /** Where the driver reports observations of the domain. */
  sink: ObservationSink;
  /** The clock, in ms since the epoch. */
  now(): number;
  /** Arms (or re-arms) a timer for the domain's recorded deadline. */
  armDeadline(uuid: string, atMs: number): void;
  /**
   * Claims a new name for an existing domain until the returned release is called (rename).
   *
   * @throws {VirtError} Code 55 when another domain has the name.
   */
  claimNewName(name: string, uuid: string): () => void;
  /** Finds a storage pool's volume for a `<disk type='volume'>` at start (libvirt's errors). */
  resolveVolume?: VolumeResolver;
  /** Finds a network's bridge for `<interface type='network'>` (libvirt's errors). */
  resolveNetwork?: NetworkResolver;
  /** Creates and releases the ports of `<interface type='network'>` on their networks. */
  networkPorts?: NetworkPortBinder;
  /** Where managed save images live (the service's state folder); absent: no managed save. */
  managedSaveDir?: string;
  /** Where what went wrong beside a command's outcome is told (default: stderr). */
  log?: (message: string) => void;
}

const NOT_RUNNING = "domain is not running";

/** libvirt's refusal of `command` in the current state. */
export function refusal(snapshot: DomainSnapshot, command: DomainCommandName): VirtError {
  const path = statePath(snapshot);
  const invalid = (message: string) => new VirtError(ErrorCode.OPERATION_INVALID, message);
  if (path === "nonexistent") {
    return new VirtError(
      ErrorCode.NO_DOMAIN,
      `no domain with matching uuid '${snapshot.context.uuid}'`,
    );
  }
  switch (command) {
    case "start":
      return invalid("domain is already running");
    case "undefine":
      return invalid("cannot undefine transient domain");
    case "autostart":
      return invalid("cannot set autostart for transient domain");
    case "suspend":
    case "resume":
      return invalid(path === "active.pmsuspended" ? "domain is pmsuspended" : NOT_RUNNING);
    default:
      return invalid(NOT_RUNNING);
  }
}

/** Throws libvirt's refusal unless `command` is valid in the current state. */
export function requireCommand(snapshot: DomainSnapshot, command: DomainCommandName): void {
  if (command === "undefine" || command === "autostart") {
    if (!snapshot.context.persistent) throw refusal(snapshot, command);
  }
  if (!accepts(snapshot, { type: `command.${command}` })) throw refusal(snapshot, command);
}

/**
 * Decides `command` as the domain's driver does (`command_rules.ts`), else as the machine does:
 * `run` when it is to be carried out, `nothing` when it succeeds without effect.
 *
 * @throws {VirtError} The driver's refusal, or libvirt's refusal of the machine's state.
 */
export function ruleCommand(
  snapshot: DomainSnapshot,
  command: DomainCommandName,
  driverName: string,
): "run" | "nothing" {
  const ruling: CommandRuling | undefined = commandRuling(
    rulesFamily(driverName),
    command,
    statePath(snapshot),
    {
      name: snapshot.context.live?.name ?? snapshot.context.name,
      persistent: snapshot.context.persistent,
    },
  );
  if (ruling === undefined) {
    requireCommand(snapshot, command);
    return "run";
  }
  if (ruling.kind === "refuse") throw ruling.error;
  return ruling.kind;
}

/** The driver of the domain's running instance, else of its persistent definition. */
function driverNameOf(snapshot: DomainSnapshot, env: CommandEnvironment): string {
  const definition = snapshot.context.live ?? snapshot.context.definition;
  return definition === null ? "" : env.driverFor(definition).name;
}

/** The running instance's handle. */
export function handleOf(snapshot: DomainSnapshot): DomainHandle {
  const { context } = snapshot;
  if (context.live === null || context.id === null || context.runtime === null) {
    throw new Error(`Domain ${context.uuid} has no running instance`);
  }
  return {
    uuid: context.uuid,
    name: context.live.name,
    id: context.id,
    definition: context.live,
    runtime: context.runtime,
  };
}

/** Records a new or changed persistent definition. */
export async function define(
  job: JobContext,
  definition: DomainDefinition,
): Promise<"added" | "updated"> {
  requireCommand(job.snapshot, "define");
  const detail: "added" | "updated" = job.snapshot.context.persistent ? "updated" : "added";
  await job.append([{ type: "domain.defined", body: { definition, detail } }]);
  return detail;
}

/** Removes the persistent definition; an active domain continues as transient. */
export async function undefine(job: JobContext, env: CommandEnvironment): Promise<void> {
  if (ruleCommand(job.snapshot, "undefine", driverNameOf(job.snapshot, env)) === "nothing") return;
  const managedSave = job.snapshot.context.managedSave;
  if (managedSave !== null && managedSave !== undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "Refusing to undefine while domain managed save image exists",
    );
  }
  const snapshots = Object.keys(job.snapshot.context.snapshots?.snapshots ?? {}).length;
  if (snapshots > 0 && !isActive(job.snapshot)) {
    // libvirt keeps snapshot metadata only with a definition to revert to.
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `cannot delete inactive domain with ${snapshots} snapshots`,
    );
  }
  await job.append([{ type: "domain.undefined", body: {} }]);
}

/**
 * Starts the domain from `definition` (the persistent one for `start`, the given one for
 * `create`): launch with CPUs stopped, record the launch, then run the CPUs unless `paused`.
 */
export async function start(
  job: JobContext,
  env: CommandEnvironment,
  options: {
    paused: boolean;
    definition?: DomainDefinition;
    restore?: RestoreImage;
    fromSnapshot?: SnapshotStart;
    /** A live migration's destination: the instance listens there for the source's stream. */
    migrateFrom?: { address: string; port: number };
  },
): Promise<void> {
  const { context } = job.snapshot;
  const definition = options.definition ?? context.definition;
  if (options.definition === undefined) requireCommand(job.snapshot, "start");
  if (definition === null) throw refusal(job.snapshot, "start");
  const driver = env.driverFor(definition);
  driver.check(definition);
  const id = env.allocateId();
  // What the instance runs with (the driver's runtime names added), recorded as the live one.
  const instance = driver.instanceDefinition?.(definition) ?? definition;
  // Interfaces on networks and bridges get their bridge and tap name, shown in the live XML.
  const resolved = driver.bridgesInterfaces === true
    ? withNetworkInterfaces(instance, id, env.resolveNetwork)
    : instance;
  // Intent before action: each network interface's port is recorded on its network before
  // anything of the guest exists (libvirt's QEMU driver creates it before the tap).
  const binder = driver.bridgesInterfaces === true ? env.networkPorts : undefined;
  const { live, launched: ported, ports } = binder === undefined
    ? { live: resolved, launched: resolved, ports: [] }
    : await withNetworkPorts(resolved, { uuid: context.uuid, name: definition.name }, binder);
  try {
    await launchWith(job, env, driver, options, { id, definition, live, ported });
  } catch (error) {
    await releaseUnheldPorts(job, binder, ports);
    throw error;
  }
}

/** Releases a failed start's ports, unless its instance runs on (or is still to be settled). */
async function releaseUnheldPorts(
  job: JobContext,
  binder: NetworkPortBinder | undefined,
  ports: PlacedPort[],
): Promise<void> {
  if (binder === undefined || ports.length === 0 || holdsNetworkPorts(job.snapshot)) return;
  await binder.release(ports).catch(() => {});
}

/**
 * Whether the domain's instance holds its network ports: it runs, or its launch is pending
 * (recovery settles it).
 */
export function holdsNetworkPorts(snapshot: DomainSnapshot): boolean {
  const { live, intent } = snapshot.context;
  return live !== null || intent?.kind === "launch";
}

/** The rest of {@linkcode start}, once the instance's ports exist. */
async function launchWith(
  job: JobContext,
  env: CommandEnvironment,
  driver: Driver,
  options: {
    paused: boolean;
    restore?: RestoreImage;
    fromSnapshot?: SnapshotStart;
    migrateFrom?: { address: string; port: number };
  },
  started: {
    id: number;
    definition: DomainDefinition;
    live: DomainDefinition;
    ported: DomainDefinition;
  },
): Promise<void> {
  const { context } = job.snapshot;
  const { id, definition, live } = started;
  // The launch gets volume disks as their files; the live definition keeps them as written.
  const launched = withVolumeDisks(started.ported, env.resolveVolume);
  const request = {
    uuid: context.uuid,
    name: definition.name,
    id,
    definition: launched,
    ...(options.restore === undefined && options.migrateFrom === undefined
      ? {}
      : { incoming: true }),
    ...(options.fromSnapshot?.name === undefined
      ? {}
      : { loadSnapshot: options.fromSnapshot.name }),
  };
  // The persistent definition is already in the log: record only a definition that differs.
  const recorded = live === context.definition ? null : live;
  // Intent before action: what the launch will create is durable before anything is spawned.
  await job.append([{
    type: "domain.launching",
    body: {
      id,
      definition: recorded,
      persistent: context.persistent,
      runtime: driver.plan(request),
    },
  }]);
  let runtime: RuntimeRecord;
  try {
    runtime = await driver.launch(request, job.signal);
  } catch (error) {
    await abandonIntent(job, "launch");
    throw error;
  }
  try {
    await job.append([{
      type: "domain.launched",
      body: { id, definition: recorded, persistent: context.persistent, runtime },
    }]);
  } catch (error) {
    // Held (the log refused it for now, but the actor holds it and shows it): the host's
    // endHeldStart ends the instance and holds its end too.
    if (error instanceof FactsHeldError) throw error;
    // The instance cannot be recorded: end it rather than leave one the log does not name (its
    // claim would refuse every later start until a restart adopted it).
    const handle = { ...request, runtime };
    await driver.terminate(handle, { graceful: false }, job.signal).catch(() => {});
    driver.unwatch(request.uuid);
    await abandonIntent(job, "launch");
    throw error;
  }
  const handle = handleOf(job.snapshot);
  if (options.migrateFrom !== undefined) {
    await listenForMigration(job, driver, handle, options.migrateFrom);
    driver.watch(handle, env.sink);
    return;
  }
  if (options.restore !== undefined) {
    await loadImage(job, driver, handle, options.restore);
    driver.watch(handle, env.sink);
    return;
  }
  driver.watch(handle, env.sink);
  if (options.fromSnapshot !== undefined) {
    await runFromSnapshot(job, driver, handle, options.fromSnapshot);
    return;
  }
  if (options.paused) {
    await job.append([
      { type: "domain.started", body: { detail: "booted", reason: "booted" } },
      { type: "domain.suspended", body: { detail: "paused", reason: "user" } },
    ]);
    return;
  }
  try {
    await driver.resume(handle, job.signal);
  } catch (error) {
    await endInstance(job, driver, handle, { detail: "failed", reason: "failed" });
    throw error;
  }
  await job.append([{ type: "domain.started", body: { detail: "booted", reason: "booted" } }]);
}

/** A start by a snapshot's revert (libvirt's STARTED/from_snapshot). */
export interface SnapshotStart {
  /** The internal snapshot the instance loads (memory and disks); absent: a fresh boot. */
  name?: string;
  /** Leave the CPUs stopped: SUSPENDED/from_snapshot. */
  paused: boolean;
  /**
   * The snapshot had no memory: the guest boots (running (booted), or paused (user)), as
   * libvirt's start after reverting disks only.
   */
  inactive: boolean;
}

/**
 * Records a revert's start as libvirt does: STARTED/from_snapshot, then either the CPUs run
 * (running (from snapshot); running (booted) for a snapshot without memory) or
 * SUSPENDED/from_snapshot leaves them stopped. A guest whose CPUs cannot run is ended
 * (STOPPED/failed).
 */
async function runFromSnapshot(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  start: SnapshotStart,
): Promise<void> {
  if (!start.paused) {
    try {
      await driver.resume(handle, job.signal);
    } catch (error) {
      await endInstance(job, driver, handle, { detail: "failed", reason: "failed" });
      throw error;
    }
  }
  const started: DomainFact = {
    type: "domain.started",
    body: { detail: "from_snapshot", reason: start.inactive ? "booted" : "from_snapshot" },
  };
  if (!start.paused) {
    await job.append([started]);
    return;
  }
  await job.append([
    started,
    {
      type: "domain.suspended",
      body: { detail: "from_snapshot", reason: start.inactive ? "user" : "from_snapshot" },
    },
  ]);
}

/**
 * A migration's destination listens for the stream: STARTED/migrated, paused (migration) until
 * the guest runs here. An instance that cannot listen is ended (STOPPED/failed).
 */
async function listenForMigration(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  from: { address: string; port: number },
): Promise<void> {
  try {
    if (driver.migration === undefined) {
      throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainMigratePrepare3Params");
    }
    await driver.migration.listen(handle, from.address, from.port, job.signal);
  } catch (error) {
    await endInstance(job, driver, handle, { detail: "failed", reason: "failed" });
    throw error;
  }
  await job.append([{ type: "domain.started", body: { detail: "migrated", reason: "migrated" } }]);
}

/** A save image a start restores: where its stream is, and whether the guest runs after. */
export interface RestoreImage {
  path: string;
  /** Where the stream starts in the file, in bytes. */
  offset: number;
  /** The stream's compression (the header's number); absent: raw. */
  compressed?: number;
  /** Leave the CPUs stopped. */
  paused: boolean;
  /** libvirt's SUSPENDED detail when paused: `paused` when asked for, `restored` otherwise. */
  pausedDetail: "paused" | "restored";
  /** Read the image past the page cache (`--bypass-cache`). */
  bypassCache?: boolean;
}

/**
 * Loads a save image into a launched instance and records the outcome as libvirt's restore:
 * STARTED/restored, then either running (restored) or SUSPENDED and paused (migrating). A
 * stream the hypervisor refuses ends the instance (STOPPED/failed).
 */
async function loadImage(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  image: RestoreImage,
): Promise<void> {
  const restoreState = driver.restoreState?.bind(driver);
  try {
    if (restoreState === undefined) {
      throw new VirtError(
        ErrorCode.NO_SUPPORT,
        "virDomainRestore",
      );
    }
    await restoreState(
      handle,
      {
        path: image.path,
        offset: image.offset,
        compressed: image.compressed ?? 0,
        ...(image.bypassCache === true ? { bypassCache: true } : {}),
      },
      job.signal,
    );
    if (!image.paused) await driver.resume(handle, job.signal);
  } catch (error) {
    await endInstance(job, driver, handle, { detail: "failed", reason: "failed" });
    throw error;
  }
  const started: DomainFact = {
    type: "domain.started",
    body: { detail: "restored", reason: "restored" },
  };
  if (!image.paused) {
    await job.append([started]);
    return;
  }
  await job.append([
    started,
    { type: "domain.suspended", body: { detail: image.pausedDetail, reason: "migration" } },
  ]);
}

/**
 * Asks the guest to shut down; returns once the request reached it. With `timeoutMs`, records a
 * deadline after which the domain is destroyed if still active.
 */
export async function shutdown(
  job: JobContext,
  env: CommandEnvironment,
  options: { timeoutMs?: number; mode?: ShutdownMode },
): Promise<void> {
  ruleCommand(job.snapshot, "shutdown", driverNameOf(job.snapshot, env));
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  if (options.mode?.agent && driver.agentCommand === undefined) {
    // libvirt's test driver takes no flags here (its QEMU driver does).
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `unsupported flags (0x${
        modeFlags(options.mode).toString(16)
      }) in function testDomainShutdownFlags`,
    );
  }
  const byAgent = options.mode?.agent === true &&
    await askAgent(driver, handle, "powerdown", options.mode.acpi, job.signal);
  if (!byAgent) await driver.powerdown(handle, job.signal);
  if (options.timeoutMs !== undefined) {
    const atMs = env.now() + options.timeoutMs;
    await job.append([{
      type: "domain.deadline_set",
      body: { job: "shutdown", action: "destroy", atMs },
    }]);
    env.armDeadline(handle.uuid, atMs);
  }
}

/** How `shutdown` and `reboot` ask the guest (virsh `--mode acpi,agent`); neither: ACPI. */
export interface ShutdownMode {
  acpi: boolean;
  agent: boolean;
}

/** libvirt's flags of a mode (`VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN` 1, `…_GUEST_AGENT` 2). */
function modeFlags(mode: ShutdownMode): number {
  return (mode.acpi ? 1 : 0) | (mode.agent ? 2 : 0);
}

/** How long the agent may take to accept `guest-shutdown`, in ms. */
export const AGENT_SHUTDOWN_TIMEOUT_MS = 5_000;

/** The `org.qemu.guest_agent.0` virtio channel of a definition, if any. */
function hasAgentChannel(handle: DomainHandle): boolean {
  return agentChannelIndex(handle.definition) !== -1;
}

/** Refuses agent mode without an agent channel unless ACPI may be used instead (libvirt). */
function checkAgentChannel(handle: DomainHandle, acpiAllowed: boolean): void {
  if (!hasAgentChannel(handle) && !acpiAllowed) {
    throw new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured");
  }
}

/**
 * Asks the guest agent to power down or reboot. Returns false when ACPI should be used instead
 * (no channel, or the agent failed, and `acpiAllowed`).
 */
async function askAgent(
  driver: Driver,
  handle: DomainHandle,
  mode: "powerdown" | "reboot",
  acpiAllowed: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  checkAgentChannel(handle, acpiAllowed);
  if (!hasAgentChannel(handle)) return false;
  const command = JSON.stringify({ execute: "guest-shutdown", arguments: { mode } });
  try {
    await driver.agentCommand!(handle, command, AGENT_SHUTDOWN_TIMEOUT_MS, signal);
    return true;
  } catch (error) {
    if (acpiAllowed) return false;
    throw error;
  }
}

/** Ends the instance now (SIGTERM, then SIGKILL unless `graceful`). */
export async function destroy(
  job: JobContext,
  env: CommandEnvironment,
  options: { graceful: boolean },
): Promise<void> {
  requireCommand(job.snapshot, "destroy");
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  await recordEnding(job, { detail: "destroyed", reason: "destroyed" }, options.graceful);
  try {
    await driver.terminate(handle, { graceful: options.graceful }, job.signal);
  } catch (error) {
    await abandonIntent(job, "end");
    throw error;
  }
  driver.unwatch(handle.uuid);
  await job.append([{
    type: "domain.stopped",
    body: { detail: "destroyed", reason: "destroyed" },
  }]);
}

/**
 * Asks the guest to reboot (by ACPI, or with `mode.agent` through its guest agent); the reset
 * that follows is observed and recorded as REBOOT.
 */
export async function reboot(
  job: JobContext,
  env: CommandEnvironment,
  options: { mode?: ShutdownMode } = {},
): Promise<void> {
  requireCommand(job.snapshot, "reboot");
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  // A driver without an agent reboots as asked (libvirt's test driver accepts the flag).
  const agent = options.mode?.agent === true && driver.agentCommand !== undefined;
  if (agent) checkAgentChannel(handle, options.mode?.acpi ?? false);
  await job.append([{ type: "domain.rebooting", body: {} }]);
  try {
    const byAgent = agent &&
      await askAgent(driver, handle, "reboot", options.mode?.acpi ?? false, job.signal);
    if (!byAgent) await driver.reboot(handle, job.signal);
  } catch (error) {
    await abandonIntent(job, "reboot");
    throw error;
  }
}

/** Resets the guest now: one REBOOT event. */
export async function reset(job: JobContext, env: CommandEnvironment): Promise<void> {
  requireCommand(job.snapshot, "reset");
  const handle = handleOf(job.snapshot);
  await job.append([{ type: "domain.resetting", body: {} }]);
  try {
    await env.driverFor(handle.definition).reset(handle, job.signal);
  } catch (error) {
    await abandonIntent(job, "reset");
    throw error;
  }
  await job.append([{ type: "domain.rebooted", body: {} }]);
}

/** Stops the CPUs; a paused QEMU domain stays as it is (the test driver refuses, as libvirt's). */
export async function suspend(job: JobContext, env: CommandEnvironment): Promise<void> {
  const ruling = ruleCommand(job.snapshot, "suspend", driverNameOf(job.snapshot, env));
  if (ruling === "nothing" || statePath(job.snapshot) === "active.paused") return;
  const handle = handleOf(job.snapshot);
  await env.driverFor(handle.definition).pause(handle, job.signal);
  await job.append([{ type: "domain.suspended", body: { detail: "paused", reason: "user" } }]);
}

/** Runs the CPUs again; a running domain is refused with the driver's message (libvirt's). */
export async function resume(job: JobContext, env: CommandEnvironment): Promise<void> {
  const ruling = ruleCommand(job.snapshot, "resume", driverNameOf(job.snapshot, env));
  if (ruling === "nothing") return;
  const handle = handleOf(job.snapshot);
  await env.driverFor(handle.definition).resume(handle, job.signal);
  await job.append([{ type: "domain.resumed", body: { detail: "unpaused", reason: "unpaused" } }]);
}

/** Switches autostart; records nothing when it does not change. */
export async function setAutostart(
  job: JobContext,
  env: CommandEnvironment,
  autostart: boolean,
): Promise<void> {
  if (ruleCommand(job.snapshot, "autostart", driverNameOf(job.snapshot, env)) === "nothing") return;
  if (job.snapshot.context.autostart === autostart) return;
  await job.append([{ type: "domain.autostart_changed", body: { autostart } }]);
}

/**
 * Renames an inactive persistent domain, as libvirt: refused while active (code 55), for a
 * transient domain, to its own name, or to a name another domain has.
 */
export async function rename(
  job: JobContext,
  env: CommandEnvironment,
  newName: string,
): Promise<void> {
  const { context } = job.snapshot;
  if (statePath(job.snapshot) === "nonexistent") throw refusal(job.snapshot, "rename");
  if (isActive(job.snapshot)) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "cannot rename active domain");
  }
  if (!context.persistent) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "cannot rename a transient domain");
  }
  if (context.name === newName) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "Can't rename domain to itself");
  }
  const release = env.claimNewName(newName, context.uuid);
  try {
    await job.append([{ type: "domain.renamed", body: { from: context.name, to: newName } }]);
  } finally {
    release();
  }
}

/** Which definitions a metadata change applies to, as virsh's --live / --config / --current. */
export interface MetadataScope {
  /** Change the running instance's definition. */
  live?: boolean;
  /** Change the persistent definition. */
  config?: boolean;
}

/** Sets or removes the title, the description or one namespace's metadata element. */
export async function setMetadata(
  job: JobContext,
  change:
    | { kind: "title" | "description"; value: string | null }
    | { kind: "element"; nsuri: string; key?: string; element: XmlElement | null },
  scope: MetadataScope,
): Promise<void> {
  requireCommand(job.snapshot, "metadata");
  const active = isActive(job.snapshot);
  let live = scope.live ?? false;
  let config = scope.config ?? false;
  if (!live && !config) {
    live = active;
    config = !active;
  }
  if (live && !active) throw refusal(job.snapshot, "metadata");
  if (config && !job.snapshot.context.persistent) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "transient domains do not have any persistent config",
    );
  }
  const body: DomainFactBodies["domain.metadata_changed"] = { ...change, live, config };
  await job.append([{ type: "domain.metadata_changed", body }]);
}

/** Destroys the domain if its recorded deadline has passed and it is still active. */
export async function expireDeadline(job: JobContext, env: CommandEnvironment): Promise<void> {
  const { deadline } = job.snapshot.context;
  if (deadline === null || !isActive(job.snapshot)) return;
  if (env.now() < deadline.atMs) {
    env.armDeadline(job.snapshot.context.uuid, deadline.atMs);
    return;
  }
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  await endInstance(job, driver, handle, { detail: "destroyed", reason: "destroyed" });
}

/**
 * Records what the driver observed and applies the domain's policy (`on_poweroff`, `on_reboot`,
 * `on_crash`). An observation that no longer applies (the domain already left the state it
 * speaks of) is dropped.
 */
export async function observe(
  job: JobContext,
  env: CommandEnvironment,
  observation: Observation,
): Promise<void> {
  const facts = factsFor(job.snapshot, observation);
  if (facts === undefined) return;
  const blockJob = observation.kind === "block_job"
    ? job.snapshot.context.blockJobs?.[observation.disk]
    : undefined;
  await job.append(facts);
  if (
    observation.kind === "block_job" && observation.status === "completed" &&
    blockJob?.deleteImages !== undefined && isActive(job.snapshot)
  ) {
    // `blockcommit --delete`: the committed images go once the job's success is durable.
    const handle = handleOf(job.snapshot);
    await deleteCommittedImages(
      env.driverFor(handle.definition),
      handle,
      blockJob,
      env.log ?? ((message) => console.error(`evirt: ${message}`)),
    );
  }
  if (observation.kind === "stopped") {
    env.driverFor(definitionOf(job.snapshot)).unwatch(job.snapshot.context.uuid);
    return;
  }
  if (observation.kind === "shutdown") {
    const policy = observation.guestReset
      ? job.snapshot.context.live?.onReboot
      : job.snapshot.context.live?.onPoweroff;
    await applyEndPolicy(job, env, policy ?? "destroy", "shutdown", "shutdown");
  } else if (observation.kind === "crashed") {
    await applyEndPolicy(
      job,
      env,
      job.snapshot.context.live?.onCrash ?? "destroy",
      "crashed",
      "crashed",
    );
  }
}

function definitionOf(snapshot: DomainSnapshot): DomainDefinition {
  const definition = snapshot.context.live ?? snapshot.context.definition;
  if (definition === null) throw new Error(`Domain ${snapshot.context.uuid} has no definition`);
  return definition;
}

function factsFor(snapshot: DomainSnapshot, observation: Observation): DomainFact[] | undefined {
  const fact = factOfObservation(observation, {
    shuttingDown: statePath(snapshot) === "active.shuttingDown",
    blockJobs: snapshot.context.blockJobs ?? {},
  });
  if (!accepts(snapshot, fact)) return undefined;
  return [fact];
}

/**
 * After the guest shut down or crashed: `destroy` ends the instance, `restart` ends it and
 * starts a new one, `preserve` leaves it as it is.
 */
export async function applyEndPolicy(
  job: JobContext,
  env: CommandEnvironment,
  policy: string,
  detail: StoppedDetail,
  reason: "shutdown" | "crashed",
): Promise<void> {
  if (policy === "preserve" || !isActive(job.snapshot)) return;
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  await endInstance(job, driver, handle, { detail, reason });
  const restart = policy === "restart" || policy === "rename-restart" ||
    policy === "coredump-restart";
  if (restart && job.snapshot.context.persistent) {
    await start(job, env, { paused: false });
  }
}
