/**
 * Builders of `query-blockstats` and `query-named-block-nodes` replies in the exact shape QEMU 7.2
 * sends (every key it sends, captured from a real QEMU started with `-blockdev` file + format
 * nodes and `virtio-blk-pci` devices), so the block info rules are tested on realistic input.
 *
 * @module
 */

/** The `stats` object of a block stats entry with every key QEMU 7.2 sends. */
export function qmpStats(overrides: Record<string, number> = {}): Record<string, unknown> {
  return {
    "unmap_operations": 0,
    "unmap_merged": 0,
    "flush_total_time_ns": 0,
    "wr_highest_offset": 0,
    "wr_total_time_ns": 0,
    "failed_wr_operations": 0,
    "failed_rd_operations": 0,
    "wr_merged": 0,
    "wr_bytes": 0,
    "timed_stats": [],
    "failed_unmap_operations": 0,
    "failed_flush_operations": 0,
    "account_invalid": false,
    "rd_total_time_ns": 0,
    "invalid_unmap_operations": 0,
    "flush_operations": 0,
    "wr_operations": 0,
    "unmap_bytes": 0,
    "rd_merged": 0,
    "rd_bytes": 0,
    "unmap_total_time_ns": 0,
    "invalid_flush_operations": 0,
    "account_failed": false,
    "rd_operations": 0,
    "invalid_wr_operations": 0,
    "invalid_rd_operations": 0,
    ...overrides,
  };
}

/** One disk as the QEMU driver starts it: a protocol node, a format node, a device. */
export interface DiskNodes {
  /** The device id (`-device …,id=`), e.g. `virtio-disk0`. */
  alias: string;
  /** The format node's name. */
  formatNode: string;
  /** The protocol node's name. */
  fileNode: string;
  /** `file` for a regular file, `host_device` for a block device. */
  fileDriver?: string;
}

/** One `query-blockstats` entry (without `query-nodes`) for a disk. */
export function blockstatsEntry(
  disk: DiskNodes,
  figures: {
    formatHighestOffsetBytes?: number;
    fileHighestOffsetBytes: number;
    counters?: Record<string, number>;
  },
): Record<string, unknown> {
  return {
    "device": "",
    "parent": {
      "stats": qmpStats({ "wr_highest_offset": figures.fileHighestOffsetBytes }),
      "node-name": disk.fileNode,
      "driver-specific": {
        "discard-bytes-ok": 0,
        "discard-nb-ok": 0,
        "driver": disk.fileDriver ?? "file",
        "discard-nb-failed": 0,
      },
    },
    "stats": qmpStats({
      "wr_highest_offset": figures.formatHighestOffsetBytes ?? figures.fileHighestOffsetBytes,
      ...figures.counters,
    }),
    "node-name": disk.formatNode,
    "qdev": `/machine/peripheral/${disk.alias}/virtio-backend`,
  };
}

/** One `query-named-block-nodes` entry. */
export function namedNode(
  node: { name: string; driver: string; filename: string },
  image: { virtualSizeBytes: number; actualSizeBytes: number },
): Record<string, unknown> {
  const qcow2 = node.driver === "qcow2";
  return {
    "iops_rd": 0,
    "detect_zeroes": "off",
    "image": {
      "virtual-size": image.virtualSizeBytes,
      "filename": node.filename,
      ...(qcow2 ? { "cluster-size": 65536 } : {}),
      "format": node.driver,
      "actual-size": image.actualSizeBytes,
      ...(qcow2
        ? {
          "format-specific": {
            "type": "qcow2",
            "data": {
              "compat": "1.1",
              "compression-type": "zlib",
              "lazy-refcounts": false,
              "refcount-bits": 16,
              "corrupt": false,
              "extended-l2": false,
            },
          },
        }
        : {}),
      "dirty-flag": false,
    },
    "iops_wr": 0,
    "ro": false,
    "node-name": node.name,
    "backing_file_depth": 0,
    "drv": node.driver,
    "iops": 0,
    "bps_wr": 0,
    "write_threshold": 0,
    "encrypted": false,
    "bps": 0,
    "bps_rd": 0,
    "cache": { "no-flush": false, "direct": false, "writeback": true },
    "file": node.filename,
  };
}

/** The three disks of reference §4, named as the QEMU driver names them. */
export const VDA: DiskNodes = {
  alias: "virtio-disk0",
  formatNode: "fmt-vda",
  fileNode: "file-vda",
};
/** See {@linkcode VDA}. */
export const VDB: DiskNodes = {
  alias: "virtio-disk1",
  formatNode: "fmt-vdb",
  fileNode: "file-vdb",
};
/** See {@linkcode VDA}. */
export const VDC: DiskNodes = {
  alias: "virtio-disk2",
  formatNode: "fmt-vdc",
  fileNode: "file-vdc",
};

/** Paths of the three disks. */
export const PATHS = {
  vda: "/images/vda.raw",
  vdb: "/images/vdb.raw",
  vdc: "/images/vdc.qcow2",
} as const;

/** st_size / st_blocks × 512 of the three files in reference §4, after the guest wrote. */
export const FILES_AFTER_WRITES = {
  [PATHS.vda]: { sizeBytes: 1073741824, allocatedBytes: 5251072 },
  [PATHS.vdb]: { sizeBytes: 67108864, allocatedBytes: 67112960 },
  [PATHS.vdc]: { sizeBytes: 6684672, allocatedBytes: 6627328 },
} as const;

/**
 * The replies QEMU gives for reference §4's guest after it wrote 2 MiB at 100 MiB on vda, 1 MiB at
 * 8 MiB on vdb and 1 MiB at 700 MiB on vdc (actual-size = st_blocks × 512 of each file).
 */
export function repliesAfterWrites(): { blockstats: unknown; namedNodes: unknown } {
  return {
    blockstats: [
      blockstatsEntry(VDA, { fileHighestOffsetBytes: 106954752 }),
      blockstatsEntry(VDB, { fileHighestOffsetBytes: 9437184 }),
      blockstatsEntry(VDC, {
        formatHighestOffsetBytes: 735051776,
        fileHighestOffsetBytes: 6684672,
      }),
    ],
    namedNodes: [
      namedNode({ name: "fmt-vdc", driver: "qcow2", filename: PATHS.vdc }, {
        virtualSizeBytes: 1073741824,
        actualSizeBytes: 6627328,
      }),
      namedNode({ name: "file-vdc", driver: "file", filename: PATHS.vdc }, {
        virtualSizeBytes: 6684672,
        actualSizeBytes: 6627328,
      }),
      namedNode({ name: "fmt-vdb", driver: "raw", filename: PATHS.vdb }, {
        virtualSizeBytes: 67108864,
        actualSizeBytes: 67112960,
      }),
      namedNode({ name: "file-vdb", driver: "file", filename: PATHS.vdb }, {
        virtualSizeBytes: 67108864,
        actualSizeBytes: 67112960,
      }),
      namedNode({ name: "fmt-vda", driver: "raw", filename: PATHS.vda }, {
        virtualSizeBytes: 1073741824,
        actualSizeBytes: 5251072,
      }),
      namedNode({ name: "file-vda", driver: "file", filename: PATHS.vda }, {
        virtualSizeBytes: 1073741824,
        actualSizeBytes: 5251072,
      }),
    ],
  };
}

/**
 * The replies before the guest wrote anything: no highest offset yet, QEMU having allocated the
 * first 4 KiB of each writable raw file (actual-size), a fresh qcow2 image of 196624 bytes.
 */
export function repliesBeforeWrites(): { blockstats: unknown; namedNodes: unknown } {
  return {
    blockstats: [
      blockstatsEntry(VDA, { fileHighestOffsetBytes: 0 }),
      blockstatsEntry(VDB, { fileHighestOffsetBytes: 0 }),
      blockstatsEntry(VDC, { fileHighestOffsetBytes: 0 }),
    ],
    namedNodes: [
      namedNode({ name: "fmt-vdc", driver: "qcow2", filename: PATHS.vdc }, {
        virtualSizeBytes: 1073741824,
        actualSizeBytes: 200704,
      }),
      namedNode({ name: "file-vdc", driver: "file", filename: PATHS.vdc }, {
        virtualSizeBytes: 197120,
        actualSizeBytes: 200704,
      }),
      namedNode({ name: "fmt-vdb", driver: "raw", filename: PATHS.vdb }, {
        virtualSizeBytes: 67108864,
        actualSizeBytes: 67112960,
      }),
      namedNode({ name: "file-vdb", driver: "file", filename: PATHS.vdb }, {
        virtualSizeBytes: 67108864,
        actualSizeBytes: 67112960,
      }),
      namedNode({ name: "fmt-vda", driver: "raw", filename: PATHS.vda }, {
        virtualSizeBytes: 1073741824,
        actualSizeBytes: 4096,
      }),
      namedNode({ name: "file-vda", driver: "file", filename: PATHS.vda }, {
        virtualSizeBytes: 1073741824,
        actualSizeBytes: 4096,
      }),
    ],
  };
}

/** st_size / st_blocks × 512 of the three files before the guest wrote. */
export const FILES_BEFORE_WRITES = {
  [PATHS.vda]: { sizeBytes: 1073741824, allocatedBytes: 4096 },
  [PATHS.vdb]: { sizeBytes: 67108864, allocatedBytes: 67112960 },
  [PATHS.vdc]: { sizeBytes: 196624, allocatedBytes: 200704 },
} as const;
