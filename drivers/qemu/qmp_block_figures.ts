/**
 * QEMU's block replies turned into evirt's own {@linkcode BlockFigures}: the one place where
 * `query-blockstats` and `query-named-block-nodes` meet the driver protocol. Above this file
 * nothing knows QMP's shapes; the block info rules (`src/storage/block_info.ts`) work on the
 * figures alone.
 *
 * @module
 */

import { VirtError } from "../../src/model/errors.ts";
import type { BlockFigures, ContainerKind } from "../../src/storage/block_figures.ts";
import { blockNodeFacts, type BlockQmpReplies, type RunningDisk } from "./block_node_facts.ts";

/** QEMU's protocol drivers of a regular file; anything else (`host_device`, …) is a device. */
const FILE_PROTOCOL_DRIVERS: ReadonlySet<string> = new Set(["file"]);

/**
 * One disk's figures from QEMU's raw replies. A reply that cannot be read becomes the figures'
 * `fault` (so one malformed entry never hides the other disks); a node QEMU does not list, or a
 * missing virtual size, becomes `imageGap`.
 *
 * @param qmp The raw `return` values of `query-blockstats` and `query-named-block-nodes`.
 * @param disk How the QEMU driver named the disk.
 * @returns The disk's figures.
 * @throws {TypeError} When `disk` names neither a node nor a device (a programming error).
 *
 * @example A raw disk written at 100 MiB
 * ```ts
 * import { qmpBlockFigures } from "./qmp_block_figures.ts";
 * const figures = qmpBlockFigures({
 *   blockstats: [{
 *     "device": "",
 *     "node-name": "fmt-vda",
 *     "stats": {},
 *     "parent": { "node-name": "file-vda", "stats": { "wr_highest_offset": 106954752 } },
 *   }],
 *   namedNodes: [
 *     { "node-name": "fmt-vda", "drv": "raw", "image": { "virtual-size": 1073741824, "actual-size": 5251072 } },
 *     { "node-name": "file-vda", "drv": "file", "image": { "virtual-size": 1073741824, "actual-size": 5251072 } },
 *   ],
 * }, { target: "vda", nodeName: "fmt-vda", path: "/images/a.raw" });
 * console.log(figures.highestOffsetBytes, figures.image?.containerKind); // 106954752 file
 * ```
 */
export function qmpBlockFigures(qmp: BlockQmpReplies, disk: RunningDisk): BlockFigures {
  const target = disk.target;
  let facts;
  try {
    facts = blockNodeFacts(qmp, disk);
  } catch (error) {
    if (!(error instanceof VirtError)) throw error;
    return {
      target,
      ...pathOf(disk.path),
      reported: false,
      fault: { message: error.message, where: error.where ?? target },
      counters: {},
    };
  }
  if (facts === undefined) return { target, ...pathOf(disk.path), reported: false, counters: {} };
  const figures: BlockFigures = {
    target,
    ...pathOf(disk.path ?? facts.fileNode?.filename),
    reported: true,
    counters: facts.counters,
  };
  if (facts.highestOffsetBytes !== undefined) figures.highestOffsetBytes = facts.highestOffsetBytes;
  const formatNode = facts.formatNode;
  const fileNode = facts.fileNode;
  if (formatNode !== undefined) {
    const containerKind: ContainerKind | undefined = fileNode === undefined
      ? undefined
      : FILE_PROTOCOL_DRIVERS.has(fileNode.driver)
      ? "file"
      : "device";
    figures.image = {
      format: formatNode.driver,
      ...(containerKind === undefined ? {} : { containerKind }),
      ...(formatNode.virtualSizeBytes === undefined
        ? {}
        : { capacityBytes: formatNode.virtualSizeBytes }),
      ...(formatNode.actualSizeBytes === undefined
        ? {}
        : { allocatedBytes: formatNode.actualSizeBytes }),
    };
  }
  const unlisted = formatNode === undefined
    ? facts.formatNodeName
    : fileNode === undefined
    ? facts.fileNodeName
    : undefined;
  if (unlisted !== undefined) {
    figures.imageGap = `QEMU did not list block node '${unlisted}' of disk '${target}'`;
  } else if (formatNode?.virtualSizeBytes === undefined) {
    figures.imageGap = `QEMU did not report the virtual size of disk '${target}'`;
  }
  return figures;
}

function pathOf(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path };
}
