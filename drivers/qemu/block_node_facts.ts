/**
 * Picks one disk's facts out of the raw replies of QMP `query-blockstats` and
 * `query-named-block-nodes`, validating the shape of what it reads.
 *
 * The QEMU driver starts each disk as two nodes and a device:
 * `-blockdev driver=file,filename=X,node-name=<file node>`,
 * `-blockdev driver=raw|qcow2,file=<file node>,node-name=<format node>`,
 * `-device virtio-blk-pci,drive=<format node>,id=<alias>`. QEMU 7.2 then answers
 * `query-blockstats` with one entry per device:
 *
 * ```
 * {"device": "", "qdev": "/machine/peripheral/<alias>/virtio-backend", "node-name": "<format node>",
 *  "stats": {"rd_operations": …, "wr_highest_offset": …, …},
 *  "parent": {"node-name": "<file node>", "stats": {"wr_highest_offset": …, …}, "driver-specific": …}}
 * ```
 *
 * (`parent` is QEMU's name for the format node's `file` child: the protocol node.) With
 * `query-nodes: true` there is one entry per node instead, without `qdev`. `query-named-block-nodes`
 * lists every node: `{"node-name", "drv": "qcow2"|"raw"|"file"|"host_device"|…, "file": <filename>,
 * "image": {"virtual-size", "actual-size", "filename", "format", …}, …}`.
 *
 * A disk is found by its format node name first, then by its device: the qdev id given to
 * `-device` (matched against `qdev`, which QEMU reports as a QOM path ending in that id, or below
 * it) or a legacy `-drive` id (matched against `device`).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { BlockCounters } from "../../src/storage/block_figures.ts";

/** How the QEMU driver names one disk of a running domain. */
export interface RunningDisk {
  /** The disk's target, e.g. `vda`, for messages. */
  target: string;
  /** The format node's name (`-blockdev …,node-name=`). Tried first. */
  nodeName?: string;
  /** The device id (`-device …,id=`) or a legacy `-drive` id. Tried when the node name does not match. */
  qdevId?: string;
  /** The source path, to re-read the container's size; default the file node's filename. */
  path?: string;
}

/** The raw `return` values of the two QMP queries, exactly as QEMU sent them. */
export interface BlockQmpReplies {
  /** The `return` of `query-blockstats` (with or without `query-nodes`). */
  blockstats: unknown;
  /** The `return` of `query-named-block-nodes` (with or without `flat`). */
  namedNodes: unknown;
}

/** What QEMU says about one node from `query-named-block-nodes`. */
export interface NamedNodeFacts {
  /** The node's driver: `qcow2`, `raw`, `file`, `host_device`, … */
  driver: string;
  /** `image.virtual-size`. */
  virtualSizeBytes?: number;
  /** `image.actual-size` (st_blocks × 512 of the file; 0 or absent for a block device). */
  actualSizeBytes?: number;
  /** `image.filename`, else `file`. */
  filename?: string;
}

/** One disk's facts from both replies. */
export interface BlockNodeFacts {
  /** The format node (the device's root node). */
  formatNodeName: string;
  /** The protocol node: the `parent` of the format node, or the node itself when it has none. */
  fileNodeName: string;
  /** The device's I/O counters (from the device's entry, not the protocol node). */
  counters: BlockCounters;
  /** `wr_highest_offset` of the protocol node, when QEMU reported it. */
  highestOffsetBytes?: number;
  /** The format node in `query-named-block-nodes`, when listed. */
  formatNode?: NamedNodeFacts;
  /** The protocol node in `query-named-block-nodes`, when listed. */
  fileNode?: NamedNodeFacts;
}

const COUNTER_KEYS: ReadonlyArray<[keyof BlockCounters, string]> = [
  ["readRequests", "rd_operations"],
  ["readBytes", "rd_bytes"],
  ["readTimeNs", "rd_total_time_ns"],
  ["writeRequests", "wr_operations"],
  ["writeBytes", "wr_bytes"],
  ["writeTimeNs", "wr_total_time_ns"],
  ["flushRequests", "flush_operations"],
  ["flushTimeNs", "flush_total_time_ns"],
];

type Json = Record<string, unknown>;

/**
 * Finds one disk in the raw QMP replies.
 *
 * @param qmp The raw `return` values of `query-blockstats` and `query-named-block-nodes`.
 * @param disk How the disk is named (format node name and/or device id).
 * @returns The disk's facts, or undefined when `query-blockstats` has no entry for it or its
 *   device has no medium.
 * @throws {VirtError} `INTERNAL_ERROR` when a reply does not have the shape QEMU gives it.
 * @throws {TypeError} When `disk` names neither a node nor a device (a programming error).
 *
 * @example Finding a disk by its format node
 * ```ts
 * import { blockNodeFacts } from "./block_node_facts.ts";
 * const facts = blockNodeFacts({
 *   blockstats: [{
 *     "device": "",
 *     "node-name": "fmt-vda",
 *     "qdev": "/machine/peripheral/virtio-disk0/virtio-backend",
 *     "stats": { "wr_highest_offset": 0 },
 *     "parent": { "node-name": "file-vda", "stats": { "wr_highest_offset": 106954752 } },
 *   }],
 *   namedNodes: [],
 * }, { target: "vda", nodeName: "fmt-vda" });
 * console.log(facts?.highestOffsetBytes); // 106954752
 * ```
 */
export function blockNodeFacts(
  qmp: BlockQmpReplies,
  disk: RunningDisk,
): BlockNodeFacts | undefined {
  if (disk.nodeName === undefined && disk.qdevId === undefined) {
    throw new TypeError(`Cannot find disk '${disk.target}': neither nodeName nor qdevId is given`);
  }
  const entries = jsonArray(qmp.blockstats, "query-blockstats");
  const found = findEntry(entries, disk);
  if (found === undefined) return undefined;
  const { entry, where } = found;
  // A device without a medium (an empty CD-ROM) has no node, hence no block facts.
  if (entry["node-name"] === undefined) return undefined;
  const formatNodeName = jsonString(entry["node-name"], `${where}.node-name`);
  const parent = entry["parent"] === undefined
    ? undefined
    : jsonObject(entry["parent"], `${where}.parent`);
  // Without a parent the node is its own protocol node (a raw disk without a format layer).
  const fileEntry = parent ?? entry;
  const fileWhere = parent === undefined ? where : `${where}.parent`;
  const fileNodeName = jsonString(fileEntry["node-name"], `${fileWhere}.node-name`);
  const fileStats = jsonObject(fileEntry["stats"], `${fileWhere}.stats`);
  const nodes = namedNodesByName(qmp.namedNodes);
  return {
    formatNodeName,
    fileNodeName,
    counters: counters(jsonObject(entry["stats"], `${where}.stats`), `${where}.stats`),
    highestOffsetBytes: optionalCount(
      fileStats["wr_highest_offset"],
      `${fileWhere}.stats.wr_highest_offset`,
    ),
    formatNode: nodes.get(formatNodeName),
    fileNode: nodes.get(fileNodeName),
  };
}

function findEntry(
  entries: unknown[],
  disk: RunningDisk,
): { entry: Json; where: string } | undefined {
  const objects = entries.map((value, index) => {
    const where = `query-blockstats[${index}]`;
    return { entry: jsonObject(value, where), where };
  });
  if (disk.nodeName !== undefined) {
    const byNode = objects.find(({ entry }) => entry["node-name"] === disk.nodeName);
    if (byNode !== undefined) return byNode;
  }
  const qdevId = disk.qdevId;
  if (qdevId === undefined || qdevId === "") return undefined;
  return objects.find(({ entry }) =>
    (typeof entry["qdev"] === "string" && qdevMatches(entry["qdev"], qdevId)) ||
    entry["device"] === qdevId
  );
}

/** QEMU reports a device's QOM path; a virtio device's block backend sits one level below it. */
export function qdevMatches(qdev: string, id: string): boolean {
  const path = `/machine/peripheral/${id}`;
  return qdev === id || qdev === path || qdev.startsWith(`${path}/`);
}

function namedNodesByName(reply: unknown): Map<string, NamedNodeFacts> {
  const nodes = new Map<string, NamedNodeFacts>();
  jsonArray(reply, "query-named-block-nodes").forEach((value, index) => {
    const where = `query-named-block-nodes[${index}]`;
    const node = jsonObject(value, where);
    // Nodes without a name are not addressable; QEMU names every node it lists, so skip quietly.
    if (typeof node["node-name"] !== "string") return;
    const image = node["image"] === undefined ? {} : jsonObject(node["image"], `${where}.image`);
    const filename = typeof image["filename"] === "string"
      ? image["filename"]
      : typeof node["file"] === "string"
      ? node["file"]
      : undefined;
    nodes.set(node["node-name"], {
      driver: jsonString(node["drv"], `${where}.drv`),
      virtualSizeBytes: optionalCount(image["virtual-size"], `${where}.image.virtual-size`),
      actualSizeBytes: optionalCount(image["actual-size"], `${where}.image.actual-size`),
      filename,
    });
  });
  return nodes;
}

function counters(stats: Json, where: string): BlockCounters {
  const result: BlockCounters = {};
  for (const [name, key] of COUNTER_KEYS) {
    const value = optionalCount(stats[key], `${where}.${key}`);
    if (value !== undefined) result[name] = value;
  }
  return result;
}

function jsonArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw badReply(where, "is not an array");
  return value;
}

function jsonObject(value: unknown, where: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badReply(where, "is not an object");
  }
  return value as Json;
}

function jsonString(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") throw badReply(where, "is not a non-empty string");
  return value;
}

function optionalCount(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw badReply(where, `is not a byte or operation count: ${JSON.stringify(value)}`);
  }
  return value;
}

function badReply(where: string, problem: string): VirtError {
  return new VirtError(ErrorCode.INTERNAL_ERROR, `unexpected QEMU reply: ${where} ${problem}`, {
    where,
  });
}
