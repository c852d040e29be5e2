/**
 * Snapshots of QEMU guests, as libvirt's QEMU driver takes them:
 *
 * - **internal**, inside each qcow2 image under the snapshot's name: of a running instance with
 *   QMP's `snapshot-save` job (its memory state in the first disk), removed with
 *   `snapshot-delete`, brought back by starting a new instance with `-loadvm`; of a shut-off
 *   domain with `qemu-img snapshot -c`, `-a` (revert) and `-d` (delete);
 * - **external** (disk-only): a new qcow2 overlay on each disk, backed by its image; made by
 *   `qemu-img create`, and for a running instance opened by QEMU and put on top of each disk in
 *   one `transaction` of `blockdev-snapshot`s, so either every disk moved or none did.
 *
 * @module
 */

import type {
  SnapshotDriver,
  SnapshotMerge,
  SnapshotOverlay,
  SnapshotTarget,
} from "../../actors/driver_protocol.ts";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { runQemuImg } from "../../src/storage/qemu_img.ts";
import {
  formatNodesByPath,
  namedNodes,
  nodeOf,
  removeNodes,
  reopenReadWrite,
} from "./qemu_block_jobs.ts";
import type { QmpExecutor } from "./qmp_commands.ts";

/** Longest a snapshot job (`snapshot-save`, `snapshot-delete`) may run, in ms. */
export const SNAPSHOT_JOB_TIMEOUT_MS = 600_000;
/** How often a running snapshot job is asked about, in ms. */
const SNAPSHOT_JOB_POLL_MS = 100;

/** What the snapshots need from the QEMU driver. */
export interface QemuSnapshotHost {
  /** The monitor of a running instance. */
  monitorOf(target: SnapshotTarget): QmpExecutor;
  /** Gives new overlay files to a confined QEMU (DAC); answers what was given. */
  label(target: SnapshotTarget, overlay: SnapshotOverlay): string[];
  /** Takes back what `label` gave. */
  giveBack(target: SnapshotTarget, paths: readonly string[]): void;
}

function diskOf(definition: DomainDefinition, target: string): Disk {
  const disk = definition.devices.disks.find((each) => each.target.dev === target);
  if (disk === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `no disk named '${target}'`);
  }
  return disk;
}

function pathOf(disk: Disk): string {
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  if (path === undefined || path === "") {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `Disk device '${disk.target.dev}' does not support snapshotting`,
    );
  }
  return path;
}

/** Runs `fn` on each item; when one fails, `undo` runs on those done (errors ignored). */
async function eachOrUndo<T>(
  items: readonly T[],
  fn: (item: T) => Promise<void>,
  undo: (item: T) => Promise<void>,
): Promise<void> {
  const done: T[] = [];
  try {
    for (const item of items) {
      await fn(item);
      done.push(item);
    }
  } catch (error) {
    for (const item of done.reverse()) await undo(item).catch(() => {});
    throw error;
  }
}

/** The format node on top of each disk of a running instance (by the disk's source path). */
async function topNodes(
  qmp: QmpExecutor,
  definition: DomainDefinition,
  disks: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const byPath = formatNodesByPath(await namedNodes(qmp, signal));
  return disks.map((target) => {
    const disk = diskOf(definition, target);
    return nodeOf(byPath, {
      type: disk.type === "block" ? "block" : "file",
      path: pathOf(disk),
      format: disk.driver?.type ?? "raw",
      index: 0,
    }, target);
  });
}

/** One snapshot job's id: unique among the instance's jobs (block jobs are `evirt-block-…`). */
function jobId(kind: "save" | "delete" | "commit"): string {
  return `evirt-snapshot-${kind}`;
}

/**
 * Waits for the job `id` to conclude, dismisses it and throws its error, if any; a job that
 * gets ready (an active commit) is completed (`job-complete`: the disk pivots below it).
 *
 * @throws {VirtError} Code 9 with QEMU's error; 68 past {@linkcode SNAPSHOT_JOB_TIMEOUT_MS}.
 */
async function waitForJob(qmp: QmpExecutor, id: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + SNAPSHOT_JOB_TIMEOUT_MS;
  while (true) {
    const jobs = await qmp.execute("query-jobs", {}, { signal }) as {
      id: string;
      status: string;
      error?: string;
    }[];
    const job = jobs.find((each) => each.id === id);
    if (job === undefined) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, `snapshot job '${id}' vanished`);
    }
    if (job.status === "ready") {
      await qmp.execute("job-complete", { id }, { signal });
    } else if (job.status === "concluded" || job.status === "null") {
      await qmp.execute("job-dismiss", { id }, { signal }).catch(() => {});
      if (job.error !== undefined) {
        throw new VirtError(ErrorCode.OPERATION_FAILED, job.error);
      }
      return;
    }
    if (Date.now() > deadline) {
      await qmp.execute("job-cancel", { id }, { signal }).catch(() => {});
      throw new VirtError(
        ErrorCode.OPERATION_TIMEOUT,
        `snapshot job '${id}' did not finish within ${SNAPSHOT_JOB_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_JOB_POLL_MS));
    signal.throwIfAborted();
  }
}

/** The QEMU driver's snapshots (see the module). */
export function qemuSnapshots(host: QemuSnapshotHost): SnapshotDriver {
  return {
    keepsInactiveDefinition: true,
    createFunction: "qemuDomainSnapshotCreateXML",
    deleteFunction: "qemuDomainSnapshotDelete",
    metadataOnly: false,
    checkInternal(definition, disks) {
      for (const target of disks) {
        const disk = diskOf(definition, target);
        pathOf(disk);
        const format = disk.driver?.type ?? "raw";
        if (format !== "qcow2") {
          throw new VirtError(
            ErrorCode.OPERATION_UNSUPPORTED,
            `internal snapshot for disk ${target} unsupported for storage type ${format}`,
          );
        }
        if (disk.readonly === true) {
          throw new VirtError(
            ErrorCode.CONFIG_UNSUPPORTED,
            `internal snapshot of a read-only disk ${target} is not supported`,
          );
        }
      }
    },
    async createInternal(target, name, disks, signal) {
      if (target.handle === undefined) {
        const paths = disks.map((each) => pathOf(diskOf(target.definition, each)));
        await eachOrUndo(
          paths,
          (path) => runQemuImg(["snapshot", "-c", name, path]),
          (path) => runQemuImg(["snapshot", "-d", name, path]),
        );
        return;
      }
      const qmp = host.monitorOf(target);
      const devices = await topNodes(qmp, target.definition, disks, signal);
      await qmp.execute("snapshot-save", {
        "job-id": jobId("save"),
        tag: name,
        vmstate: devices[0],
        devices,
      }, { signal });
      await waitForJob(qmp, jobId("save"), signal);
    },
    async revertInternal(definition, name, disks) {
      for (const target of disks) {
        await runQemuImg(["snapshot", "-a", name, pathOf(diskOf(definition, target))]);
      }
    },
    async deleteInternal(target, name, disks, signal) {
      if (target.handle === undefined) {
        for (const each of disks) {
          await runQemuImg(["snapshot", "-d", name, pathOf(diskOf(target.definition, each))]);
        }
        return;
      }
      const qmp = host.monitorOf(target);
      const devices = await topNodes(qmp, target.definition, disks, signal);
      await qmp.execute("snapshot-delete", {
        "job-id": jobId("delete"),
        tag: name,
        devices,
      }, { signal });
      await waitForJob(qmp, jobId("delete"), signal);
    },
    async createExternal(target, overlays, signal) {
      const created: string[] = [];
      const given: string[] = [];
      const added: string[] = [];
      const qmp = target.handle === undefined ? undefined : host.monitorOf(target);
      try {
        const nodes = qmp === undefined ? [] : await namedNodes(qmp, signal);
        const byPath = formatNodesByPath(nodes);
        const actions: Record<string, unknown>[] = [];
        for (const overlay of overlays) {
          const below = byPath.get(overlay.backingPath);
          if (!overlay.reuse) {
            // A running QEMU holds the backing image locked: the size comes from QEMU, and
            // qemu-img does not open the backing image (-u).
            const size = below?.image?.["virtual-size"];
            await runQemuImg([
              "create",
              "-f",
              overlay.format,
              ...(qmp === undefined ? [] : ["-u"]),
              "-b",
              overlay.backingPath,
              "-F",
              overlay.backingFormat,
              overlay.path,
              ...(qmp === undefined || size === undefined ? [] : [String(size)]),
            ]);
            created.push(overlay.path);
          }
          if (qmp === undefined) continue;
          given.push(...host.label(target, overlay));
          const names = freeNames(nodes, overlay.disk);
          await qmp.execute("blockdev-add", {
            driver: "file",
            filename: overlay.path,
            "node-name": names.storage,
          }, { signal });
          added.push(names.storage);
          await qmp.execute("blockdev-add", {
            driver: overlay.format,
            file: names.storage,
            "node-name": names.format,
            backing: null,
          }, { signal });
          added.push(names.format);
          actions.push({
            type: "blockdev-snapshot",
            data: {
              node: nodeOf(byPath, {
                type: "file",
                path: overlay.backingPath,
                format: overlay.backingFormat,
                index: 0,
              }, overlay.disk),
              overlay: names.format,
            },
          });
        }
        if (qmp !== undefined) await qmp.execute("transaction", { actions }, { signal });
      } catch (error) {
        if (qmp !== undefined) await removeNodes(qmp, added.reverse()).catch(() => {});
        if (given.length > 0) host.giveBack(target, given);
        for (const path of created) await Deno.remove(path).catch(() => {});
        throw error;
      }
    },
    async deleteExternal(target, merges, signal) {
      if (target.handle === undefined) {
        for (const merge of merges) await mergeOffline(merge);
      } else {
        const qmp = host.monitorOf(target);
        for (const merge of merges) await mergeLive(qmp, merge, signal);
      }
      const removed = merges.map((merge) => merge.chain[merge.position].path);
      if (target.handle !== undefined) host.giveBack(target, removed);
      for (const path of removed) await Deno.remove(path).catch(() => {});
    },
    async overlaysInUse(target, paths, signal) {
      const blocks = await host.monitorOf(target).execute("query-block", {}, { signal }) as {
        inserted?: { file?: string };
      }[];
      const tops = new Set(blocks.map((block) => block.inserted?.file));
      // One transaction moved every disk or none: any overlay on top tells.
      return paths.some((path) => tops.has(path));
    },
  };
}

/** The overlay and the image below it that receives it; refused when there is none below. */
function mergeLayers(merge: SnapshotMerge) {
  const overlay = merge.chain[merge.position];
  const below = merge.chain[merge.position + 1];
  if (overlay === undefined || below === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `snapshot disk source and VM disk source backing store are not the same for disk '${merge.disk}'`,
    );
  }
  return { overlay, below, above: merge.chain[merge.position - 1] };
}

/** A shut-off disk: `qemu-img commit` into the image below, the image above rebased onto it. */
async function mergeOffline(merge: SnapshotMerge): Promise<void> {
  const { overlay, below, above } = mergeLayers(merge);
  await runQemuImg(["commit", "-f", overlay.format, "-b", below.path, overlay.path]);
  if (above !== undefined) {
    // Unsafe rebase: the data is the same, only the name of the backing image changes.
    await runQemuImg([
      "rebase",
      "-u",
      "-f",
      above.format,
      "-b",
      below.path,
      "-F",
      below.format,
      above.path,
    ]);
  }
}

/**
 * A running disk: a commit job of the overlay into the image below (active and completed when
 * the overlay is the disk's top), then the overlay's nodes removed.
 */
async function mergeLive(qmp: QmpExecutor, merge: SnapshotMerge, signal: AbortSignal) {
  const { overlay, below } = mergeLayers(merge);
  const nodes = await namedNodes(qmp, signal);
  const byPath = formatNodesByPath(nodes);
  await reopenReadWrite(qmp, nodes, merge, merge.position + 1, signal);
  await qmp.execute("block-commit", {
    "job-id": jobId("commit"),
    device: nodeOf(byPath, merge.chain[0], merge.disk),
    "top-node": nodeOf(byPath, overlay, merge.disk),
    "base-node": nodeOf(byPath, below, merge.disk),
    "auto-dismiss": false,
  }, { signal });
  await waitForJob(qmp, jobId("commit"), signal);
  // The overlay's format node first, then its protocol node: nothing uses them any more.
  const left = (await namedNodes(qmp, signal)).filter((node) => node.file === overlay.path);
  const names = [
    ...left.filter((node) => node.drv !== "file"),
    ...left.filter((n) => n.drv === "file"),
  ]
    .map((node) => node["node-name"]).filter((name): name is string => name !== undefined);
  await removeNodes(qmp, names);
}

/** Node names for a disk's new overlay that the instance does not use yet. */
function freeNames(
  nodes: readonly { "node-name"?: string }[],
  disk: string,
): { storage: string; format: string } {
  const taken = new Set(nodes.map((node) => node["node-name"]));
  for (let number = 1; number <= OVERLAY_NODE_NAMES_MAX; number++) {
    const storage = `snap${number}-${disk}-storage`;
    const format = `snap${number}-${disk}-format`;
    if (!taken.has(storage) && !taken.has(format)) return { storage, format };
  }
  throw new VirtError(ErrorCode.OPERATION_FAILED, `too many snapshot overlays on disk '${disk}'`);
}

/** Most overlays one disk may get while its instance runs. */
const OVERLAY_NODE_NAMES_MAX = 1024;
