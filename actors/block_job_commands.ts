/**
 * Block jobs as jobs of the domain's actor (`blockcommit`, `blockpull`, `blockcopy`, `blockjob
 * --abort/--pivot/--bandwidth`) and the `blockjob --info` read: libvirt's checks and messages
 * (`src/model/block_jobs.ts`), then the facts around the driver's call. A start is recorded as
 * an intent (`domain.block_job_starting`: the job, and the chain the disk has once it completes)
 * before the driver asks the hypervisor, then as `domain.block_job_started`; an end asked for is
 * `domain.block_job_ending` before the driver asks. What the hypervisor reports later (ready,
 * completed, failed, cancelled) comes as observations (`actors/domain_commands.ts` `observe`).
 * After a service restart, {@linkcode reconcileBlockJobs} finds the jobs again in the driver.
 *
 * @module
 */

import {
  BANDWIDTH_MIB_MAX,
  bandwidthBytes,
  BLOCK_JOB_BANDWIDTH_BYTES,
  BLOCK_JOB_TYPES,
  BlockCommitFlag,
  BlockCopyFlag,
  BlockJobAbortFlag,
  blockJobDiskIndex,
  type BlockJobResult,
  BlockRebaseFlag,
  type ChainLayer,
  checkBlockJobDisk,
  commitResult,
  copyResult,
  diskChain,
  lookupChainLayer,
  planCommit,
  pullResult,
  reportedProgress,
  writtenChain,
} from "../src/model/block_jobs.ts";
import { checkResourceFlags as checkBlockJobFlags } from "../src/model/domain_resources.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { BlockJobStart } from "../src/model/facts.ts";
import type { JobContext } from "./domain_actor.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import { type CommandEnvironment, handleOf } from "./domain_commands.ts";
import { type BlockJobEntry, type DomainContext, isActive } from "./domain_machine.ts";
import { driverOf } from "./resource_commands.ts";
import type { BlockJobRequest, DomainHandle, Driver, Reality } from "./driver_protocol.ts";

/** A copy's destination as the caller names it. */
export interface CopyDestination {
  /** Its absolute path. */
  path: string;
  /** Its format; absent: the disk's (or, reused, probed: refused here, as libvirt without a probe). */
  format?: string;
  /** A block device rather than a file. */
  type: "file" | "block";
}

/** What a block job command asks. */
export type BlockJobCommand =
  | {
    action: "commit";
    disk: string;
    base?: string;
    top?: string;
    bandwidth: bigint;
    flags: number;
  }
  | {
    action: "pull";
    disk: string;
    base?: string;
    bandwidth: bigint;
    flags: number;
    /** The libvirt call that asked (its name is in a refusal): default virDomainBlockPull. */
    api?: string;
  }
  | {
    action: "copy";
    disk: string;
    destination: CopyDestination;
    /** In bytes/s (`virDomainBlockCopy`'s unit). */
    bandwidthBytes: bigint;
    /** `virDomainBlockCopyFlags`. */
    flags: number;
    granularityBytes?: number;
    bufferBytes?: bigint;
    /** The libvirt call that asked (its name is in a refusal): default virDomainBlockCopy. */
    api?: string;
  }
  | { action: "abort"; disk: string; flags: number }
  | { action: "speed"; disk: string; bandwidth: bigint; flags: number };

function unsupported(api: string): VirtError {
  return new VirtError(ErrorCode.NO_SUPPORT, api);
}

const API_OF: Record<BlockJobCommand["action"], string> = {
  commit: "virDomainBlockCommit",
  pull: "virDomainBlockPull",
  copy: "virDomainBlockCopy",
  abort: "virDomainBlockJobAbort",
  speed: "virDomainBlockJobSetSpeed",
};

/** The domain's driver, refusing as libvirt's test driver when it has no block jobs. */
function blockJobDriver(job: JobContext, env: CommandEnvironment, api: string): Driver {
  const { driver } = driverOf(job, env);
  if (driver.startBlockJob === undefined) throw unsupported(api);
  return driver;
}

function notRunning(): VirtError {
  return new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
}

/**
 * Runs one block job command in the domain's queue.
 *
 * @throws {VirtError} libvirt's refusals (see `src/model/block_jobs.ts`); code 3 for a driver
 *   without block jobs; the driver's error, after which nothing runs.
 */
export async function runBlockJobCommand(
  job: JobContext,
  env: CommandEnvironment,
  command: BlockJobCommand,
): Promise<void> {
  const api = "api" in command && command.api !== undefined ? command.api : API_OF[command.action];
  const driver = blockJobDriver(job, env, api);
  switch (command.action) {
    case "commit":
      return await startCommit(job, driver, command);
    case "pull":
      return await startPull(job, driver, command);
    case "copy":
      return await startCopy(job, driver, command);
    case "abort":
      return await abortJob(job, driver, command);
    case "speed":
      return await setSpeed(job, driver, command);
  }
}

/** The running disk a command names, with its chain; refuses a second job on it. */
function runningDisk(job: JobContext, name: string) {
  const handle = handleOf(job.snapshot);
  const index = blockJobDiskIndex(handle.definition, name);
  const disk = handle.definition.devices.disks[index];
  checkBlockJobDisk(disk);
  const running = job.snapshot.context.blockJobs?.[disk.target.dev];
  if (running !== undefined) {
    throw new VirtError(
      running.type === "copy" ? ErrorCode.BLOCK_COPY_ACTIVE : ErrorCode.OPERATION_UNSUPPORTED,
      `disk '${disk.target.dev}' already in active block job`,
    );
  }
  const chain = diskChain(handle.definition, handle.runtime, index);
  return { handle, index, disk, chain };
}

async function startCommit(
  job: JobContext,
  driver: Driver,
  command: Extract<BlockJobCommand, { action: "commit" }>,
): Promise<void> {
  checkBlockJobFlags(command.flags, 0x1f, "qemuDomainBlockCommit");
  const speed = bandwidthBytes(
    command.bandwidth,
    (command.flags & BlockCommitFlag.BANDWIDTH_BYTES) !== 0,
  );
  if (!isActive(job.snapshot)) {
    // libvirt looks the images up in the persistent definition before it checks the state.
    const definition = job.snapshot.context.definition!;
    const index = blockJobDiskIndex(definition, command.disk);
    const disk = definition.devices.disks[index];
    planCommit(writtenChain(disk), disk.target.dev, command);
    throw notRunning();
  }
  const { handle, index, disk, chain } = runningDisk(job, command.disk);
  const plan = planCommit(chain, disk.target.dev, command);
  // As libvirt's: the images from the top down to the base (kept) that are files.
  const deleteImages = (command.flags & BlockCommitFlag.DELETE) === 0
    ? undefined
    : chain.slice(plan.top, plan.base).filter((layer) => layer.type === "file").map((layer) =>
      layer.path
    );
  await startJob(job, driver, handle, {
    disk: disk.target.dev,
    type: plan.type,
    path: chain[0].path,
    result: commitResult(chain, plan),
    bandwidthBytes: speed.toString(),
    ...(deleteImages === undefined ? {} : { deleteImages }),
  }, {
    kind: "commit",
    disk: disk.target.dev,
    diskIndex: index,
    chain,
    top: plan.top,
    base: plan.base,
    bandwidthBytes: speed,
  });
}

async function startPull(
  job: JobContext,
  driver: Driver,
  command: Extract<BlockJobCommand, { action: "pull" }>,
): Promise<void> {
  checkBlockJobFlags(
    command.flags,
    BlockRebaseFlag.RELATIVE | BlockRebaseFlag.BANDWIDTH_BYTES,
    "qemuDomainBlockRebase",
  );
  if ((command.flags & BlockRebaseFlag.RELATIVE) !== 0 && command.base === undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "flag VIR_DOMAIN_BLOCK_REBASE_RELATIVE is valid only with non-null base",
      { where: "flags" },
    );
  }
  if (!isActive(job.snapshot)) throw notRunning();
  const { handle, index, disk, chain } = runningDisk(job, command.disk);
  const base = command.base === undefined
    ? undefined
    : lookupChainLayer(chain, command.base, disk.target.dev, 0);
  const speed = bandwidthBytes(
    command.bandwidth,
    (command.flags & BlockRebaseFlag.BANDWIDTH_BYTES) !== 0,
  );
  await startJob(job, driver, handle, {
    disk: disk.target.dev,
    type: "pull",
    path: chain[0].path,
    result: pullResult(chain, base),
    bandwidthBytes: speed.toString(),
  }, {
    kind: "pull",
    disk: disk.target.dev,
    diskIndex: index,
    chain,
    base,
    bandwidthBytes: speed,
  });
}

async function startCopy(
  job: JobContext,
  driver: Driver,
  command: Extract<BlockJobCommand, { action: "copy" }>,
): Promise<void> {
  checkBlockJobFlags(command.flags, 0xf, "qemuDomainBlockCopyCommon");
  const destination = command.destination;
  if (!destination.path.startsWith("/")) {
    throw new VirtError(ErrorCode.INVALID_ARG, "absolute path must be used as block copy target", {
      where: "dest",
    });
  }
  if (command.bandwidthBytes > BANDWIDTH_MIB_MAX << 20n) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `bandwidth must be less than '${(1n << 63n) - 1n}' bytes/s (${BANDWIDTH_MIB_MAX} MiB/s)`,
      { where: "bandwidth" },
    );
  }
  if (!isActive(job.snapshot)) throw notRunning();
  const { handle, index, disk, chain } = runningDisk(job, command.disk);
  const transientJob = (command.flags & BlockCopyFlag.TRANSIENT_JOB) !== 0;
  if (!transientJob && job.snapshot.context.persistent) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not transient");
  }
  const shallow = (command.flags & BlockCopyFlag.SHALLOW) !== 0 && chain.length > 1;
  const reuse = (command.flags & BlockCopyFlag.REUSE_EXT) !== 0;
  const existing = await destinationState(destination, disk.target.dev, reuse);
  const format = destination.format ?? (reuse ? undefined : chain[0].format);
  if (format === undefined) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "reused mirror destination format must be specified",
    );
  }
  if (shallow && !reuse && format === "raw") {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `shallow copy of disk '${disk.target.dev}' into a raw file is not possible`,
    );
  }
  const layer: ChainLayer = {
    type: destination.type,
    path: destination.path,
    format,
    index: nextImageIndex(job.snapshot.context, chain),
  };
  const reused = reuse || existing === "device";
  await startJob(job, driver, handle, {
    disk: disk.target.dev,
    type: "copy",
    path: chain[0].path,
    result: copyResult(chain, layer, shallow),
    destination: { ...layer, created: !reused },
    bandwidthBytes: command.bandwidthBytes.toString(),
  }, {
    kind: "copy",
    disk: disk.target.dev,
    diskIndex: index,
    chain,
    destination: layer,
    shallow,
    reuse: reused,
    bandwidthBytes: command.bandwidthBytes,
    ...(command.granularityBytes === undefined
      ? {}
      : { granularityBytes: command.granularityBytes }),
    ...(command.bufferBytes === undefined ? {} : { bufferBytes: command.bufferBytes }),
  });
}

/**
 * What the destination is now, with libvirt's checks (`qemuDomainBlockCopyValidateMirror`):
 * absent (made by the job), an empty file, or a block device (always reused).
 */
async function destinationState(
  destination: CopyDestination,
  target: string,
  reuse: boolean,
): Promise<"absent" | "file" | "device"> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(destination.path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    if (reuse || destination.type === "block") {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `missing destination file for disk ${target}: ${destination.path}: No such file or directory`,
        { where: "dest" },
      );
    }
    return "absent";
  }
  if (info.isBlockDevice) return "device";
  if (info.size > 0 && !reuse) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `external destination file for disk ${target} already exists and is not a block device: ${destination.path}`,
      { where: "dest" },
    );
  }
  if (destination.type === "block") {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `blockdev flag requested for disk ${target}, but file '${destination.path}' is not a block device`,
      { where: "dest" },
    );
  }
  return "file";
}

/** An image index no image of the domain has (libvirt numbers every image it opens). */
function nextImageIndex(context: DomainContext, chain: readonly ChainLayer[]): number {
  let highest = 0;
  for (const layer of chain) highest = Math.max(highest, layer.index);
  for (const entry of Object.values(context.blockJobs ?? {})) {
    highest = Math.max(highest, entry.result.top.index);
  }
  return highest + 1;
}

/** Records the intent, asks the driver, records that the job runs (or that it did not start). */
async function startJob(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  start: BlockJobStart,
  request: BlockJobRequest,
): Promise<void> {
  await job.append([{ type: "domain.block_job_starting", body: start }]);
  try {
    await driver.startBlockJob!(handle, request, job.signal);
  } catch (error) {
    await job.append([{ type: "domain.block_job_abandoned", body: { disk: start.disk } }]);
    throw error;
  }
  await job.append([{ type: "domain.block_job_started", body: { disk: start.disk } }]);
}

/** The running job of the disk a command names. */
function runningJob(job: JobContext, name: string): { disk: string; entry: BlockJobEntry } {
  if (!isActive(job.snapshot)) throw notRunning();
  const handle = handleOf(job.snapshot);
  const disk = handle.definition.devices.disks[blockJobDiskIndex(handle.definition, name)];
  const entry = job.snapshot.context.blockJobs?.[disk.target.dev];
  if (entry === undefined || entry.phase === "starting") {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `disk ${disk.target.dev} does not have an active block job`,
    );
  }
  return { disk: disk.target.dev, entry };
}

async function abortJob(
  job: JobContext,
  driver: Driver,
  command: Extract<BlockJobCommand, { action: "abort" }>,
): Promise<void> {
  checkBlockJobFlags(command.flags, 0x3, "qemuDomainBlockJobAbort");
  const { disk, entry } = runningJob(job, command.disk);
  if (entry.phase === "ending") {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `block job on disk '${disk}' is still being ended`,
    );
  }
  const pivot = (command.flags & BlockJobAbortFlag.PIVOT) !== 0;
  if (pivot) checkPivot(disk, entry);
  await job.append([{ type: "domain.block_job_ending", body: { disk, pivot } }]);
  try {
    await driver.endBlockJob!(handleOf(job.snapshot), disk, { pivot }, job.signal);
  } catch (error) {
    // The job runs on as before: the ending intent is taken back (its phase restored).
    await job.append([{ type: "domain.block_job_started", body: { disk } }]);
    throw error;
  }
}

/** libvirt's `qemuBlockPivot` checks: a job once ready (only a copy or an active commit gets so). */
function checkPivot(disk: string, entry: BlockJobEntry): void {
  if (entry.phase !== "ready") {
    throw new VirtError(
      ErrorCode.BLOCK_COPY_ACTIVE,
      `block job '${disk}' not ready for pivot yet`,
    );
  }
  if (entry.type !== "copy" && entry.type !== "active_commit") {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `job type '${entry.type}' does not support pivot`,
    );
  }
}

async function setSpeed(
  job: JobContext,
  driver: Driver,
  command: Extract<BlockJobCommand, { action: "speed" }>,
): Promise<void> {
  checkBlockJobFlags(command.flags, BLOCK_JOB_BANDWIDTH_BYTES, "qemuDomainBlockJobSetSpeed");
  const speed = bandwidthBytes(
    command.bandwidth,
    (command.flags & BLOCK_JOB_BANDWIDTH_BYTES) !== 0,
  );
  const { disk } = runningJob(job, command.disk);
  await driver.setBlockJobSpeed!(handleOf(job.snapshot), disk, speed, job.signal);
}

/** What `virDomainGetBlockJobInfo` answers. */
export interface BlockJobInfoAnswer {
  /** Whether the disk has a job (virsh: `No current block job for vda`). */
  found: boolean;
  /** libvirt's job type number. */
  type: number;
  /** The speed limit: MiB/s (rounded up), or bytes/s with the flag. */
  bandwidth: bigint;
  cur: bigint;
  end: bigint;
}

/**
 * `virDomainGetBlockJobInfo`: the disk's job as the hypervisor reports it, corrected as libvirt
 * corrects it. Not a job of the queue (libvirt's is a query job): it only reads.
 *
 * @throws {VirtError} 55 inactive, 8 an unknown disk, 3 a driver without block jobs.
 */
export async function blockJobInfo(
  inspection: DomainInspection,
  context: DomainContext,
  name: string,
  flags: number,
  signal: AbortSignal,
): Promise<BlockJobInfoAnswer> {
  const driver = inspection.driver;
  if (driver?.blockJobs === undefined) throw unsupported("virDomainGetBlockJobInfo");
  checkBlockJobFlags(flags, BLOCK_JOB_BANDWIDTH_BYTES, "qemuDomainGetBlockJobInfo");
  const handle = inspection.handle;
  if (handle === undefined) throw notRunning();
  const disk = handle.definition.devices.disks[blockJobDiskIndex(handle.definition, name)];
  const entry = context.blockJobs?.[disk.target.dev];
  const none = { found: false, type: 0, bandwidth: 0n, cur: 0n, end: 0n };
  if (entry === undefined) return none;
  const jobs = await driver.blockJobs(handle, signal);
  const raw = jobs.find((each) => each.disk === disk.target.dev);
  const type = BLOCK_JOB_TYPES.indexOf(entry.type);
  // A job the hypervisor no longer lists has ended; its end is on its way: not done yet.
  if (raw === undefined) return { found: true, type, bandwidth: 0n, cur: 0n, end: 1n };
  const progress = reportedProgress({ cur: raw.cur, end: raw.end }, raw.ready);
  const bytes = (flags & BLOCK_JOB_BANDWIDTH_BYTES) !== 0;
  const bandwidth = bytes ? raw.bandwidthBytes : (raw.bandwidthBytes + (1n << 20n) - 1n) >> 20n;
  return { found: true, type, bandwidth, ...progress };
}

/**
 * After a service restart, brings the domain's block jobs in line with the hypervisor: a job
 * whose start was recorded but that does not run did not start (its made destination is
 * removed); a job that runs is recorded as running (and ready, when it is); a job that no
 * longer runs ended meanwhile: as cancelled, since its outcome was not seen (a pivot asked
 * and not seen is recorded as failed rather than guessed as done).
 *
 * @example
 * ```ts ignore
 * await reconcileBlockJobs(job, driver, handle, reality, log);
 * ```
 */
export async function reconcileBlockJobs(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  reality: Reality,
  log: (message: string) => void,
): Promise<void> {
  const entries = Object.values(job.snapshot.context.blockJobs ?? {});
  if (entries.length === 0 || reality.kind === "gone" || driver.blockJobs === undefined) return;
  let jobs;
  try {
    jobs = await driver.blockJobs(handle, job.signal);
  } catch (error) {
    log(`domain ${handle.name}: cannot list its block jobs: ${(error as Error).message}`);
    return;
  }
  for (const entry of entries) {
    const found = jobs.find((each) => each.disk === entry.disk);
    if (found !== undefined && !found.concluded) {
      // Started, or an end asked that QEMU did not carry out (the job runs on): ask again.
      if (entry.phase === "starting" || entry.phase === "ending") {
        await job.append([{ type: "domain.block_job_started", body: { disk: entry.disk } }]);
      }
      const phase = job.snapshot.context.blockJobs?.[entry.disk]?.phase;
      if (found.ready === true && phase === "running") {
        await job.append([{
          type: "domain.block_job_ready",
          body: { disk: entry.disk, type: entry.type, path: entry.path },
        }]);
      }
      continue;
    }
    if (entry.phase === "starting") {
      log(`domain ${handle.name}: the block job of ${entry.disk} did not start`);
      await job.append([{ type: "domain.block_job_abandoned", body: { disk: entry.disk } }]);
      if (entry.destination?.created === true) {
        await driver.removeBlockJobFile?.(handle, entry.destination.path);
      }
      continue;
    }
    log(`domain ${handle.name}: the block job of ${entry.disk} ended while the service was down`);
    await job.append([{
      type: "domain.block_job_ended",
      body: {
        disk: entry.disk,
        type: entry.type,
        path: entry.path,
        ...missedOutcome(entry, found),
      },
    }]);
    if (found !== undefined) await driver.dismissBlockJob?.(handle, entry.disk);
    const ended = job.snapshot.context.blockJobs?.[entry.disk] === undefined;
    if (ended && missedOutcome(entry, found).status === "completed") {
      await deleteCommittedImages(driver, handle, entry, log);
    }
  }
}

/**
 * Deletes the images a completed commit took out of the chain when it was asked to
 * (`blockcommit --delete`, recorded in the job's start): as libvirt, an image that cannot be
 * removed is only logged, the job's success stands.
 */
export async function deleteCommittedImages(
  driver: Driver,
  handle: DomainHandle,
  entry: Pick<BlockJobEntry, "disk" | "deleteImages">,
  log: (message: string) => void,
): Promise<void> {
  for (const path of entry.deleteImages ?? []) {
    try {
      if (driver.removeBlockJobFile === undefined) throw new Error("the driver removes no images");
      await driver.removeBlockJobFile(handle, path);
    } catch (error) {
      log(
        `domain ${handle.name}: unable to remove snapshot image file '${path}' of ${entry.disk}: ${
          (error as Error).message
        }`,
      );
    }
  }
}

/**
 * The outcome of a job that ended unseen: a concluded job's error says it failed; without one,
 * a commit or pull completed, and a copy or active commit completed only if a pivot was asked
 * (else it was cancelled). A job the hypervisor no longer lists at all ended unknown: failed.
 */
function missedOutcome(
  entry: BlockJobEntry,
  found: { concluded: boolean; error?: string } | undefined,
): { status: "completed" | "failed" | "canceled"; error?: string } {
  if (found === undefined) {
    return { status: "failed", error: "the job ended while the service was not watching" };
  }
  if (found.error !== undefined) {
    const pivotless = entry.type === "copy" || entry.type === "active_commit";
    if (pivotless && !(entry.phase === "ending" && entry.pivot === true)) {
      return { status: "canceled" };
    }
    return { status: "failed", error: found.error };
  }
  if (entry.type === "commit" || entry.type === "pull") return { status: "completed" };
  return entry.phase === "ending" && entry.pivot === true
    ? { status: "completed" }
    : { status: "canceled" };
}

/** How long `blockjob --abort` (without `--async`) waits for the job to end, in ms. */
export const BLOCK_JOB_END_WAIT_MS = 60_000;

/** What {@linkcode awaitBlockJobEnd} watches. */
export interface BlockJobEndSource {
  /** The domain's block jobs now. */
  jobs(uuid: string): Record<string, BlockJobEntry> | undefined;
  /** Tells of facts applied to a domain. */
  onApplied(
    listener: (uuid: string, facts: { fact: { type: string; body: unknown } }[]) => void,
  ): () => void;
}

/**
 * Waits until the disk's job has ended (libvirt's synchronous abort and pivot).
 *
 * @returns The ending fact's status, or undefined when it had already ended.
 * @throws {VirtError} 9 `block job 'X' failed while pivoting: …` for a failed pivot; 68 after
 *   `timeoutMs`.
 */
export function awaitBlockJobEnd(
  source: BlockJobEndSource,
  uuid: string,
  disk: string,
  pivot: boolean,
  timeoutMs: number = BLOCK_JOB_END_WAIT_MS,
): Promise<string | undefined> {
  if (source.jobs(uuid)?.[disk] === undefined) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      outcome();
    };
    const timer = setTimeout(() =>
      finish(() =>
        reject(
          new VirtError(
            ErrorCode.OPERATION_TIMEOUT,
            `block job of disk '${disk}' did not end within ${timeoutMs} ms`,
          ),
        )
      ), timeoutMs);
    const unsubscribe = source.onApplied((changed, facts) => {
      if (changed !== uuid) return;
      for (const { fact } of facts) {
        const body = fact.body as { disk?: string; status?: string; error?: string };
        if (body.disk !== disk) continue;
        if (fact.type === "domain.block_job_abandoned") return finish(() => resolve(undefined));
        if (fact.type !== "domain.block_job_ended") continue;
        if (pivot && body.status === "failed") {
          const detail = body.error === undefined ? "" : `: ${body.error}`;
          return finish(() =>
            reject(
              new VirtError(
                ErrorCode.OPERATION_FAILED,
                `block job '${disk}' failed while pivoting${detail}`,
              ),
            )
          );
        }
        return finish(() => resolve(body.status));
      }
    });
  });
}

export type { BlockJobResult };
