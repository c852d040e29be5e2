/**
 * Block jobs of a running QEMU instance, as libvirt 9.0's QEMU driver runs them with
 * `-blockdev`: a commit is `block-commit` (root, top and base by node name), a pull is
 * `block-stream`, a copy is `blockdev-mirror` to nodes added for the destination (made first
 * with `qemu-img create` unless it is reused, and given to a confined QEMU as a start gives its
 * images). A pivot is `block-job-complete`, an abort `block-job-cancel` (forced, so an aborted
 * copy ends as cancelled); `query-block-jobs` tells how far each job is. Jobs run with
 * `auto-dismiss` off and are dismissed once their end was reported, so an end the service
 * missed is still found, with its outcome, after a restart.
 *
 * Each job's id names its disk (`evirt-blockjob-vda`), so the job's events and a job found again
 * after a service restart are attributed without any state of the driver's own. Images are
 * found by path among QEMU's format nodes (`query-named-block-nodes`), which holds whatever the
 * chain's nodes are called: those of the start, of a hotplug, or of an earlier copy.
 *
 * @module
 */

import type { BlockJobInfo, BlockJobRequest } from "../../actors/driver_protocol.ts";
import type { ChainLayer } from "../../src/model/block_jobs.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { qemuImgCreateArgs, runQemuImg } from "../../src/storage/qemu_img.ts";
import type { QmpBlockDeviceInfo, QmpExecutor } from "./qmp_commands.ts";

/** The prefix of evirt's block job ids; the disk's target follows. */
export const BLOCK_JOB_ID_PREFIX = "evirt-blockjob-";

/** Node names a copy destination may take per disk before the driver gives up. */
const COPY_NODE_NAMES_MAX = 64;

/** Drivers of protocol nodes (the file under a format node), which name the same path. */
const PROTOCOL_DRIVERS: ReadonlySet<string> = new Set(["file", "host_device", "host_cdrom"]);

/** Formats whose QEMU driver takes a `backing` node. */
const FORMATS_WITH_BACKING: ReadonlySet<string> = new Set(["qcow2", "qcow", "qed", "vmdk"]);

/**
 * The job id of a disk's block job.
 *
 * @example
 * ```ts
 * import { jobIdOf } from "./qemu_block_jobs.ts";
 * console.log(jobIdOf("vda")); // "evirt-blockjob-vda"
 * ```
 */
export function jobIdOf(disk: string): string {
  return `${BLOCK_JOB_ID_PREFIX}${disk}`;
}

/**
 * The disk a job id names, or undefined for a job that is not evirt's.
 *
 * @example
 * ```ts
 * import { diskOfJobId } from "./qemu_block_jobs.ts";
 * console.log(diskOfJobId("evirt-blockjob-vdb"), diskOfJobId("commit-x")); // "vdb" undefined
 * ```
 */
export function diskOfJobId(id: string): string | undefined {
  if (!id.startsWith(BLOCK_JOB_ID_PREFIX)) return undefined;
  const disk = id.slice(BLOCK_JOB_ID_PREFIX.length);
  return disk === "" ? undefined : disk;
}

/** The names of a copy destination's two nodes. */
export interface CopyNodes {
  storage: string;
  format: string;
}

/** What starting a job needs besides the monitor. */
export interface BlockJobContext {
  signal: AbortSignal;
  /** Gives a file to a confined QEMU (DAC labels); answers the paths given. */
  label(layer: ChainLayer): string[];
  /** Takes back what `label` gave. */
  giveBack(paths: readonly string[]): void;
}

/** What a started copy leaves for its end: its nodes and the files it gave QEMU. */
export interface StartedCopy {
  nodes: CopyNodes;
  given: string[];
  /** The destination was made by the job. */
  created: string | undefined;
}

/** Every block node of the instance (`query-named-block-nodes`, flat). */
export async function namedNodes(
  qmp: QmpExecutor,
  signal: AbortSignal,
): Promise<QmpBlockDeviceInfo[]> {
  const reply = await qmp.execute("query-named-block-nodes", { flat: true }, { signal });
  if (!Array.isArray(reply)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "query-named-block-nodes reply was not an array");
  }
  return reply as QmpBlockDeviceInfo[];
}

/** The format node opened on each path (the first one QEMU lists). */
export function formatNodesByPath(
  nodes: readonly QmpBlockDeviceInfo[],
): Map<string, QmpBlockDeviceInfo> {
  const byPath = new Map<string, QmpBlockDeviceInfo>();
  for (const node of nodes) {
    if (PROTOCOL_DRIVERS.has(node.drv) || node["node-name"] === undefined) continue;
    if (!byPath.has(node.file)) byPath.set(node.file, node);
  }
  return byPath;
}

/**
 * The format node opened on `layer`'s path.
 *
 * @throws {VirtError} Code 9 when the instance has not opened it.
 */
export function nodeOf(
  byPath: Map<string, QmpBlockDeviceInfo>,
  layer: ChainLayer,
  disk: string,
): string {
  const node = byPath.get(layer.path)?.["node-name"];
  if (node === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `image '${layer.path}' of disk '${disk}' is not open in the instance`,
    );
  }
  return node;
}

function speedOf(bandwidthBytes: bigint): { speed?: number } {
  if (bandwidthBytes === 0n) return {};
  if (bandwidthBytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.OVERFLOW, `bandwidth ${bandwidthBytes} is too large`, {
      where: "bandwidth",
    });
  }
  return { speed: Number(bandwidthBytes) };
}

/**
 * Starts a commit or a pull.
 *
 * @throws {VirtError} QEMU's refusal; 9 when an image of the chain is not open in QEMU.
 */
export async function startChainJob(
  qmp: QmpExecutor,
  request: Extract<BlockJobRequest, { kind: "commit" | "pull" }>,
  signal: AbortSignal,
): Promise<void> {
  const nodes = await namedNodes(qmp, signal);
  const byPath = formatNodesByPath(nodes);
  const root = nodeOf(byPath, request.chain[0], request.disk);
  const common = {
    "job-id": jobIdOf(request.disk),
    device: root,
    "auto-dismiss": false,
    ...speedOf(request.bandwidthBytes),
  };
  if (request.kind === "commit") {
    // The base is opened read-only as a backing image; the commit writes into it.
    await reopenReadWrite(qmp, nodes, request, request.base, signal);
    await qmp.execute("block-commit", {
      ...common,
      "top-node": nodeOf(byPath, request.chain[request.top], request.disk),
      "base-node": nodeOf(byPath, request.chain[request.base], request.disk),
    }, { signal });
    return;
  }
  const base = request.base === undefined
    ? {}
    : { "base-node": nodeOf(byPath, request.chain[request.base], request.disk) };
  await qmp.execute("block-stream", { ...common, ...base }, { signal });
}

/**
 * Makes a backing image writable (`blockdev-reopen` of its protocol and format nodes with
 * `read-only` off), as libvirt does before a commit into it: the nodes were opened read-only
 * explicitly, which QEMU does not lift by itself. Every option of the nodes is given again, as
 * the command wants; the format node keeps its backing node.
 *
 * @throws {VirtError} 9 when an image of the chain is not open in QEMU; QEMU's refusal.
 */
export async function reopenReadWrite(
  qmp: QmpExecutor,
  nodes: readonly QmpBlockDeviceInfo[],
  request: { disk: string; chain: ChainLayer[] },
  position: number,
  signal: AbortSignal,
): Promise<void> {
  const layer = request.chain[position];
  const format = formatNodesByPath(nodes).get(layer.path);
  if (format === undefined || !format.ro) return;
  const protocol = nodes.find((node) =>
    PROTOCOL_DRIVERS.has(node.drv) && node.file === layer.path && node["node-name"] !== undefined
  );
  if (protocol === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `image '${layer.path}' of disk '${request.disk}' is not open in the instance`,
    );
  }
  const below = request.chain[position + 1];
  const backing = FORMATS_WITH_BACKING.has(format.drv)
    ? {
      backing: below === undefined ? null : nodeOf(formatNodesByPath(nodes), below, request.disk),
    }
    : {};
  await qmp.execute("blockdev-reopen", {
    options: [
      {
        driver: protocol.drv,
        filename: layer.path,
        "node-name": protocol["node-name"],
        "read-only": false,
      },
      {
        driver: format.drv,
        file: protocol["node-name"],
        "node-name": format["node-name"],
        "read-only": false,
        ...backing,
      },
    ],
  }, { signal });
}

/** Node names for a copy of `disk` that no node has yet. */
function freeCopyNodes(nodes: readonly QmpBlockDeviceInfo[], disk: string): CopyNodes {
  const taken = new Set(nodes.map((node) => node["node-name"]));
  for (let number = 1; number <= COPY_NODE_NAMES_MAX; number++) {
    const candidate = {
      storage: `copy${number}-${disk}-storage`,
      format: `copy${number}-${disk}-format`,
    };
    if (!taken.has(candidate.storage) && !taken.has(candidate.format)) return candidate;
  }
  throw new VirtError(ErrorCode.OPERATION_FAILED, `too many block copies of disk '${disk}'`);
}

/**
 * Starts a copy: makes the destination unless it is reused (its size the disk's, over the same
 * backing images for a shallow copy), gives it to QEMU, adds its nodes and starts the mirror.
 * What was done is undone when a step fails.
 *
 * @throws {VirtError} qemu-img's or QEMU's refusal.
 */
export async function startCopy(
  qmp: QmpExecutor,
  request: Extract<BlockJobRequest, { kind: "copy" }>,
  context: BlockJobContext,
): Promise<StartedCopy> {
  const { signal } = context;
  const nodes = await namedNodes(qmp, signal);
  const byPath = formatNodesByPath(nodes);
  const top = byPath.get(request.chain[0].path);
  const root = nodeOf(byPath, request.chain[0], request.disk);
  const below = request.shallow && request.chain.length > 1 ? request.chain[1] : undefined;
  const destination = request.destination;
  const names = freeCopyNodes(nodes, request.disk);
  let created: string | undefined;
  if (!request.reuse) {
    await runQemuImg(qemuImgCreateArgs({
      path: destination.path,
      format: destination.format,
      capacityBytes: top?.image?.["virtual-size"],
      ...(below === undefined ? {} : { backing: { path: below.path, format: below.format } }),
    }));
    created = destination.path;
  }
  const given = context.label(destination);
  const added: string[] = [];
  try {
    await qmp.execute("blockdev-add", {
      driver: destination.type === "block" ? "host_device" : "file",
      filename: destination.path,
      "node-name": names.storage,
    }, { signal });
    added.push(names.storage);
    const backing = FORMATS_WITH_BACKING.has(destination.format)
      ? { backing: below === undefined ? null : nodeOf(byPath, below, request.disk) }
      : {};
    await qmp.execute("blockdev-add", {
      driver: destination.format,
      file: names.storage,
      "node-name": names.format,
      ...backing,
    }, { signal });
    added.push(names.format);
    await qmp.execute("blockdev-mirror", {
      "job-id": jobIdOf(request.disk),
      device: root,
      target: names.format,
      sync: below === undefined ? "full" : "top",
      "auto-dismiss": false,
      ...speedOf(request.bandwidthBytes),
      ...(request.granularityBytes === undefined ? {} : { granularity: request.granularityBytes }),
      ...(request.bufferBytes === undefined ? {} : { "buf-size": Number(request.bufferBytes) }),
    }, { signal });
  } catch (error) {
    await removeNodes(qmp, added.reverse());
    context.giveBack(given);
    if (created !== undefined) await Deno.remove(created).catch(() => {});
    throw error;
  }
  return { nodes: names, given, created };
}

/** Most rounds of {@linkcode pruneLeftNodes}: one per image of the longest chain and its file. */
const PRUNE_ROUNDS_MAX = 2 * 65;

/**
 * After a pivot, removes the nodes of the images the disk left (the old top of an active
 * commit, the whole old chain of a full copy), as libvirt does: QEMU keeps them, linked to their
 * backing nodes, which then count as used and refuse a later job ("Need a root block node").
 * Only nodes opened on `paths` are tried; a node still used refuses and stays. Rounds repeat
 * while one removes something (a format node first frees its file node).
 */
export async function pruneLeftNodes(
  qmp: QmpExecutor,
  paths: readonly string[],
): Promise<void> {
  for (let round = 0; round < PRUNE_ROUNDS_MAX; round++) {
    const nodes = await namedNodes(qmp, AbortSignal.timeout(5_000));
    let removed = 0;
    for (const node of nodes) {
      const name = node["node-name"];
      if (name === undefined || !paths.includes(node.file)) continue;
      try {
        await qmp.execute("blockdev-del", { "node-name": name });
        removed++;
      } catch {
        // Still used (the disk's chain, or a parent not removed yet).
      }
    }
    if (removed === 0) return;
  }
}

/** Removes nodes nothing uses any more, last added first; a refusal leaves that node. */
export async function removeNodes(qmp: QmpExecutor, names: readonly string[]): Promise<void> {
  for (const name of names) {
    try {
      await qmp.execute("blockdev-del", { "node-name": name });
    } catch {
      // Still in use (or gone): it stays as QEMU has it.
    }
  }
}

/** Ends a disk's job: `block-job-complete` to pivot, else a forced `block-job-cancel`. */
export async function endJob(
  qmp: QmpExecutor,
  disk: string,
  pivot: boolean,
  signal: AbortSignal,
): Promise<void> {
  if (pivot) {
    await qmp.execute("block-job-complete", { device: jobIdOf(disk) }, { signal });
  } else {
    await qmp.execute("block-job-cancel", { device: jobIdOf(disk), force: true }, { signal });
  }
}

/**
 * Dismisses a disk's concluded job (jobs run with `auto-dismiss` off, so a job that ends while
 * the service is down stays listed with its outcome until the service has seen it).
 */
export async function dismissJob(qmp: QmpExecutor, disk: string): Promise<void> {
  try {
    await qmp.execute("job-dismiss", { id: jobIdOf(disk) });
  } catch {
    // Already dismissed, or not concluded yet: nothing is left to dismiss.
  }
}

/** Sets a disk's job's speed limit (`block-job-set-speed`; 0: none). */
export async function setJobSpeed(
  qmp: QmpExecutor,
  disk: string,
  bandwidthBytes: bigint,
  signal: AbortSignal,
): Promise<void> {
  await qmp.execute("block-job-set-speed", {
    device: jobIdOf(disk),
    speed: speedOf(bandwidthBytes).speed ?? 0,
  }, { signal });
}

/**
 * evirt's jobs QEMU runs (`query-block-jobs`), in evirt's terms.
 *
 * @example
 * ```ts ignore
 * const jobs = await queryJobs(monitor, signal); // [{ disk: "vda", cur: 1048576n, … }]
 * ```
 */
export async function queryJobs(qmp: QmpExecutor, signal: AbortSignal): Promise<BlockJobInfo[]> {
  const reply = await qmp.execute("query-block-jobs", undefined, { signal });
  if (!Array.isArray(reply)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "query-block-jobs reply was not an array");
  }
  const jobs: BlockJobInfo[] = [];
  for (const entry of reply as Record<string, unknown>[]) {
    const disk = typeof entry.device === "string" ? diskOfJobId(entry.device) : undefined;
    if (disk === undefined) continue;
    jobs.push({
      disk,
      cur: BigInt(typeof entry.offset === "number" ? entry.offset : 0),
      end: BigInt(typeof entry.len === "number" ? entry.len : 0),
      bandwidthBytes: BigInt(typeof entry.speed === "number" ? entry.speed : 0),
      ...(typeof entry.ready === "boolean" ? { ready: entry.ready } : {}),
      concluded: entry.status === "concluded" || entry.status === "null",
      ...(typeof entry.error === "string" ? { error: entry.error } : {}),
    });
  }
  return jobs;
}
