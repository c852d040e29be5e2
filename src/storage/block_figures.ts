/**
 * What a driver reports of one disk of a running instance, in evirt's own terms: I/O counters,
 * the highest offset written to the container, and the image as the hypervisor opened it
 * (format, container kind, capacity, allocated bytes). Never a hypervisor's reply: the QEMU driver
 * reads these out of `query-blockstats` and `query-named-block-nodes`, the test hypervisor
 * simulates them, and the block info rules of reference §4 ({@linkcode ./block_info.ts}) work on
 * them alone.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** The I/O counters of a disk's device (a counter the hypervisor does not keep is absent). */
export interface BlockCounters {
  /** Read requests. */
  readRequests?: number;
  /** Bytes read. */
  readBytes?: number;
  /** Time spent reading, in ns. */
  readTimeNs?: number;
  /** Write requests. */
  writeRequests?: number;
  /** Bytes written. */
  writeBytes?: number;
  /** Time spent writing, in ns. */
  writeTimeNs?: number;
  /** Flush requests. */
  flushRequests?: number;
  /** Time spent flushing, in ns. */
  flushTimeNs?: number;
  /** Requests that failed (libvirt's `errs`; QEMU does not count them). */
  errors?: number;
}

/** The kind of host object an image lives in: a regular file, or a device (a block device). */
export type ContainerKind = "file" | "device";

/** A disk's image as the hypervisor opened it. */
export interface ImageFigures {
  /** The image format the hypervisor reads: `raw`, `qcow2`, … */
  format: string;
  /** What the image lives in; absent when the hypervisor did not say. */
  containerKind?: ContainerKind;
  /** The size the guest sees (the image's virtual size), in bytes; absent when not reported. */
  capacityBytes?: number;
  /**
   * Host bytes allocated to the image's file (st_blocks × 512; QEMU's `actual-size`); 0 or
   * absent for a device.
   */
  allocatedBytes?: number;
}

/** A hypervisor reply that could not be read: what is wrong, and where in the reply. */
export interface BlockFault {
  /** The words of the error, e.g. `unexpected QEMU reply: query-blockstats is not an array`. */
  message: string;
  /** Where in the reply, e.g. `query-blockstats[0].stats`. */
  where: string;
}

/**
 * Why a disk of a running instance stopped doing I/O (libvirt's `virDomainDiskErrorCode` beyond
 * "none"): `no-space` when the host ran out of room for the image, `unspecified` for any other
 * failure.
 */
export type DiskErrorKind = "unspecified" | "no-space";

/** A disk whose I/O failed since the instance started or last resumed. */
export interface DiskError {
  /** The disk's target, e.g. `vda`. */
  target: string;
  /** What went wrong. */
  error: DiskErrorKind;
}

/** One disk's figures from a running instance. */
export interface BlockFigures {
  /** The disk's target, e.g. `vda`. */
  target: string;
  /** The container's host path, to re-read its size. */
  path?: string;
  /**
   * Whether the hypervisor keeps statistics for the disk. False for a drive without a medium
   * (an empty CD-ROM) or a disk it does not know: every figure below is then absent.
   */
  reported: boolean;
  /** Why the hypervisor's answer about this disk could not be read (a malformed reply). */
  fault?: BlockFault;
  /** The device's I/O counters. */
  counters: BlockCounters;
  /** The highest offset ever written to the container (QEMU's `wr_highest_offset`), in bytes. */
  highestOffsetBytes?: number;
  /** The image; absent when the hypervisor did not describe it. */
  image?: ImageFigures;
  /** Why the image or its container is not (fully) described, in words for an error. */
  imageGap?: string;
}

/**
 * A disk the hypervisor keeps no statistics for.
 *
 * @param target The disk's target.
 * @param path Its container's path, when it has one.
 * @returns Figures with `reported: false` and nothing else.
 *
 * @example
 * ```ts
 * import { unreportedDisk } from "./block_figures.ts";
 * console.log(unreportedDisk("hdc").reported); // false
 * ```
 */
export function unreportedDisk(target: string, path?: string): BlockFigures {
  return { target, ...(path === undefined ? {} : { path }), reported: false, counters: {} };
}

/**
 * Throws the fault of figures whose reply could not be read.
 *
 * @param figures One disk's figures.
 * @throws {VirtError} `INTERNAL_ERROR` with the fault's words when there is one.
 *
 * @example
 * ```ts
 * import { assertNoFault, unreportedDisk } from "./block_figures.ts";
 * assertNoFault(unreportedDisk("vda")); // no fault: returns
 * ```
 */
export function assertNoFault(figures: BlockFigures): void {
  if (figures.fault === undefined) return;
  throw new VirtError(ErrorCode.INTERNAL_ERROR, figures.fault.message, {
    where: figures.fault.where,
  });
}
