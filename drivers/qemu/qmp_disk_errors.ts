/**
 * The disks QEMU stopped doing I/O on, from `query-block`'s `io-status` (kept by devices that
 * stop on errors: virtio-blk, SCSI and IDE disks). `nospace` is the host's ENOSPC; `failed` is
 * any other error. A disk QEMU does not list, or lists as `ok`, has no error.
 *
 * @module
 */

import type { DiskError } from "../../src/storage/block_figures.ts";
import { qdevMatches, type RunningDisk } from "./block_node_facts.ts";
import type { QmpBlockInfo } from "./qmp_commands.ts";

/**
 * The errors of `disks` in `query-block`'s reply, in the disks' order.
 *
 * @param blocks `query-block`'s reply.
 * @param disks The instance's disks, as the driver names them.
 * @returns One entry per disk whose I/O status is not `ok`.
 *
 * @example
 * ```ts
 * import { diskErrorsOf } from "./qmp_disk_errors.ts";
 * const blocks = [{ device: "", qdev: "/machine/peripheral/virtio-disk0/virtio-backend",
 *   removable: false, locked: false, "io-status": "nospace" as const }];
 * console.log(diskErrorsOf(blocks, [{ target: "vda", qdevId: "virtio-disk0" }]));
 * // [{ target: "vda", error: "no-space" }]
 * ```
 */
export function diskErrorsOf(
  blocks: readonly QmpBlockInfo[],
  disks: readonly RunningDisk[],
): DiskError[] {
  const errors: DiskError[] = [];
  for (const disk of disks) {
    const block = blocks.find((each) => matches(each, disk));
    const status = block?.["io-status"];
    if (status === undefined || status === "ok") continue;
    errors.push({ target: disk.target, error: status === "nospace" ? "no-space" : "unspecified" });
  }
  return errors;
}

function matches(block: QmpBlockInfo, disk: RunningDisk): boolean {
  if (disk.nodeName !== undefined && block.inserted?.["node-name"] === disk.nodeName) return true;
  const id = disk.qdevId;
  if (id === undefined || id === "") return false;
  return (typeof block.qdev === "string" && qdevMatches(block.qdev, id)) || block.device === id;
}
