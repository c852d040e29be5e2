/**
 * The commands on one storage pool and its volumes, each a job in the pool's queue: build,
 * start, destroy, delete, refresh, autostart, and volume create, delete and resize; plus the
 * reads (info, XML, volume lookups, a volume's job) and recovery's reconciliation. The long
 * volume operations — a clone, a create that fills its file, a wipe, an upload — record their
 * intent in the queue and run outside it as volume jobs (`volume_job_runner.ts`,
 * `volume_jobs.ts`), so other volumes of the pool are served meanwhile.
 *
 * Each command checks the pool's state with libvirt's codes and messages first, then records
 * an intent before it changes the host, then the outcome (or `storage.intent_abandoned` when the
 * change failed and nothing is left of it). The work on the host is the pool type's backend
 * (`dir`, `fs`, `logical`: src/storage/pool_backend.ts).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { VolumeRecord } from "../src/model/storage_facts.ts";
import type { PoolDefinition, PoolFigures } from "../src/model/storage_pool.ts";
import type { VolumeDefinition } from "../src/model/storage_volume.ts";
import { type BuildMode, type PoolBackend, poolBackendOf } from "../src/storage/pool_backend.ts";
import { volumeDetails } from "../src/storage/volume_details.ts";
import { probeVolume } from "../src/storage/volume_probe.ts";
import { PoolScanner } from "../src/storage/pool_scanner.ts";
import { noVolumeChanges, type VolumeChanges } from "../src/storage/volume_changes.ts";
import { formatPoolXml } from "../src/xml/format_storage_pool.ts";
import { formatVolumeXml } from "../src/xml/format_storage_volume.ts";
import { parseVolumeXml } from "../src/xml/parse_storage_volume.ts";
import { definitionOf, type PoolActor } from "./pool_actor.ts";
import { finishPoolIntent, finishVolumeJobs } from "./pool_recovery.ts";
import { type VolumeJob, VolumeJobs } from "./volume_jobs.ts";
import { beginVolumeJob, cancellablePieces, runVolumeJob } from "./volume_job_runner.ts";
import type { VolumeWork } from "../src/storage/dir_pool.ts";
import type { SparsePiece } from "../src/storage/sparse_stream.ts";
import {
  type ReadOptions,
  readVolumeRange,
  type TransferRange,
  writeVolumeRange,
} from "../src/storage/volume_transfer.ts";
import { isPoolActive, jobMakesVolume, poolStateName, poolStateOf } from "./pool_machine.ts";
import type { StoragePools } from "./storage_pools.ts";

/** `VIR_STORAGE_POOL_BUILD_NO_OVERWRITE`, `_OVERWRITE`. */
const BUILD_NO_OVERWRITE = 4;
const BUILD_OVERWRITE = 8;
/** `VIR_STORAGE_POOL_CREATE_WITH_BUILD`, `_OVERWRITE`, `_NO_OVERWRITE`. */
const START_WITH_BUILD = 1;
const START_WITH_BUILD_OVERWRITE = 2;
const START_WITH_BUILD_NO_OVERWRITE = 4;
/** `VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA`. */
const VOLUME_PREALLOC_METADATA = 1;
/** `VIR_STORAGE_VOL_RESIZE_ALLOCATE`, `_DELTA`, `_SHRINK`. */
const RESIZE_ALLOCATE = 1;
const RESIZE_DELTA = 2;
const RESIZE_SHRINK = 4;

/** libvirt's volume type numbers (virStorageVolType). */
const VOLUME_TYPE_NUMBERS: Readonly<Record<string, number>> = {
  file: 0,
  block: 1,
  dir: 2,
  network: 3,
  netdir: 4,
  ploop: 5,
};

/** A pool's info, as `virStoragePoolGetInfo` answers it. */
export interface PoolInfo {
  state: number;
  figures: PoolFigures;
}

/** The job a volume is busy with, as the job view shows it (evirt's; libvirt has none). */
export interface VolumeJobView {
  /** The pool's uuid. */
  pool: string;
  volume: string;
  /** The job, or null when the volume is idle. */
  job: VolumeJob | null;
}

/** A volume's info, as `virStorageVolGetInfo` answers it. */
export interface VolumeInfo {
  type: number;
  capacityBytes: number;
  allocationBytes: number;
  /** A file's length (`vol-info --physical`). */
  physicalBytes: number;
}

/** Rejects flags outside `allowed` as libvirt does (code 8). */
function checkFlags(flags: number, allowed: number, api: string): void {
  const unknown = (flags & ~allowed) >>> 0;
  if (unknown !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `unsupported flags (0x${unknown.toString(16)}) in function ${api}`,
      { where: "flags" },
    );
  }
}

function notActive(actor: PoolActor): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_INVALID,
    `storage pool '${definitionOf(actor).name}' is not active`,
  );
}

function requireActive(actor: PoolActor): void {
  if (!isPoolActive(actor.snapshot)) throw notActive(actor);
}

function requireInactive(actor: PoolActor, wording: "already" | "still"): void {
  if (isPoolActive(actor.snapshot)) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `storage pool '${definitionOf(actor).name}' is ${wording} active`,
    );
  }
}

function targetOf(actor: PoolActor): string {
  const path = definitionOf(actor).targetPath;
  if (path === undefined) throw new Error(`Pool ${actor.uuid} has no target path`);
  return path;
}

function backendOf(actor: PoolActor): { definition: PoolDefinition; backend: PoolBackend } {
  const definition = definitionOf(actor);
  return { definition, backend: poolBackendOf(definition) };
}

function buildModeOf(overwrite: boolean, noOverwrite: boolean): BuildMode {
  return overwrite ? "overwrite" : noOverwrite ? "no-overwrite" : "default";
}

function safeBytes(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.OVERFLOW, `${what} ${value} is larger than evirt supports`);
  }
  return Number(value);
}

/** The commands of every pool (see the module doc). */
export class PoolCommands {
  readonly #pools: StoragePools;
  /** The uploads and downloads volumes are busy with. */
  readonly jobs: VolumeJobs = new VolumeJobs();
  /** The worker thread that lists pool directories (closed with the pools). */
  readonly scanner: PoolScanner = new PoolScanner();
  /**
   * The running domains that use a volume (pool name, volume name, path), when the service
   * has domains: such a volume is not deleted.
   */
  volumeUsers: ((pool: string, volume: string, path: string) => string[]) | undefined;

  /** @param pools The registry the commands look pools up in. */
  constructor(pools: StoragePools) {
    this.#pools = pools;
  }

  /**
   * Makes the pool's target directory (`pool-build`).
   *
   * @throws {VirtError} Code 55 while active, 8 for both overwrite flags, 38 when mkdir fails.
   */
  async build(uuid: string, flags: number): Promise<void> {
    checkFlags(flags, 1 | 2 | BUILD_NO_OVERWRITE | BUILD_OVERWRITE, "virStoragePoolBuild");
    if ((flags & BUILD_OVERWRITE) !== 0 && (flags & BUILD_NO_OVERWRITE) !== 0) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "Flags 'VIR_STORAGE_POOL_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_BUILD_NO_OVERWRITE' are mutually exclusive",
      );
    }
    const actor = this.#pools.byUuid(uuid);
    return await actor.run("build", async () => {
      requireInactive(actor, "already");
      await this.#build(
        actor,
        buildModeOf((flags & BUILD_OVERWRITE) !== 0, (flags & BUILD_NO_OVERWRITE) !== 0),
      );
    });
  }

  async #build(actor: PoolActor, mode: BuildMode): Promise<void> {
    const path = targetOf(actor);
    const { definition, backend } = backendOf(actor);
    const formatting = backend.formatting(definition, mode);
    await actor.append([{
      type: "pool.building",
      body: { path, overwrite: mode === "overwrite", ...(formatting ?? {}) },
    }]);
    try {
      await backend.build(definition, mode);
    } catch (error) {
      await actor.append([{ type: "storage.intent_abandoned", body: { intent: "build" } }]);
      throw error;
    }
    await actor.append([{ type: "pool.built", body: {} }]);
  }

  /**
   * Starts the pool (`pool-start`), building it first when asked, then refreshes it.
   *
   * @throws {VirtError} Code 55 when already active, 38 when the directory is missing.
   */
  async start(uuid: string, flags: number): Promise<void> {
    checkFlags(
      flags,
      START_WITH_BUILD | START_WITH_BUILD_OVERWRITE | START_WITH_BUILD_NO_OVERWRITE,
      "virStoragePoolCreate",
    );
    if (
      (flags & START_WITH_BUILD_OVERWRITE) !== 0 && (flags & START_WITH_BUILD_NO_OVERWRITE) !== 0
    ) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "Flags 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE' are mutually exclusive",
      );
    }
    const actor = this.#pools.byUuid(uuid);
    return await actor.run("start", async () => {
      requireInactive(actor, "already");
      if (flags !== 0) {
        await this.#build(
          actor,
          buildModeOf(
            (flags & START_WITH_BUILD_OVERWRITE) !== 0,
            (flags & START_WITH_BUILD_NO_OVERWRITE) !== 0,
          ),
        );
      }
      const { definition, backend } = backendOf(actor);
      const command = backend.startCommand(definition);
      if (command !== undefined) await actor.append([{ type: "pool.starting", body: { command } }]);
      let changes: VolumeChanges;
      try {
        await backend.start(definition);
        // An inactive pool knows no volumes: every one found is a change.
        changes = await backend.scanChanges(definition, {}, this.scanner);
      } catch (error) {
        if (command !== undefined) {
          // A mount or activation that did happen is undone, so the pool is wholly inactive.
          if (await backend.isStarted(definition)) await backend.stop(definition).catch(() => {});
          await actor.append([{ type: "storage.intent_abandoned", body: { intent: "start" } }]);
        }
        throw error;
      }
      const degradation = await backend.degradation(definition).catch(() => undefined);
      await actor.append([
        { type: "pool.started", body: {} },
        { type: "pool.refreshed", body: changes },
        ...(degradation === undefined
          ? []
          : [{ type: "pool.degraded" as const, body: { reason: degradation } }]),
      ]);
    });
  }

  /**
   * Stops the pool (`pool-destroy`); a transient pool is then forgotten.
   *
   * @throws {VirtError} Code 55 when not active.
   */
  async destroy(uuid: string): Promise<void> {
    const actor = this.#pools.byUuid(uuid);
    let forget = false;
    await actor.run("destroy", async () => {
      requireActive(actor);
      this.#refuseWhileJobs(actor, false);
      forget = !actor.snapshot.context.persistent;
      const { definition, backend } = backendOf(actor);
      const command = backend.stopCommand(definition);
      if (command !== undefined) {
        await actor.append([{ type: "pool.stopping", body: { command } }]);
        try {
          await backend.stop(definition);
        } catch (error) {
          // A source already gone (an inaccessible pool) is stopped all the same.
          if (await backend.isStarted(definition).catch(() => true)) {
            await actor.append([{ type: "storage.intent_abandoned", body: { intent: "stop" } }]);
            throw error;
          }
        }
      }
      await actor.append([{ type: "pool.stopped", body: {} }]);
    });
    if (forget) await this.#pools.undefine(uuid);
  }

  /**
   * Removes the pool's (empty) target directory (`pool-delete`).
   *
   * @throws {VirtError} Code 55 while active, 38 when it cannot be removed.
   */
  async delete(uuid: string, flags: number): Promise<void> {
    checkFlags(flags, 0, "virStoragePoolDelete");
    const actor = this.#pools.byUuid(uuid);
    return await actor.run("delete", async () => {
      requireInactive(actor, "still");
      const path = targetOf(actor);
      await actor.append([{ type: "pool.deleting", body: { path } }]);
      const { definition, backend } = backendOf(actor);
      try {
        await backend.remove(definition);
      } catch (error) {
        await actor.append([{ type: "storage.intent_abandoned", body: { intent: "delete" } }]);
        throw error;
      }
      await actor.append([{ type: "pool.deleted", body: {} }]);
    });
  }

  /**
   * Lists the pool's directory again (`pool-refresh`); a pool whose directory is gone becomes
   * inaccessible.
   *
   * @throws {VirtError} Code 55 when not active.
   */
  async refresh(uuid: string): Promise<void> {
    const actor = this.#pools.byUuid(uuid);
    return await actor.run("refresh", async () => {
      requireActive(actor);
      this.#refuseWhileJobs(actor, true);
      await this.#refresh(actor, true);
    });
  }

  /**
   * Refuses while volume jobs run in the pool, as libvirt refuses with asynchronous jobs: a
   * refresh only while volumes are being made (it would count them), a stop while any runs.
   */
  #refuseWhileJobs(actor: PoolActor, makingOnly: boolean): void {
    const jobs = Object.values(actor.snapshot.context.jobs).filter((job) =>
      !makingOnly || jobMakesVolume(job.job)
    );
    if (jobs.length > 0 || (!makingOnly && this.jobs.countIn(actor.uuid) > 0)) {
      // libvirt's code for it is 1 (internal error), not 55.
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `pool '${definitionOf(actor).name}' has asynchronous jobs running.${
          this.jobs.busyText(actor.uuid)
        }`,
      );
    }
  }

  /** Lists the directory; unless `always`, records nothing when the volumes are as known. */
  async #refresh(actor: PoolActor, always: boolean): Promise<void> {
    const { definition, backend } = backendOf(actor);
    try {
      if (definition.type !== "dir" && !(await backend.isStarted(definition))) {
        throw new VirtError(
          ErrorCode.SYSTEM_ERROR,
          definition.type === "fs"
            ? `storage pool '${definition.name}': '${
              definition.source.devices[0]?.path
            }' is not mounted on '${definition.targetPath}'`
            : `storage pool '${definition.name}': volume group '${
              definition.source.name ?? definition.name
            }' is not there`,
        );
      }
      // A volume a job is still making is not counted: it is half-made until its job ends.
      const making = actor.snapshot.context.jobs;
      const found = await backend.scanChanges(
        definition,
        actor.snapshot.context.volumes,
        this.scanner,
      );
      const changes: VolumeChanges = {
        changed: found.changed.filter((record) =>
          making[record.name] === undefined || !jobMakesVolume(making[record.name].job)
        ),
        removed: found.removed,
      };
      const degradation = await backend.degradation(definition);
      const unchanged = poolStateName(actor.snapshot) === "running" &&
        degradation === undefined && noVolumeChanges(changes);
      if (unchanged && !always) return;
      await actor.append([
        { type: "pool.refreshed", body: changes },
        ...(degradation === undefined
          ? []
          : [{ type: "pool.degraded" as const, body: { reason: degradation } }]),
      ]);
    } catch (error) {
      if (
        !(error instanceof VirtError) ||
        (error.code !== ErrorCode.SYSTEM_ERROR && error.code !== ErrorCode.INTERNAL_ERROR)
      ) throw error;
      if (poolStateName(actor.snapshot) !== "inaccessible") {
        await actor.append([{ type: "pool.inaccessible", body: { reason: error.message } }]);
      }
      throw error;
    }
  }

  /**
   * Sets autostart.
   *
   * @throws {VirtError} Code 55 for a transient pool.
   */
  async setAutostart(uuid: string, autostart: boolean): Promise<void> {
    const actor = this.#pools.byUuid(uuid);
    return await actor.run("autostart", async () => {
      if (!actor.snapshot.context.persistent) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, "cannot set autostart for transient pool");
      }
      if (actor.snapshot.context.autostart === autostart) return;
      await actor.append([{ type: "pool.autostart_changed", body: { autostart } }]);
    });
  }

  /** The pool's state and file system figures (zero while inactive). */
  async info(uuid: string): Promise<PoolInfo> {
    const actor = this.#pools.byUuid(uuid);
    const state = poolStateOf(actor.snapshot);
    // An inaccessible pool's source cannot be measured: its figures are zero.
    if (!isPoolActive(actor.snapshot) || poolStateName(actor.snapshot) === "inaccessible") {
      return { state, figures: { capacityBytes: 0n, allocationBytes: 0n, availableBytes: 0n } };
    }
    const { definition, backend } = backendOf(actor);
    return { state, figures: await backend.figures(definition) };
  }

  /** The pool's XML: the running definition with live figures, or (inactive) the next one. */
  async xml(uuid: string, inactive: boolean): Promise<string> {
    const actor = this.#pools.byUuid(uuid);
    const context = actor.snapshot.context;
    let definition = inactive ? context.nextDefinition ?? definitionOf(actor) : definitionOf(actor);
    const { figures } = await this.info(uuid);
    const running = poolStateName(actor.snapshot) === "running" ||
      poolStateName(actor.snapshot) === "degraded";
    // libvirt's refresh writes the target as it is (after a mount, the file system's root) into
    // the running definition, which `--inactive` shows too while no next definition waits.
    const current = definition === definitionOf(actor);
    if (current && running && (definition.type === "dir" || definition.type === "fs")) {
      const stat = await Deno.stat(targetOf(actor)).catch(() => undefined);
      if (stat?.mode != null && stat.uid !== null && stat.gid !== null) {
        definition = {
          ...definition,
          targetPermissions: {
            ...definition.targetPermissions,
            mode: stat.mode & 0o777,
            owner: stat.uid,
            group: stat.gid,
          },
        };
      }
    }
    return formatPoolXml(definition, figures);
  }

  /**
   * The pool's volumes, by name.
   *
   * @throws {VirtError} Code 55 when not active.
   */
  volumes(uuid: string): VolumeRecord[] {
    const actor = this.#pools.byUuid(uuid);
    requireActive(actor);
    return Object.values(actor.snapshot.context.volumes).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
  }

  /**
   * One volume of an active pool.
   *
   * @throws {VirtError} Code 55 when the pool is not active, 50 when there is no such volume.
   */
  volume(uuid: string, name: string): VolumeRecord {
    const actor = this.#pools.byUuid(uuid);
    requireActive(actor);
    const volume = actor.snapshot.context.volumes[name];
    if (volume === undefined) {
      // A volume a job is making is refused as busy, not as missing.
      this.jobs.check(uuid, name, "read");
      throw new VirtError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`);
    }
    return volume;
  }

  /**
   * The job a volume is busy with (evirt's job view).
   *
   * @throws {VirtError} Code 55 when the pool is not active, 50 when there is no such volume.
   */
  volumeJob(uuid: string, name: string): VolumeJobView {
    const job = this.jobs.job(uuid, name);
    if (job === undefined) this.volume(uuid, name);
    return { pool: uuid, volume: name, job: job === undefined ? null : { ...job } };
  }

  /**
   * Cancels the job on a volume: a create or clone removes its half-made volume, a wipe or an
   * upload leaves the volume as it is; either records how it ended. The job's own caller gets
   * code 78 (operation aborted).
   *
   * @returns The job as it was when cancelled.
   * @throws {VirtError} Code 55 when no job runs on the volume, 50 when there is no such volume.
   */
  cancelVolumeJob(uuid: string, name: string): VolumeJobView {
    if (this.jobs.job(uuid, name) === undefined) this.volume(uuid, name);
    const job = this.jobs.cancel(uuid, name);
    return { pool: uuid, volume: name, job: { ...job } };
  }

  /**
   * The volume whose key or path is `key` in any active pool.
   *
   * @throws {VirtError} Code 50 when none has it.
   */
  volumeByKey(key: string, what: "key" | "path"): { pool: string; volume: VolumeRecord } {
    for (const actor of this.#pools.actors()) {
      if (!isPoolActive(actor.snapshot)) continue;
      for (const volume of Object.values(actor.snapshot.context.volumes)) {
        if (volume.path === key) return { pool: actor.uuid, volume };
      }
    }
    throw new VirtError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching ${what} '${key}'`);
  }

  /** A volume's info. */
  volumeInfo(uuid: string, name: string): VolumeInfo {
    const volume = this.volume(uuid, name);
    return {
      type: VOLUME_TYPE_NUMBERS[volume.type] ?? 0,
      capacityBytes: volume.capacityBytes,
      allocationBytes: volume.allocationBytes,
      physicalBytes: volume.physicalBytes ?? volume.allocationBytes,
    };
  }

  /**
   * A volume's XML, read live as libvirt does for `vol-dumpxml`: sizes, ownership, times,
   * qcow2 details and the backing file's.
   *
   * @throws {VirtError} Code 55/50 as {@linkcode volume}, 38 when the file cannot be read.
   */
  async volumeXml(uuid: string, name: string): Promise<string> {
    const recorded = this.volume(uuid, name);
    const slash = recorded.path.lastIndexOf("/");
    const probed = await probeVolume(recorded.path.slice(0, slash), recorded.path.slice(slash + 1));
    if (probed === undefined) {
      throw new VirtError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`);
    }
    const volume = probed.record;
    const details = await volumeDetails(volume.path);
    const definition: VolumeDefinition = {
      type: volume.type as VolumeDefinition["type"],
      name,
      key: volume.path,
      capacityBytes: BigInt(volume.capacityBytes),
      allocationBytes: BigInt(volume.allocationBytes),
      allocationGiven: true,
      ...(volume.type === "file" ? { physicalBytes: BigInt(details.physicalBytes) } : {}),
      path: volume.path,
      format: volume.format,
      permissions: { mode: details.mode, owner: details.owner, group: details.group },
      timestamps: details.timestamps,
      nocow: false,
      clusterSizeBytes: BigInt(probed.qcow2?.clusterSizeBytes ?? 0),
      ...(probed.qcow2?.compat === undefined
        ? {}
        : { compat: probed.qcow2.compat, features: probed.qcow2.features }),
    };
    if (volume.backingPath !== undefined) {
      const backing = await volumeDetails(volume.backingPath).catch(() => undefined);
      definition.backingStore = {
        path: volume.backingPath,
        ...(volume.backingFormat === undefined ? {} : { format: volume.backingFormat }),
        permissions: backing === undefined
          ? {}
          : { mode: backing.mode, owner: backing.owner, group: backing.group },
        ...(backing === undefined ? {} : { timestamps: backing.timestamps }),
      };
    }
    return formatVolumeXml(definition, definitionOf(this.#pools.byUuid(uuid)).type);
  }

  /**
   * Creates a volume from XML (`vol-create`, `vol-create-as`).
   *
   * @returns The volume's name.
   * @throws {VirtError} Code 55 when the pool is not active or the name has a `/`, 90 when the
   *   volume exists, the parser's errors, 1 when qemu-img fails.
   */
  async createVolume(uuid: string, xml: string, flags: number): Promise<VolumeRecord> {
    checkFlags(flags, VOLUME_PREALLOC_METADATA, "virStorageVolCreateXML");
    return await this.#createVolume(uuid, xml, flags, undefined);
  }

  /**
   * Creates a volume as a copy of another (`vol-clone`, `vol-create-from`): `qemu-img convert`
   * from the source's format to the new volume's, holes kept; a capacity below the source's is
   * raised to it, as libvirt does. It runs as a job on the new volume (see
   * {@linkcode createVolume}); the source is in use meanwhile (calls that change it are refused).
   *
   * @throws {VirtError} As {@linkcode createVolume}; code 50 when the source is missing.
   */
  async cloneVolume(
    uuid: string,
    xml: string,
    source: { pool: string; name: string },
    flags: number,
  ): Promise<VolumeRecord> {
    checkFlags(flags, VOLUME_PREALLOC_METADATA, "virStorageVolCreateXMLFrom");
    this.jobs.check(source.pool, source.name, "read");
    const original = this.volume(source.pool, source.name);
    return await this.#createVolume(uuid, xml, flags, { pool: source.pool, record: original });
  }

  async #createVolume(
    uuid: string,
    xml: string,
    flags: number,
    source: { pool: string; record: VolumeRecord } | undefined,
  ): Promise<VolumeRecord> {
    const actor = this.#pools.byUuid(uuid);
    const verb = source === undefined ? "vol-create" : "vol-clone";
    const started = await actor.run(
      source === undefined ? "vol-create" : `vol-clone ${source.record.name}`,
      async () => {
        requireActive(actor);
        const definition = parseVolumeXml(xml, definitionOf(actor).type, {
          capacity: source === undefined ? "optional-with-backing" : "optional",
          maxBytes: 1024 * 1024,
        });
        if (
          source !== undefined && definition.capacityBytes < BigInt(source.record.capacityBytes)
        ) {
          definition.capacityBytes = BigInt(source.record.capacityBytes);
        }
        if (definition.name.includes("/")) {
          throw new VirtError(
            ErrorCode.OPERATION_INVALID,
            `volume name '${definition.name}' cannot contain '/'`,
          );
        }
        if (
          actor.snapshot.context.volumes[definition.name] !== undefined ||
          actor.snapshot.context.jobs[definition.name] !== undefined ||
          this.jobs.job(uuid, definition.name) !== undefined
        ) {
          throw new VirtError(ErrorCode.STORAGE_VOL_EXIST, `'${definition.name}'`);
        }
        // Again in the queue: the source may have become busy while this call waited.
        if (source !== undefined) this.jobs.check(source.pool, source.record.name, "read");
        const dir = targetOf(actor);
        const path = `${dir}/${definition.name}`;
        const format = definition.format ?? "raw";
        const capacityBytes = safeBytes(definition.capacityBytes, "capacity");
        const allocationBytes = safeBytes(definition.allocationBytes, "allocation");
        const backing = definition.backingStore;
        const plan = {
          name: definition.name,
          path,
          format,
          capacityBytes,
          ...(backing === undefined ? {} : { backingPath: backing.path }),
          ...(backing?.format === undefined ? {} : { backingFormat: backing.format }),
        };
        const request = {
          path,
          format,
          ...(backing !== undefined && definition.capacityBytes === 0n ? {} : { capacityBytes }),
          ...(backing === undefined
            ? {}
            : { backing: { path: backing.path, format: backing.format ?? "raw" } }),
          preallocateMetadata: (flags & VOLUME_PREALLOC_METADATA) !== 0,
          nocow: definition.nocow,
          ...(definition.compat === undefined ? {} : { compat: definition.compat }),
          clusterSizeBytes: safeBytes(definition.clusterSizeBytes, "cluster size"),
          features: definition.features ?? [],
          allocationBytes,
          permissions: definition.permissions,
        };
        const { definition: pool, backend } = backendOf(actor);
        // A copy or a filled file takes long: it runs as a job, outside the queue.
        // (A logical volume is allocated by lvcreate at once: no fill, no job.)
        const filled = pool.type !== "logical" && format === "raw" && backing === undefined &&
          allocationBytes > 0;
        if (source !== undefined || filled) {
          const bytesTotal = source?.record.capacityBytes ??
            Math.min(allocationBytes, capacityBytes);
          const handle = this.jobs.begin(uuid, definition.name, verb, {
            makesVolume: true,
            bytesTotal,
            ...(source === undefined
              ? {}
              : { source: { pool: source.pool, name: source.record.name } }),
          });
          try {
            await actor.append([{
              type: "volume.job_started",
              body: {
                name: definition.name,
                job: source === undefined ? "create" : "clone",
                path,
                plan,
                ...(source === undefined
                  ? {}
                  : { source: { pool: source.pool, name: source.record.name } }),
                bytesTotal,
              },
            }]);
          } catch (error) {
            handle.end();
            throw error;
          }
          return {
            done: false as const,
            job: {
              handle,
              run: (work: VolumeWork) =>
                backend.createVolume(pool, definition.name, request, source?.record, work),
              path,
              name: definition.name,
            },
          };
        }
        await actor.append([{ type: "volume.creating", body: plan }]);
        let record: VolumeRecord;
        try {
          record = await backend.createVolume(pool, definition.name, request, undefined);
        } catch (error) {
          // A file the failed create made is half-made: it goes, unless it was there before.
          if (!(error instanceof VirtError && error.code === ErrorCode.STORAGE_VOL_EXIST)) {
            await backend.removeVolume(path).catch(() => {});
          }
          await actor.append([{ type: "storage.intent_abandoned", body: { intent: "create" } }]);
          throw error;
        }
        await actor.append([{ type: "volume.created", body: { volume: record } }]);
        return { done: true as const, record };
      },
    );
    if (started.done) return started.record;
    const { handle, run, path, name } = started.job;
    const { backend } = backendOf(actor);
    return await runVolumeJob(
      actor,
      handle,
      name,
      source === undefined ? "create" : "clone",
      {
        work: run,
        finish: (record) => [{ type: "volume.created", body: { volume: record } }],
        // The half-made file goes, unless it was there before the job.
        undo: (error) =>
          error instanceof VirtError && error.code === ErrorCode.STORAGE_VOL_EXIST
            ? Promise.resolve(false)
            : backend.removeVolume(path).then(() => true),
      },
    );
  }

  /**
   * Removes a volume (`vol-delete`).
   *
   * @throws {VirtError} Code 55 when the pool is not active, 50 for no such volume, 38 when the
   *   file cannot be removed.
   */
  async deleteVolume(uuid: string, name: string, flags: number): Promise<void> {
    checkFlags(flags, 0, "virStorageVolDelete");
    this.jobs.check(uuid, name);
    const actor = this.#pools.byUuid(uuid);
    return await actor.run(`vol-delete ${name}`, async () => {
      // Again in the queue: a transfer may have begun while this call waited its turn.
      this.jobs.check(uuid, name);
      const volume = this.volume(uuid, name);
      const users = this.volumeUsers?.(definitionOf(actor).name, name, volume.path) ?? [];
      if (users.length > 0) {
        throw new VirtError(ErrorCode.OPERATION_INVALID, `volume '${name}' is still in use.`, {
          where: `domain ${users[0]}`,
        });
      }
      await actor.append([{ type: "volume.deleting", body: { name, path: volume.path } }]);
      try {
        await backendOf(actor).backend.removeVolume(volume.path);
      } catch (error) {
        await actor.append([{ type: "storage.intent_abandoned", body: { intent: "remove" } }]);
        throw error;
      }
      await actor.append([{ type: "volume.deleted", body: { name } }]);
    });
  }

  /**
   * Changes a volume's capacity (`vol-resize`) with libvirt's rules: `--delta` adds (or, with
   * `--shrink`, subtracts); shrinking needs `--shrink` and never goes below the allocation.
   *
   * @throws {VirtError} Code 8 for a refused size, 55/50 as lookups, 38 or 1 when it fails.
   */
  async resizeVolume(uuid: string, name: string, capacity: bigint, flags: number): Promise<void> {
    checkFlags(flags, RESIZE_ALLOCATE | RESIZE_DELTA | RESIZE_SHRINK, "virStorageVolResize");
    this.jobs.check(uuid, name);
    const actor = this.#pools.byUuid(uuid);
    return await actor.run(`vol-resize ${name}`, async () => {
      const volume = this.volume(uuid, name);
      if (definitionOf(actor).type === "logical") {
        throw new VirtError(
          ErrorCode.NO_SUPPORT,
          "storage pool does not support changing of volume capacity",
        );
      }
      const current = BigInt(volume.capacityBytes);
      const shrink = (flags & RESIZE_SHRINK) !== 0;
      let target = capacity;
      if ((flags & RESIZE_DELTA) !== 0) {
        target = shrink ? current - (capacity < current ? capacity : current) : current + capacity;
      }
      if (target < BigInt(volume.allocationBytes)) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          "can't shrink capacity below existing allocation",
        );
      }
      if (target < current && !shrink) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
        );
      }
      const capacityBytes = safeBytes(target, "capacity");
      await actor.append([{ type: "volume.resizing", body: { name, capacityBytes } }]);
      let record: VolumeRecord;
      try {
        record = await backendOf(actor).backend.resizeVolume(volume, capacityBytes, shrink);
      } catch (error) {
        await actor.append([{ type: "storage.intent_abandoned", body: { intent: "resize" } }]);
        throw error;
      }
      await actor.append([{
        type: "volume.resized",
        body: {
          name,
          capacityBytes: record.capacityBytes,
          allocationBytes: record.allocationBytes,
        },
      }]);
    });
  }

  /**
   * Wipes a volume with zeros (`vol-wipe`; algorithm 0), as a job on the volume: other calls on
   * it are refused meanwhile; a cancel leaves it part zeroed and records so. Other algorithms
   * need `scrub`, which evirt does not run: code 74.
   */
  async wipeVolume(uuid: string, name: string, algorithm: number, flags: number): Promise<void> {
    checkFlags(flags, 0, "virStorageVolWipePattern");
    this.jobs.check(uuid, name);
    if (algorithm !== 0) {
      throw new VirtError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        `wiping algorithm ${algorithm} is not supported (only zero)`,
      );
    }
    const actor = this.#pools.byUuid(uuid);
    const { volume, handle } = await actor.run(`vol-wipe ${name}`, async () => {
      const volume = this.volume(uuid, name);
      if (volume.sparse === true) {
        throw new VirtError(
          ErrorCode.NO_SUPPORT,
          `logical volume '${volume.path}' is sparse, volume wipe not supported`,
        );
      }
      return { volume, handle: await beginVolumeJob(actor, this.jobs, volume, "wipe", "vol-wipe") };
    });
    await runVolumeJob(actor, handle, name, "wipe", {
      work: (work) => backendOf(actor).backend.wipeVolume(volume, work),
      finish: (record) => [{
        type: "volume.wiped",
        body: { name, allocationBytes: record.allocationBytes },
      }],
      reason: "the wipe did not finish: the volume is part zeroed",
      refresh: () => this.#refresh(actor, false),
    });
  }

  /**
   * Writes a stream into a volume (`vol-upload`), as a job on the volume: other calls on it are
   * refused meanwhile; calls on other volumes run. The pool is refreshed after, so the log
   * records the volume's new figures; an upload cut short (cancel, error, crash) leaves the
   * volume with what was written, recorded as such.
   *
   * @returns The bytes written.
   * @throws {VirtError} Code 55 when the pool is inactive or the volume busy, 50 when missing,
   *   8 for a bad range, 38 when the file cannot be written, 78 when cancelled.
   */
  async uploadVolume(
    uuid: string,
    name: string,
    body: AsyncIterable<SparsePiece>,
    range: TransferRange,
    sparse: boolean,
  ): Promise<number> {
    this.jobs.check(uuid, name);
    this.volume(uuid, name);
    if (sparse && range.length !== 0) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "a sparse upload writes to the volume's end: it takes no length",
        { where: "length" },
      );
    }
    const actor = this.#pools.byUuid(uuid);
    const { volume, handle } = await actor.run(`vol-upload ${name}`, async () => {
      const volume = this.volume(uuid, name);
      return {
        volume,
        handle: await beginVolumeJob(actor, this.jobs, volume, "upload", "vol-upload"),
      };
    });
    if (range.length > 0) handle.progress(0, range.length);
    return await runVolumeJob(actor, handle, name, "upload", {
      work: (work) =>
        writeVolumeRange(volume.path, cancellablePieces(body, work), range, sparse, {
          onWritten: (bytes) => work.onProgress?.(bytes, 0),
        }),
      finish: (bytes) => [{
        type: "volume.job_ended",
        body: { name, job: "upload", outcome: "done", removed: false, bytesDone: bytes },
      }],
      reason: "the upload did not finish: the volume holds what was written",
      refresh: () => this.#refresh(actor, false),
    });
  }

  /**
   * A volume's bytes as a stream (`vol-download`), as a job on the volume until the stream ends
   * or is cancelled. With `holes`, the file's holes come as their lengths, unread; with
   * `reuseBuffer`, for a consumer done with each chunk before it asks for the next (see
   * `readVolumeRange`).
   *
   * @throws {VirtError} As {@linkcode uploadVolume}.
   */
  downloadVolume(
    uuid: string,
    name: string,
    range: TransferRange,
  ): Promise<{ stream: ReadableStream<Uint8Array>; bytes: number }>;
  downloadVolume(
    uuid: string,
    name: string,
    range: TransferRange,
    options: { holes: true; reuseBuffer?: boolean },
  ): Promise<{ stream: ReadableStream<SparsePiece>; bytes: number }>;
  async downloadVolume(
    uuid: string,
    name: string,
    range: TransferRange,
    options: ReadOptions = {},
  ): Promise<{ stream: ReadableStream<SparsePiece>; bytes: number }> {
    const volume = this.volume(uuid, name);
    const { end } = this.jobs.begin(uuid, name, "vol-download", {
      bytesTotal: volume.physicalBytes ?? volume.capacityBytes,
    });
    try {
      return await readVolumeRange(volume.path, range, end, options);
    } catch (error) {
      end();
      throw error;
    }
  }

  /**
   * After replay: finishes or undoes each pending intent, then refreshes every active pool so
   * the log agrees with the directory.
   */
  async reconcileAll(log: (message: string) => void): Promise<void> {
    for (const actor of this.#pools.actors()) {
      await actor.run("reconcile", async () => {
        await finishPoolIntent(actor, log);
        await finishVolumeJobs(actor, log);
        if (isPoolActive(actor.snapshot)) {
          await this.#refresh(actor, false).catch((error) => {
            log(`pool '${definitionOf(actor).name}' is inaccessible: ${String(error)}`);
          });
        }
      });
    }
  }

  /** Starts every inactive autostart pool (the first service start since boot). */
  async autostartAll(log: (message: string) => void): Promise<void> {
    for (const actor of this.#pools.actors()) {
      const context = actor.snapshot.context;
      if (!context.autostart || isPoolActive(actor.snapshot)) continue;
      await this.start(actor.uuid, 0).catch((error) => {
        log(`autostart of pool '${definitionOf(actor).name}' failed: ${String(error)}`);
      });
    }
  }
}
