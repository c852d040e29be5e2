/**
 * Snapshots (`virDomainSnapshotCreateXML`, `virDomainRevertToSnapshot`,
 * `virDomainSnapshotDelete`) as jobs of the domain's queue, with libvirt 9.0's rules:
 *
 * - **create**: the user's document is completed (name and time, the state, the parent: the
 *   current snapshot, the domain's definition, each disk's location); intent
 *   `domain.snapshot_creating` (overlays named) before the driver writes anything; a running
 *   guest is paused for an internal snapshot (SUSPENDED/paused, paused (snapshot)) and resumed
 *   after; `domain.snapshot_created` records it. `--redefine` records a stored document as it
 *   is (no image is touched), `--current` with it makes it current.
 * - **revert**: as libvirt's QEMU driver: an instance that runs is ended (STOPPED/from_snapshot);
 *   the snapshot's definition becomes the domain's (DEFINED/from_snapshot); a snapshot with
 *   memory starts a new instance from it (STARTED/from_snapshot, then running (from snapshot),
 *   or SUSPENDED/from_snapshot and paused (from snapshot)); one without rewrites the disks and
 *   starts only when asked (`--running`, `--paused`).
 * - **delete**: the snapshot (`--children`: and its descendants; `--children-only`: only
 *   those) leaves the images, then the tree; `--metadata` leaves only the tree.
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact } from "../src/model/facts.ts";
import type { ChainLayer } from "../src/model/block_jobs.ts";
import type { SnapshotDefinition, SnapshotDisk, SnapshotState } from "../src/model/snapshot.ts";
import {
  descendantsOf,
  isExternal,
  SNAPSHOTS_PER_DOMAIN_MAX,
  type SnapshotTree,
  type StoredSnapshot,
} from "../src/model/snapshot_tree.ts";
import { parseSnapshotXml } from "../src/xml/parse_snapshot.ts";
import { formatDomainXml } from "../src/xml/mod.ts";
import type { JobContext } from "./domain_actor.ts";
import { type CommandEnvironment, handleOf, requireCommand, start } from "./domain_commands.ts";
import { abandonIntent, endInstance } from "./domain_intents.ts";
import { currentDefinition, isActive, snapshotTreeOf, statePath } from "./domain_machine.ts";
import type {
  SnapshotDriver,
  SnapshotMerge,
  SnapshotOverlay,
  SnapshotTarget,
} from "./driver_protocol.ts";
import { type BlockJobResult, diskChain, writtenChain } from "../src/model/block_jobs.ts";
import { readBackingChain } from "../src/storage/backing_chain.ts";

/** The flags of a snapshot's creation (VIR_DOMAIN_SNAPSHOT_CREATE_*). */
export interface SnapshotCreateFlags {
  redefine?: boolean;
  current?: boolean;
  noMetadata?: boolean;
  halt?: boolean;
  diskOnly?: boolean;
  reuseExternal?: boolean;
  quiesce?: boolean;
  atomic?: boolean;
  live?: boolean;
  validate?: boolean;
}

/** libvirt's numbers of {@linkcode SnapshotCreateFlags}, for its flag errors. */
export const SNAPSHOT_CREATE_FLAG_BITS: Readonly<Record<keyof SnapshotCreateFlags, number>> = {
  redefine: 1,
  current: 2,
  noMetadata: 4,
  halt: 8,
  diskOnly: 16,
  reuseExternal: 32,
  quiesce: 64,
  atomic: 128,
  live: 256,
  validate: 512,
};

/** A snapshot command: what the `snapshot` job of the operations table does. */
export type SnapshotCommand =
  | {
    action: "create";
    xml: string;
    flags: SnapshotCreateFlags;
    /** Filled by the job: the snapshot's name. */
    answer: { name?: string };
  }
  | { action: "revert"; name: string; running?: boolean; paused?: boolean; force?: boolean }
  | {
    action: "delete";
    name: string;
    children?: boolean;
    childrenOnly?: boolean;
    metadataOnly?: boolean;
  };

/** Runs one snapshot command (see the module). */
export function runSnapshotCommand(
  job: JobContext,
  env: CommandEnvironment,
  command: SnapshotCommand,
): Promise<void> {
  switch (command.action) {
    case "create":
      return createSnapshot(job, env, command.xml, command.flags, command.answer);
    case "revert":
      return revertSnapshot(job, env, command);
    case "delete":
      return deleteSnapshot(job, env, command);
  }
}

/** The largest snapshot document accepted, in bytes (as a domain definition's bound). */
export const SNAPSHOT_XML_MAX_BYTES = 4 * 1024 * 1024;

/** The snapshot `name` of the domain, or libvirt's code 72. */
export function findSnapshot(tree: SnapshotTree, name: string): StoredSnapshot {
  const found = Object.hasOwn(tree.snapshots, name) ? tree.snapshots[name] : undefined;
  if (found === undefined) {
    throw new VirtError(
      ErrorCode.NO_DOMAIN_SNAPSHOT,
      `no domain snapshot with matching name '${name}'`,
    );
  }
  return found;
}

function driverSnapshots(env: CommandEnvironment, definition: DomainDefinition): SnapshotDriver {
  const snapshots = env.driverFor(definition).snapshots;
  if (snapshots === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "virDomainSnapshotCreateXML",
    );
  }
  return snapshots;
}

function targetOf(job: JobContext, definition: DomainDefinition): SnapshotTarget {
  return isActive(job.snapshot) ? { definition, handle: handleOf(job.snapshot) } : { definition };
}

function refuseFlags(flags: number, driver: SnapshotDriver, api = driver.createFunction): never {
  throw new VirtError(
    ErrorCode.INVALID_ARG,
    `unsupported flags (0x${flags.toString(16)}) in function ${api}`,
    { bare: true },
  );
}

async function createSnapshot(
  job: JobContext,
  env: CommandEnvironment,
  xml: string,
  flags: SnapshotCreateFlags,
  answer: { name?: string },
): Promise<void> {
  requireCommand(job.snapshot, "snapshot");
  const domain = currentDefinition(job.snapshot);
  const driver = driverSnapshots(env, domain);
  checkCreateFlags(flags, driver);
  if (flags.redefine === true) {
    await redefineSnapshot(job, xml, flags, answer);
    return;
  }
  const active = isActive(job.snapshot);
  const diskOnly = flags.diskOnly === true;
  const { definition: requested } = parseSnapshotXml(xml, {
    maxBytes: SNAPSHOT_XML_MAX_BYTES,
    offline: !active || diskOnly,
  });
  const tree = snapshotTreeOf(job.snapshot);
  const creationTimeSeconds = Math.floor(env.now() / 1000);
  const name = requested.name ?? String(creationTimeSeconds);
  if (Object.hasOwn(tree.snapshots, name)) {
    throw new VirtError(ErrorCode.OPERATION_FAILED, `domain moment ${name} already exists`);
  }
  if (Object.keys(tree.snapshots).length >= SNAPSHOTS_PER_DOMAIN_MAX) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `domain has ${SNAPSHOTS_PER_DOMAIN_MAX} snapshots already: delete some first`,
    );
  }
  // As libvirt: only a disk-only snapshot or external memory makes the disks external by
  // default; otherwise a disk asked external is refused (it must use the internal mode).
  const external = diskOnly || requested.memory === "external";
  // An external disk's new image is qcow2 unless asked otherwise, and says so (as libvirt).
  const disks = alignDisks(requested.disks, domain, external ? "external" : "internal", name)
    .map((disk) =>
      disk.snapshot === "external" && disk.format === undefined
        ? { ...disk, format: "qcow2" }
        : disk
    );
  const state: SnapshotState = diskOnly ? "disk-snapshot" : snapshotState(job);
  const definition: StoredSnapshot["definition"] = {
    name,
    ...(requested.description === undefined ? {} : { description: requested.description }),
    state,
    ...(tree.current === null ? {} : { parent: tree.current }),
    creationTimeSeconds,
    memory: diskOnly || !active ? "no" : requested.memory ?? "internal",
    ...(requested.memoryFile === undefined ? {} : { memoryFile: requested.memoryFile }),
    disks,
    domain,
    ...(active && driver.keepsInactiveDefinition && job.snapshot.context.definition !== null
      ? { inactiveDomain: job.snapshot.context.definition }
      : {}),
  };
  const stored: StoredSnapshot = { definition };
  const metadata = flags.noMetadata !== true;
  if (external) {
    await createExternal(job, env, driver, stored, flags, metadata);
  } else {
    await createInternal(job, env, driver, stored, metadata);
  }
  answer.name = name;
  if (flags.halt === true && isActive(job.snapshot)) {
    const handle = handleOf(job.snapshot);
    await endInstance(job, env.driverFor(handle.definition), handle, {
      detail: "from_snapshot",
      reason: "from_snapshot",
    });
  }
}

function checkCreateFlags(flags: SnapshotCreateFlags, driver: SnapshotDriver): void {
  if (flags.quiesce === true) {
    // Freezing the guest's file systems needs its agent's fsfreeze, which evirt does not send.
    throw new VirtError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "quiescing a snapshot is not supported here",
    );
  }
  if (flags.current === true && flags.redefine !== true) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "use of 'current' flag in requires 'redefine' flag",
    );
  }
  if (flags.redefine === true && flags.noMetadata === true) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA' are mutually exclusive",
      { bare: true },
    );
  }
  if (flags.live === true) {
    refuseFlags(SNAPSHOT_CREATE_FLAG_BITS.live, driver);
  }
  if (flags.diskOnly === true && driver.createExternal === undefined) {
    refuseFlags(SNAPSHOT_CREATE_FLAG_BITS.diskOnly, driver);
  }
  if (flags.noMetadata === true && driver.metadataOnly) {
    // libvirt's test driver keeps snapshots only as metadata, so refuses to keep none.
    refuseFlags(SNAPSHOT_CREATE_FLAG_BITS.noMetadata, driver);
  }
}

/** The snapshot state of the domain's state now. */
function snapshotState(job: JobContext): SnapshotState {
  switch (statePath(job.snapshot)) {
    case "active.running":
      return "running";
    case "active.paused":
    case "active.starting":
      return "paused";
    case "active.shuttingDown":
      return "shutdown";
    case "active.crashed":
      return "crashed";
    case "active.pmsuspended":
      return "pmsuspended";
    default:
      return "shutoff";
  }
}

/**
 * One snapshot disk per domain disk, in the domain's order (libvirt's virDomainSnapshotAlignDisks):
 * the user's choices checked against the domain's disks, the others by default (`no` for an
 * empty drive, the disk's own `snapshot` attribute, else `location`), and external files named
 * `<image without suffix>.<snapshot name>` where none was given.
 */
export function alignDisks(
  requested: readonly SnapshotDisk[],
  domain: DomainDefinition,
  location: "internal" | "external",
  snapshotName: string,
): SnapshotDisk[] {
  const domainDisks = domain.devices.disks;
  if (requested.length > domainDisks.length) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "too many disk snapshot requests for domain");
  }
  const byTarget = new Map<string, SnapshotDisk>();
  for (const disk of requested) {
    const match = domainDisks.find((each) =>
      each.target.dev === disk.name || sourcePath(each) === disk.name
    );
    if (match === undefined) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `no disk named '${disk.name}'`);
    }
    if (byTarget.has(match.target.dev)) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${disk.name}' specified twice`);
    }
    const own = match.snapshot as SnapshotDisk["snapshot"] | undefined;
    let chosen = disk.snapshot;
    if (chosen === undefined) {
      chosen = own !== undefined && (location !== "internal" || own === "no") ? own : location;
    } else if (
      location === "internal" && chosen !== location && !(chosen === "no" && own === "no")
    ) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `disk '${disk.name}' must use snapshot mode '${location}'`,
      );
    }
    if (disk.path !== undefined && chosen !== "external") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `file '${disk.path}' for disk '${disk.name}' requires use of external snapshot mode`,
      );
    }
    byTarget.set(match.target.dev, { ...disk, name: match.target.dev, snapshot: chosen });
  }
  const aligned = domainDisks.map((each): SnapshotDisk => {
    const given = byTarget.get(each.target.dev);
    if (given !== undefined) return given;
    const own = each.snapshot as SnapshotDisk["snapshot"] | undefined;
    const empty = sourcePath(each) === undefined;
    return {
      name: each.target.dev,
      type: "file",
      snapshot: empty ? "no" : own ?? location,
    };
  });
  for (const [index, disk] of aligned.entries()) {
    if (disk.snapshot !== "external" || disk.path !== undefined) continue;
    if (disk.type !== "file") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `cannot generate external snapshot name for disk '${disk.name}' on a '${disk.type}' device`,
      );
    }
    const origin = sourcePath(domainDisks[index]);
    if (origin === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `cannot generate external snapshot name for disk '${disk.name}' without source`,
      );
    }
    const slash = origin.lastIndexOf("/");
    const dot = origin.lastIndexOf(".");
    const stem = dot > slash ? origin.slice(0, dot) : origin;
    const path = `${stem}.${snapshotName}`;
    const clash = aligned.slice(0, index).find((other) => other.path === path);
    if (clash !== undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `cannot generate external snapshot name for disk '${disk.name}': collision with disk '${clash.name}'`,
      );
    }
    aligned[index] = { ...disk, path };
  }
  return aligned;
}

function sourcePath(disk: DomainDefinition["devices"]["disks"][number]): string | undefined {
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  return path === undefined || path === "" ? undefined : path;
}

function disksIn(definition: SnapshotDefinition, location: "internal" | "external"): string[] {
  return definition.disks.filter((disk) => disk.snapshot === location).map((disk) => disk.name);
}

async function createInternal(
  job: JobContext,
  env: CommandEnvironment,
  driver: SnapshotDriver,
  stored: StoredSnapshot,
  metadata: boolean,
): Promise<void> {
  const { definition } = stored;
  const domain = definition.domain!;
  const disks = disksIn(definition, "internal");
  driver.checkInternal(domain, disks);
  const tree = snapshotTreeOf(job.snapshot);
  await job.append([{
    type: "domain.snapshot_creating",
    body: { name: definition.name, internal: true, overlays: [] },
  }]);
  const running = statePath(job.snapshot) === "active.running";
  const target = targetOf(job, domain);
  try {
    if (running && target.handle !== undefined) {
      await env.driverFor(domain).pause(target.handle, job.signal);
      await job.append([{
        type: "domain.suspended",
        body: { detail: "paused", reason: "snapshot" },
      }]);
    }
    try {
      await driver.createInternal(target, definition.name, disks, job.signal);
    } finally {
      if (running && target.handle !== undefined) {
        await env.driverFor(domain).resume(target.handle, job.signal);
        await job.append([{
          type: "domain.resumed",
          body: { detail: "unpaused", reason: "unpaused" },
        }]);
      }
    }
  } catch (error) {
    await abandonIntent(job, "snapshot_create");
    throw error;
  }
  await job.append([{
    type: "domain.snapshot_created",
    body: { snapshot: stored, metadata, current: metadata || tree.current === null },
  }]);
}

async function createExternal(
  job: JobContext,
  env: CommandEnvironment,
  driver: SnapshotDriver,
  stored: StoredSnapshot,
  flags: SnapshotCreateFlags,
  metadata: boolean,
): Promise<void> {
  const { definition } = stored;
  const domain = definition.domain!;
  if (disksIn(definition, "internal").length > 0 || definition.memory === "internal") {
    // libvirt refuses mixing internal and external disks (or memory) in one snapshot.
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "mixing internal and external targets for a snapshot is not yet supported",
    );
  }
  const memoryFile = definition.memory === "external" ? definition.memoryFile : undefined;
  const overlays = overlaysOf(definition, domain, flags.reuseExternal === true);
  if (overlays.length === 0 && memoryFile === undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "disk-only snapshots require at least one disk to be selected for snapshot",
    );
  }
  if (overlays.length > 0 && driver.createExternal === undefined) {
    refuseFlags(SNAPSHOT_CREATE_FLAG_BITS.diskOnly, driver);
  }
  for (const overlay of overlays) {
    if (!overlay.reuse && await exists(overlay.path)) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `external snapshot file for disk ${overlay.disk} already exists and is not a block device: ${overlay.path}`,
      );
    }
  }
  const target = targetOf(job, domain);
  const saveState = memoryFile === undefined ? undefined : memorySaver(env, domain);
  const created = overlays.filter((overlay) => !overlay.reuse).map((overlay) => overlay.path);
  const tops = overlays.map((overlay) => ({
    disk: overlay.disk,
    top: { type: "file", path: overlay.path, format: overlay.format, index: 0 } as ChainLayer,
  }));
  await job.append([{
    type: "domain.snapshot_creating",
    body: {
      name: definition.name,
      internal: false,
      overlays: created,
      ...(memoryFile === undefined ? {} : { memoryFile }),
      ...(target.handle === undefined
        ? {}
        : { finish: { snapshot: stored, metadata, overlays: tops } }),
    },
  }]);
  // As libvirt's QEMU driver: a running guest is paused while its memory is written, and runs
  // again once its disks are on the overlays.
  const paused = memoryFile !== undefined && statePath(job.snapshot) === "active.running";
  try {
    if (paused) await pauseForSnapshot(job, env, target);
    if (saveState !== undefined) {
      await saveState(target.handle!, {
        path: memoryFile!,
        xml: formatDomainXml(domain, { inactive: true, secure: true }),
        wasRunning: paused,
        raw: true,
      }, job.signal);
    }
    if (overlays.length > 0) await driver.createExternal!(target, overlays, job.signal);
  } catch (error) {
    if (memoryFile !== undefined) await Deno.remove(memoryFile).catch(() => {});
    if (paused) await resumeAfterSnapshot(job, env, target).catch(() => {});
    await abandonIntent(job, "snapshot_create");
    throw error;
  }
  const fact: DomainFact = {
    type: "domain.snapshot_created",
    body: {
      snapshot: stored,
      metadata,
      current: metadata,
      overlays: tops,
      live: target.handle !== undefined,
    },
  };
  await job.append([fact]);
  if (paused && flags.halt !== true) await resumeAfterSnapshot(job, env, target);
}

/** The driver's memory saver for an external memory snapshot; refused where there is none. */
function memorySaver(env: CommandEnvironment, domain: DomainDefinition) {
  const driver = env.driverFor(domain);
  if (driver.saveState === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "virDomainSnapshotCreateXML",
    );
  }
  return driver.saveState.bind(driver);
}

async function pauseForSnapshot(
  job: JobContext,
  env: CommandEnvironment,
  target: SnapshotTarget,
): Promise<void> {
  await env.driverFor(target.definition).pause(target.handle!, job.signal);
  await job.append([{ type: "domain.suspended", body: { detail: "paused", reason: "snapshot" } }]);
}

async function resumeAfterSnapshot(
  job: JobContext,
  env: CommandEnvironment,
  target: SnapshotTarget,
): Promise<void> {
  await env.driverFor(target.definition).resume(target.handle!, job.signal);
  await job.append([{
    type: "domain.resumed",
    body: { detail: "unpaused", reason: "unpaused" },
  }]);
}

function overlaysOf(
  definition: SnapshotDefinition,
  domain: DomainDefinition,
  reuse: boolean,
): SnapshotOverlay[] {
  const overlays: SnapshotOverlay[] = [];
  for (const disk of definition.disks) {
    if (disk.snapshot !== "external") continue;
    const domainDisk = domain.devices.disks.find((each) => each.target.dev === disk.name)!;
    const backingPath = sourcePath(domainDisk);
    if (backingPath === undefined || disk.path === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `cannot take an external snapshot of disk '${disk.name}' without source`,
      );
    }
    if (disk.type !== "file" || (domainDisk.type ?? "file") !== "file") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `external snapshot of disk '${disk.name}' needs file storage here`,
      );
    }
    const format = disk.format ?? "qcow2";
    if (format !== "qcow2") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `external snapshot format for disk ${disk.name} is unsupported: ${format}`,
      );
    }
    overlays.push({
      disk: disk.name,
      path: disk.path,
      format,
      backingPath,
      backingFormat: domainDisk.driver?.type ?? "raw",
      reuse,
    });
  }
  return overlays;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** `--redefine`: a stored document recorded as it is; no image is touched. */
async function redefineSnapshot(
  job: JobContext,
  xml: string,
  flags: SnapshotCreateFlags,
  answer: { name?: string },
): Promise<void> {
  const { definition } = parseSnapshotXml(xml, {
    maxBytes: SNAPSHOT_XML_MAX_BYTES,
    redefine: true,
  });
  const name = definition.name!;
  const { context } = job.snapshot;
  const tree = snapshotTreeOf(job.snapshot);
  if (flags.diskOnly === true && definition.state !== "disk-snapshot") {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `disk-only flag for snapshot ${name} requires disk-snapshot state`,
    );
  }
  if (definition.domain !== undefined && definition.domain.uuid !== context.uuid) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `definition for snapshot ${name} must use uuid ${context.uuid}`,
    );
  }
  const other = Object.hasOwn(tree.snapshots, name) ? tree.snapshots[name] : undefined;
  if (other !== undefined) {
    const online = (state?: string) => state === "running" || state === "paused";
    if (online(other.definition.state) !== online(definition.state)) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `cannot change between online and offline snapshot state in snapshot ${name}`,
      );
    }
    if (
      (other.definition.state === "disk-snapshot") !== (definition.state === "disk-snapshot")
    ) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `cannot change between disk only and full system in snapshot ${name}`,
      );
    }
  }
  if (definition.parent !== undefined) {
    if (!Object.hasOwn(tree.snapshots, definition.parent)) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `parent ${definition.parent} for snapshot ${name} not found`,
      );
    }
    if (definition.parent === name || descendantsOf(tree, name).includes(definition.parent)) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `parent ${definition.parent} would create cycle to ${name}`,
      );
    }
  }
  const stored: StoredSnapshot = {
    definition: {
      ...definition,
      name,
      creationTimeSeconds: definition.creationTimeSeconds ?? 0,
      ...(definition.domain === undefined && other?.definition.domain !== undefined
        ? { domain: other.definition.domain }
        : {}),
    },
  };
  await job.append([{
    type: "domain.snapshot_created",
    body: { snapshot: stored, metadata: true, current: flags.current === true },
  }]);
  answer.name = name;
}

async function revertSnapshot(
  job: JobContext,
  env: CommandEnvironment,
  request: { name: string; running?: boolean; paused?: boolean; force?: boolean },
): Promise<void> {
  if (request.running === true && request.paused === true) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive",
      { bare: true },
    );
  }
  requireCommand(job.snapshot, "snapshot");
  const { context } = job.snapshot;
  const snapshot = findSnapshot(snapshotTreeOf(job.snapshot), request.name);
  const definition = snapshot.definition;
  const withMemory = definition.state === "running" || definition.state === "paused";
  if (!context.persistent && !withMemory && request.running !== true && request.paused !== true) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "transient domain needs to request run or pause to revert to inactive snapshot",
    );
  }
  if (isExternal(definition)) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "revert to external snapshot not supported yet",
    );
  }
  if (definition.domain === undefined) {
    throw new VirtError(
      ErrorCode.SNAPSHOT_REVERT_RISKY,
      `snapshot '${definition.name}' lacks domain '${context.name}' rollback info`,
    );
  }
  if (request.force !== true && context.managedSave && !withMemory) {
    throw new VirtError(
      ErrorCode.SNAPSHOT_REVERT_RISKY,
      "snapshot without memory state, removal of existing managed saved state strongly recommended to avoid corruption",
    );
  }
  if (definition.state === "pmsuspended") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      "qemu doesn't support reversion of snapshot taken in PMSUSPENDED state",
    );
  }
  if (Object.keys(context.blockJobs ?? {}).length > 0) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain has active block job");
  }
  const driver = driverSnapshots(env, definition.domain);
  // The snapshot's definitions, under the domain's present name (libvirt keeps the name).
  const config: DomainDefinition = { ...definition.domain, name: context.name };
  const inactive: DomainDefinition = definition.inactiveDomain === undefined
    ? config
    : { ...definition.inactiveDomain, name: context.name };
  await job.append([{
    type: "domain.snapshot_reverting",
    body: {
      name: definition.name,
      ...(request.running === true ? { running: true } : {}),
      ...(request.paused === true ? { paused: true } : {}),
    },
  }]);
  try {
    if (isActive(job.snapshot)) {
      const handle = handleOf(job.snapshot);
      await endInstance(job, env.driverFor(handle.definition), handle, {
        detail: "from_snapshot",
        reason: "from_snapshot",
      });
    }
    if (!withMemory) {
      await driver.revertInternal(
        config,
        definition.name,
        disksIn(definition, "internal"),
        job.signal,
      );
    }
    if (job.snapshot.context.persistent) {
      await job.append([{
        type: "domain.defined",
        body: { definition: inactive, detail: "from_snapshot" },
      }]);
    }
    if (withMemory) {
      const paused = request.running !== true &&
        (definition.state === "paused" || request.paused === true);
      await start(job, env, {
        paused: true,
        definition: config,
        fromSnapshot: { name: definition.name, paused, inactive: false },
      });
    } else if (request.running === true || request.paused === true) {
      await start(job, env, {
        paused: true,
        definition: inactive,
        fromSnapshot: { paused: request.paused === true, inactive: true },
      });
    }
  } catch (error) {
    await abandonIntent(job, "snapshot_revert");
    throw error;
  }
  await job.append([{ type: "domain.snapshot_reverted", body: { name: definition.name } }]);
}

async function deleteSnapshot(
  job: JobContext,
  env: CommandEnvironment,
  request: { name: string; children?: boolean; childrenOnly?: boolean; metadataOnly?: boolean },
): Promise<void> {
  if (request.children === true && request.childrenOnly === true) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN' and 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY' are mutually exclusive",
      { bare: true },
    );
  }
  requireCommand(job.snapshot, "snapshot");
  const tree = snapshotTreeOf(job.snapshot);
  if (request.metadataOnly === true) {
    const driver = driverSnapshots(env, currentDefinition(job.snapshot));
    // libvirt's flag number of VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY.
    if (driver.metadataOnly) refuseFlags(2, driver, driver.deleteFunction);
  }
  const snapshot = findSnapshot(tree, request.name);
  const below = request.children === true || request.childrenOnly === true
    ? descendantsOf(tree, request.name)
    : [];
  const names = request.childrenOnly === true ? below : [request.name, ...below];
  if (names.length === 0) return;
  if (request.metadataOnly === true) {
    await job.append([{ type: "domain.snapshot_deleted", body: { names } }]);
    return;
  }
  if (below.some((name) => isExternal(tree.snapshots[name].definition))) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "deletion of external children disk snapshots not supported",
    );
  }
  const domain = snapshot.definition.domain ?? currentDefinition(job.snapshot);
  const driver = driverSnapshots(env, domain);
  const target: SnapshotTarget = isActive(job.snapshot)
    ? { definition: currentDefinition(job.snapshot), handle: handleOf(job.snapshot) }
    : { definition: currentDefinition(job.snapshot) };
  // Checked (and each disk's chain read) before anything is written, as libvirt 9.0.
  const merges = new Map<string, SnapshotMerge[]>();
  for (const name of names) {
    if (isExternal(tree.snapshots[name].definition)) {
      merges.set(name, await externalMerges(job, tree, name, driver));
    }
  }
  await job.append([{ type: "domain.snapshot_deleting", body: { names } }]);
  // Children first, so a failure part way leaves a tree whose survivors still have parents;
  // what was removed from the images before a failure leaves the tree too.
  const removed: string[] = [];
  const chains: { disk: string; config?: BlockJobResult; live?: BlockJobResult }[] = [];
  const record = () =>
    job.append([{
      type: "domain.snapshot_deleted",
      body: { names: removed, ...(chains.length === 0 ? {} : { chains }) },
    }]);
  try {
    for (const name of [...names].reverse()) {
      const stored = tree.snapshots[name].definition;
      const external = merges.get(name);
      if (external !== undefined && external.length > 0) {
        await driver.deleteExternal!(target, external, job.signal);
        chains.push(...external.map((merge) => mergedChain(job, merge)));
      }
      const disks = disksIn(stored, "internal");
      if (external === undefined && disks.length > 0) {
        const internalTarget = isActive(job.snapshot)
          ? target
          : { definition: stored.domain ?? currentDefinition(job.snapshot) };
        await driver.deleteInternal(internalTarget, name, disks, job.signal);
      }
      removed.push(name);
    }
  } catch (error) {
    if (removed.length > 0) {
      await record();
    } else {
      await abandonIntent(job, "snapshot_delete");
    }
    throw error;
  }
  await record();
}

/**
 * The disks' overlays an external snapshot's deletion folds (libvirt 9.0's checks): one child
 * at most; each overlay found in its disk's chain with an image below it. A snapshot of the
 * memory only has none: only its record goes (its memory image stays, as libvirt keeps it).
 */
async function externalMerges(
  job: JobContext,
  tree: SnapshotTree,
  name: string,
  driver: SnapshotDriver,
): Promise<SnapshotMerge[]> {
  // Snapshots that are records only (libvirt's test driver) leave with their record.
  if (driver.metadataOnly) return [];
  const children = Object.values(tree.snapshots).filter((each) => each.definition.parent === name);
  if (children.length > 1) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "deletion of external disk snapshot with multiple children snapshots not supported",
    );
  }
  const overlays = tree.snapshots[name].definition.disks.filter((disk) =>
    disk.snapshot === "external" && disk.path !== undefined
  );
  if (overlays.length === 0) return [];
  if (driver.deleteExternal === undefined) refuseFlags(0, driver, driver.deleteFunction);
  const merges: SnapshotMerge[] = [];
  for (const overlay of overlays) {
    const chain = await chainOf(job, overlay.name);
    const position = chain.findIndex((layer) => layer.path === overlay.path);
    if (position < 0) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        "snapshot VM disk source and snapshot disk source are not the same",
      );
    }
    if (position + 1 >= chain.length) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        "snapshot disk source and VM disk source backing store are not the same",
      );
    }
    merges.push({ disk: overlay.name, chain, position });
  }
  return merges;
}

/** A disk's chain, top first: the running instance's, else as the shut-off disk's images say. */
async function chainOf(job: JobContext, target: string): Promise<ChainLayer[]> {
  const { context } = job.snapshot;
  if (isActive(job.snapshot) && context.live !== null) {
    const index = context.live.devices.disks.findIndex((disk) => disk.target.dev === target);
    return index < 0 ? [] : diskChain(context.live, context.runtime, index);
  }
  const disk = currentDefinition(job.snapshot).devices.disks.find((each) =>
    each.target.dev === target
  );
  if (disk === undefined) return [];
  const [top] = writtenChain(disk);
  if (top === undefined) return [];
  const below = await readBackingChain(top.path, top.format) ?? [];
  return [
    top,
    ...below.map((layer, index): ChainLayer => ({
      type: "file",
      path: layer.path,
      format: layer.format,
      index: index + 1,
    })),
  ];
}

/** A disk's chain once the overlay left it, for the running instance and the definition. */
function mergedChain(
  job: JobContext,
  merge: SnapshotMerge,
): { disk: string; config?: BlockJobResult; live?: BlockJobResult } {
  const kept = merge.chain.filter((_, index) => index !== merge.position);
  const result = { top: kept[0], backing: kept.slice(1) };
  const { context } = job.snapshot;
  const config = context.definition?.devices.disks.find((disk) => disk.target.dev === merge.disk);
  const configTop = config === undefined ? undefined : writtenChain(config)[0]?.path;
  return {
    disk: merge.disk,
    ...(configTop === merge.chain[0].path ? { config: result } : {}),
    ...(isActive(job.snapshot) ? { live: result } : {}),
  };
}
