/**
 * Block jobs of a running domain's disk (`blockcommit`, `blockpull`, `blockcopy`, `blockjob`):
 * libvirt 9.0's numbers (job types, event statuses, flags), its checks and messages, and the
 * disk a finished job leaves. Pure: the domain actor records what these decide
 * (`actors/block_job_commands.ts`), the drivers run the jobs.
 *
 * Facts from libvirt 9.0 (`libvirt-domain.h`, the QEMU driver's `qemuDomainBlockCommit`,
 * `qemuDomainBlockPullCommon`, `qemuDomainBlockCopyCommon`, `qemuDomainBlockJobAbort`,
 * `qemuDomainGetBlockJobInfo`, `virStorageSourceChainLookup`; virsh's progress line):
 * - a disk is named by its target or its source path: otherwise code 8 `disk 'X' not found in
 *   domain`; a second job on a disk is code 84 `disk 'vda' already in active block job` (code
 *   83 while a copy runs: the disk has a mirror);
 * - an image of the chain is named by its path or `target[index]`; `blockcommit` without `--top`
 *   commits the active layer, which needs `--active`, and without `--base` into the chain's
 *   bottom (`--shallow`: the image right below the top);
 * - a copy of a persistent domain needs `VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB` (code 55 `domain
 *   is not transient`); a destination file that exists and is not empty needs `--reuse-external`;
 * - `bandwidth` is MiB/s unless the call's BANDWIDTH_BYTES flag says bytes/s.
 *
 * @module
 */

import type { BackingStore, Disk, DiskMirror, DiskSource, DomainDefinition } from "./domain.ts";
import { ErrorCode, VirtError } from "./errors.ts";
import type { RuntimeRecord } from "./facts.ts";
import { LIVE_FACTS_KEY, type LiveDisk, liveFactsOf } from "./live_facts.ts";

/** libvirt's `virDomainBlockJobType` names, indexed by value. */
export const BLOCK_JOB_TYPES = [
  "unknown",
  "pull",
  "copy",
  "commit",
  "active_commit",
  "backup",
] as const;

/** The block jobs evirt runs. */
export type BlockJobType = "pull" | "copy" | "commit" | "active_commit";

/** virsh's label of each job type, indexed by value (`Block Commit: [ 50 %]`). */
export const BLOCK_JOB_LABELS = [
  "Unknown job",
  "Block Pull",
  "Block Copy",
  "Block Commit",
  "Active Block Commit",
  "Backup",
] as const;

/** libvirt's `virConnectDomainEventBlockJobStatus` names, indexed by value. */
export const BLOCK_JOB_STATUSES = ["completed", "failed", "canceled", "ready"] as const;

/** What a block job event tells. */
export type BlockJobStatus = typeof BLOCK_JOB_STATUSES[number];

/** `virDomainBlockCommitFlags`. */
export const BlockCommitFlag = {
  SHALLOW: 1,
  DELETE: 2,
  ACTIVE: 4,
  RELATIVE: 8,
  BANDWIDTH_BYTES: 16,
} as const;

/** `virDomainBlockRebaseFlags` (`virDomainBlockPull` takes only BANDWIDTH_BYTES). */
export const BlockRebaseFlag = {
  SHALLOW: 1,
  REUSE_EXT: 2,
  COPY_RAW: 4,
  COPY: 8,
  RELATIVE: 16,
  COPY_DEV: 32,
  BANDWIDTH_BYTES: 64,
} as const;

/** `virDomainBlockCopyFlags`. */
export const BlockCopyFlag = {
  SHALLOW: 1,
  REUSE_EXT: 2,
  TRANSIENT_JOB: 4,
  SYNCHRONOUS_WRITES: 8,
} as const;

/** `virDomainBlockJobAbortFlags`. */
export const BlockJobAbortFlag = { ASYNC: 1, PIVOT: 2 } as const;

/** `VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES` and `…_SPEED_BANDWIDTH_BYTES`: bytes/s. */
export const BLOCK_JOB_BANDWIDTH_BYTES = 1;

/** `LLONG_MAX >> 20`: the largest bandwidth in MiB/s libvirt converts to bytes/s. */
export const BANDWIDTH_MIB_MAX = (1n << 43n) - 1n;

/**
 * A bandwidth argument in bytes/s: MiB/s unless `bytes`.
 *
 * @throws {VirtError} Code 82 `bandwidth must be less than 8796093022207` for MiB/s figures
 *   that do not fit 63 bits as bytes.
 *
 * @example
 * ```ts
 * import { bandwidthBytes } from "./block_jobs.ts";
 * console.log(bandwidthBytes(2n, false)); // 2097152n
 * ```
 */
export function bandwidthBytes(bandwidth: bigint, bytes: boolean): bigint {
  if (bandwidth < 0n) {
    throw new VirtError(ErrorCode.INVALID_ARG, "bandwidth must not be negative", {
      where: "bandwidth",
    });
  }
  if (bytes) return bandwidth;
  if (bandwidth > BANDWIDTH_MIB_MAX) {
    throw new VirtError(ErrorCode.OVERFLOW, `bandwidth must be less than ${BANDWIDTH_MIB_MAX}`, {
      where: "bandwidth",
    });
  }
  return bandwidth << 20n;
}

/** One image of a disk's chain, as the running instance opened it (top first). */
export interface ChainLayer {
  /** `file` or `block`. */
  type: "file" | "block";
  /** The image's path. */
  path: string;
  /** Its format. */
  format: string;
  /** libvirt's index of the image (`<source index>`, `<backingStore index>`); 0 unknown. */
  index: number;
}

/**
 * The position of the disk named by `name` (its target, or its source path) in `definition`.
 *
 * @throws {VirtError} Code 8 `disk 'X' not found in domain`.
 */
export function blockJobDiskIndex(definition: DomainDefinition, name: string): number {
  const index = definition.devices.disks.findIndex((disk) =>
    disk.target.dev === name ||
    (name !== "" && (disk.source?.file === name || disk.source?.dev === name))
  );
  if (index < 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `disk '${name}' not found in domain`, {
      where: "disk",
    });
  }
  return index;
}

/**
 * The checks every block job makes of its disk before anything else (libvirt's
 * `qemuDomainDiskBlockJobIsSupported` and the empty-source check).
 *
 * @throws {VirtError} Code 84 for an `sd` bus or a transient disk; 67 for an empty drive.
 */
export function checkBlockJobDisk(disk: Disk): void {
  if (disk.target.bus === "sd") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `block jobs are not supported on disk '${disk.target.dev}' using bus 'sd'`,
    );
  }
  if (disk.transient === true) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `block jobs are not supported on transient disk '${disk.target.dev}'`,
    );
  }
  if (diskPath(disk) === undefined) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `disk ${disk.target.dev} has no source file to be committed`,
    );
  }
}

/** The host path of a disk's top image, or undefined for an empty drive or a network disk. */
export function diskPath(disk: Disk): string | undefined {
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  return path === undefined || path === "" ? undefined : path;
}

/**
 * A running disk's chain, top first: its source, then the backing images the instance opened
 * (the runtime record's live facts; a chain they do not know counts as the top alone).
 *
 * @param live The live definition.
 * @param runtime The instance's runtime record.
 * @param diskIndex The disk's position.
 * @returns The chain; empty for an empty drive.
 */
export function diskChain(
  live: DomainDefinition,
  runtime: RuntimeRecord | null,
  diskIndex: number,
): ChainLayer[] {
  const disk = live.devices.disks[diskIndex];
  const path = diskPath(disk);
  if (path === undefined) return [];
  const fact = liveFactsOf(runtime)?.disks?.find((each) => each.index === diskIndex);
  const top: ChainLayer = {
    type: disk.type === "block" ? "block" : "file",
    path,
    format: disk.driver?.type ?? "raw",
    index: fact?.sourceIndex ?? 0,
  };
  return [top, ...(fact?.backing ?? []).map((layer) => ({ ...layer }))];
}

/**
 * The chain a definition writes for a disk (its `<backingStore>` elements), top first; what it
 * does not write is not known (an inactive domain's chain, as libvirt's lookups see it).
 */
export function writtenChain(disk: Disk): ChainLayer[] {
  const path = diskPath(disk);
  if (path === undefined) return [];
  const chain: ChainLayer[] = [{
    type: disk.type === "block" ? "block" : "file",
    path,
    format: disk.driver?.type ?? "raw",
    index: disk.source?.index ?? 0,
  }];
  let store = disk.backingStore;
  while (store !== undefined && chain.length <= BACKING_LAYERS_MAX) {
    const layerPath = store.type === "block" ? store.source?.dev : store.source?.file;
    if (layerPath === undefined) break;
    chain.push({
      type: store.type === "block" ? "block" : "file",
      path: layerPath,
      format: store.format ?? "raw",
      index: store.index ?? 0,
    });
    store = store.backingStore;
  }
  return chain;
}

/** Most images of a chain the lookups walk. */
const BACKING_LAYERS_MAX = 64;

/**
 * The live definition and runtime record once a job's result holds: the disk's source is the
 * result's top image and its live chain the result's backing images.
 *
 * @example
 * ```ts ignore
 * const { live, runtime } = withBlockJobApplied(live, runtime, "vda", result);
 * ```
 */
export function withBlockJobApplied(
  live: DomainDefinition,
  runtime: RuntimeRecord | null,
  target: string,
  result: BlockJobResult,
): { live: DomainDefinition; runtime: RuntimeRecord | null } {
  const index = live.devices.disks.findIndex((disk) => disk.target.dev === target);
  if (index < 0) return { live, runtime };
  const disks = [...live.devices.disks];
  disks[index] = withJobResult(disks[index], result);
  const nextLive = { ...live, devices: { ...live.devices, disks } };
  const facts = liveFactsOf(runtime);
  if (runtime === null || facts === undefined) return { live: nextLive, runtime };
  const entry: LiveDisk = {
    index,
    ...(result.top.index === 0 ? {} : { sourceIndex: result.top.index }),
    backing: result.backing.map((layer) => ({ ...layer })),
  };
  const liveDisks = (facts.disks ?? []).filter((each) => each.index !== index);
  liveDisks.push(entry);
  liveDisks.sort((left, right) => left.index - right.index);
  return {
    live: nextLive,
    runtime: { ...runtime, [LIVE_FACTS_KEY]: { ...facts, disks: liveDisks } },
  };
}

/** `vda[3]` → target and index; undefined for a path. */
function parseIndexName(name: string): { target: string; index: number } | undefined {
  const match = /^([^\[\]]+)\[(\d+)\]$/.exec(name);
  if (match === null) return undefined;
  return { target: match[1], index: Number(match[2]) };
}

/**
 * The position in `chain` of the image `name` names (its path or `target[index]`), searched
 * from just below `startFrom` (a position) or from the top; without a name, the bottom image.
 * As libvirt's `virStorageSourceChainLookup`.
 *
 * @throws {VirtError} Code 8 with libvirt's message when no image matches.
 *
 * @example
 * ```ts
 * import { lookupChainLayer } from "./block_jobs.ts";
 * const chain = [
 *   { type: "file" as const, path: "/i/top.qcow2", format: "qcow2", index: 1 },
 *   { type: "file" as const, path: "/i/base.raw", format: "raw", index: 2 },
 * ];
 * console.log(lookupChainLayer(chain, "vda[2]", "vda", undefined)); // 1
 * ```
 */
export function lookupChainLayer(
  chain: readonly ChainLayer[],
  name: string | undefined,
  target: string,
  startFrom: number | undefined,
): number {
  const indexed = name === undefined ? undefined : parseIndexName(name);
  if (indexed !== undefined && indexed.index !== 0 && indexed.target !== target) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `requested target '${indexed.target}' does not match target '${target}'`,
    );
  }
  const first = startFrom === undefined ? 0 : startFrom + 1;
  for (let position = first; position < chain.length; position++) {
    const layer = chain[position];
    if (name === undefined) {
      if (position === chain.length - 1) return position;
    } else if (indexed !== undefined && indexed.index !== 0) {
      if (layer.index === indexed.index) return position;
    } else if (layer.path === name) {
      return position;
    }
  }
  if (indexed !== undefined && indexed.index !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `could not find backing store index '${indexed.index}' in chain for '${target}'`,
    );
  }
  if (name === undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `could not find base image in chain for '${target}'`,
    );
  }
  if (startFrom !== undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `could not find image '${name}' beneath '${chain[startFrom].path}' in chain for '${target}'`,
    );
  }
  throw new VirtError(
    ErrorCode.INVALID_ARG,
    `could not find image '${name}' in chain for '${target}'`,
  );
}

/** A commit's images, as positions in the disk's chain (0 is the active layer). */
export interface CommitPlan {
  top: number;
  base: number;
  /** The job type: an active commit when the top is the active layer. */
  type: "commit" | "active_commit";
}

/**
 * Decides a commit's top and base as libvirt's `qemuDomainBlockCommit` and `qemuBlockCommit`.
 *
 * @throws {VirtError} Code 8 for an image not in the chain, an active layer without `--active`,
 *   `--active` for an inner image, a top without backing, `--shallow` with a base further down.
 */
export function planCommit(
  chain: readonly ChainLayer[],
  target: string,
  request: { top?: string; base?: string; flags: number },
): CommitPlan {
  const top = request.top === undefined || request.top === target
    ? 0
    : lookupChainLayer(chain, request.top, target, undefined);
  const shallow = (request.flags & BlockCommitFlag.SHALLOW) !== 0;
  let base: number;
  if (request.base === undefined && shallow) {
    base = top + 1;
  } else {
    base = lookupChainLayer(chain, request.base, target, top);
  }
  const active = (request.flags & BlockCommitFlag.ACTIVE) !== 0;
  if (top === 0 && !active) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `commit of '${target}' active layer requires active flag`,
    );
  }
  if (top !== 0 && active) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `active commit requested but '${chain[top].path}' is not active`,
    );
  }
  if (top + 1 >= chain.length) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `top '${chain[top].path}' in chain for '${chain[0].path}' has no backing file`,
    );
  }
  if (shallow && base !== top + 1) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `base '${chain[base]?.path}' is not immediately below '${chain[top].path}' in chain for '${
        chain[0].path
      }'`,
    );
  }
  return { top, base, type: top === 0 ? "active_commit" : "commit" };
}

/** A disk's storage after a job: its top image and the images below it. */
export interface BlockJobResult {
  top: ChainLayer;
  backing: ChainLayer[];
}

/** The chain after a commit of `top` into `base`: the images between them leave it. */
export function commitResult(chain: readonly ChainLayer[], plan: CommitPlan): BlockJobResult {
  const kept = [...chain.slice(0, plan.top), ...chain.slice(plan.base)];
  return { top: kept[0], backing: kept.slice(1) };
}

/** The chain after a pull into the top from everything above `base` (undefined: all). */
export function pullResult(chain: readonly ChainLayer[], base: number | undefined): BlockJobResult {
  return { top: chain[0], backing: base === undefined ? [] : chain.slice(base) };
}

/** The chain after a copy pivots to `destination`: a shallow copy keeps the backing images. */
export function copyResult(
  chain: readonly ChainLayer[],
  destination: ChainLayer,
  shallow: boolean,
): BlockJobResult {
  return { top: destination, backing: shallow ? chain.slice(1) : [] };
}

/**
 * The disk with `result`'s top image as its source (and its chain, where the definition wrote
 * one).
 *
 * @example
 * ```ts ignore
 * withJobResult(disk, result).source?.file; // "/images/copy.qcow2"
 * ```
 */
export function withJobResult(disk: Disk, result: BlockJobResult): Disk {
  const top = result.top;
  const source = { ...(disk.source ?? { hosts: [] }) };
  delete source.file;
  delete source.dev;
  if (top.type === "block") source.dev = top.path;
  else source.file = top.path;
  return {
    ...disk,
    type: top.type,
    source,
    driver: { ...(disk.driver ?? {}), type: top.format },
    ...(disk.backingStore === undefined ? {} : { backingStore: backingStoreOf(result.backing) }),
  };
}

function backingStoreOf(layers: readonly ChainLayer[]): BackingStore {
  let store: BackingStore = {};
  for (let position = layers.length - 1; position >= 0; position--) {
    const layer = layers[position];
    store = {
      type: layer.type,
      format: layer.format,
      source: layer.type === "block"
        ? { dev: layer.path, hosts: [] }
        : { file: layer.path, hosts: [] },
      backingStore: store,
    };
  }
  return store;
}

/** How far a job is, as libvirt reports it (`virDomainBlockJobInfo`). */
export interface BlockJobProgress {
  cur: bigint;
  end: bigint;
}

/**
 * libvirt's correction of QEMU's figures (`qemuBlockJobInfoTranslate`): a job not started
 * (0 of 0) counts 0 of 1, or 1 of 1 once ready; a job not ready never shows cur = end.
 *
 * @example
 * ```ts
 * import { reportedProgress } from "./block_jobs.ts";
 * console.log(reportedProgress({ cur: 10n, end: 10n }, false)); // { cur: 9n, end: 10n }
 * ```
 */
export function reportedProgress(
  raw: BlockJobProgress,
  ready: boolean | undefined,
): BlockJobProgress {
  let { cur, end } = raw;
  if (cur === 0n && end === 0n && ready !== undefined) {
    end = 1n;
    if (ready) cur = 1n;
  }
  if (ready === false && cur === end && cur > 0n) cur -= 1n;
  return { cur, end };
}

/**
 * virsh's progress line of a job (without the leading carriage return): the label, then the
 * percentage done, at most 99 until nothing remains.
 *
 * @example
 * ```ts
 * import { progressLine } from "./block_jobs.ts";
 * console.log(progressLine("Block Commit", 50n, 100n)); // "Block Commit: [ 50 %]"
 * ```
 */
export function progressLine(label: string, remaining: bigint, total: bigint): string {
  let percent: number;
  if (remaining === 0n) {
    percent = 100;
  } else {
    percent = Math.trunc(100 - Number(remaining) * 100 / Number(total));
    if (percent >= 100) percent = 99;
  }
  return `${label}: [${String(percent).padStart(3, " ")} %]`;
}

/**
 * The persistent definition after a job completed, as libvirt 9.0 keeps it in step
 * (`qemuBlockJobRewriteConfigDiskSource`, `qemuBlockJobClearConfigChain`): where its disk still
 * names the image the job started from, a pivot (copy, active commit) moves its source to the
 * result's top image, and any job drops the chain it wrote (the images changed). Otherwise the
 * definition is left as it is.
 *
 * @example
 * ```ts ignore
 * const next = withConfigFollowing(definition, "vda", "/i/top.qcow2", "copy", result);
 * ```
 */
export function withConfigFollowing(
  definition: DomainDefinition,
  target: string,
  startPath: string,
  type: BlockJobType,
  result: BlockJobResult,
): DomainDefinition {
  const index = definition.devices.disks.findIndex((disk) => disk.target.dev === target);
  if (index < 0) return definition;
  const disk = definition.devices.disks[index];
  if (diskPath(disk) !== startPath) return definition;
  const pivot = type === "copy" || type === "active_commit";
  const next: Disk = pivot ? withJobResult(disk, result) : { ...disk };
  delete next.backingStore;
  const disks = [...definition.devices.disks];
  disks[index] = next;
  return { ...definition, devices: { ...definition.devices, disks } };
}

/** What {@linkcode withBlockJobMirrors} reads of a running job. */
export interface MirroredJob {
  disk: string;
  type: BlockJobType;
  result: BlockJobResult;
  destination?: ChainLayer;
  phase: "starting" | "running" | "ready" | "ending";
  pivot?: boolean;
}

/**
 * The live definition with each disk's `<mirror>` while a copy or an active commit runs on it,
 * as libvirt shows it: the copy's destination (also as the older `file` and `format`
 * attributes) or the commit's base, with `job`, and `ready='yes'` once synchronized (`pivot` or
 * `abort` while being ended). Other jobs have no mirror. Pure.
 *
 * @example
 * ```ts ignore
 * const shown = withBlockJobMirrors(live, context.blockJobs);
 * ```
 */
export function withBlockJobMirrors(
  definition: DomainDefinition,
  jobs: Readonly<Record<string, MirroredJob>> | undefined,
): DomainDefinition {
  const mirrored = Object.values(jobs ?? {}).filter((job) =>
    job.type === "copy" || job.type === "active_commit"
  );
  if (mirrored.length === 0) return definition;
  const disks = definition.devices.disks.map((disk) => {
    const job = mirrored.find((each) => each.disk === disk.target.dev);
    if (job === undefined) return disk;
    const copy = job.type === "copy";
    const layer = copy ? job.destination : job.result.top;
    if (layer === undefined) return disk;
    const source: DiskSource = layer.type === "block"
      ? { dev: layer.path, hosts: [] }
      : { file: layer.path, hosts: [] };
    if (layer.index > 0) source.index = layer.index;
    const mirror: DiskMirror = {
      type: layer.type,
      ...(copy ? { file: layer.path, fileFormat: layer.format } : {}),
      job: copy ? "copy" : "active-commit",
      format: layer.format,
      source,
    };
    const ready = mirrorState(job);
    if (ready !== undefined) mirror.ready = ready;
    return { ...disk, mirror };
  });
  return { ...definition, devices: { ...definition.devices, disks } };
}

/** libvirt's mirror state of a job: `yes` when ready, `pivot`/`abort` while being ended. */
function mirrorState(job: MirroredJob): string | undefined {
  if (job.phase === "ready") return "yes";
  if (job.phase === "ending") return job.pivot === true ? "pivot" : "abort";
  return undefined;
}
