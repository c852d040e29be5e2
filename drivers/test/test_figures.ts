/**
 * libvirt's test driver's figures (`test:///default`), as libvirt 9.0 answers them: the host,
 * the disks, and the counters it derives from the wall clock. The test hypervisor
 * (`test_driver.ts`) reports them; facts carried over from libvirt's, observed with its virsh.
 *
 * @module
 */

import type { GuestCapability, HostCapability } from "../../src/model/capabilities.ts";
import type { BlockSample, InterfaceSample, NodeInfo } from "../../actors/driver_protocol.ts";
import {
  type BlockCounters,
  type BlockFigures,
  unreportedDisk,
} from "../../src/storage/block_figures.ts";
import type { StorageInfo } from "../../src/storage/storage_info.ts";
import type { DiskError, DiskErrorKind } from "../../src/storage/block_figures.ts";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/**
 * The simulated host, as libvirt's test driver describes it: 16 CPUs in 2 NUMA cells, and a CPU
 * map of 8 (its `virNodeGetCPUMap` answer, which virsh's affinity maps span).
 */
export const TEST_NODE_INFO: NodeInfo = {
  model: "i686",
  memoryKiB: 3145728,
  cpus: 16,
  mhz: 1400,
  nodes: 2,
  sockets: 2,
  cores: 2,
  threads: 2,
  cpuMapCpus: 8,
};

/**
 * Size and allocation of every simulated disk image's file: libvirt's test driver's allocation
 * and physical figures (1 TiB).
 */
export const TEST_DISK_BYTES = 1099511627776;

/** What the guest sees of every simulated disk: libvirt's test driver's capacity. */
export const TEST_DISK_CAPACITY_BYTES = 1099506450432;

/**
 * libvirt's test driver's interface counters: the wall clock in µs divided by these (rx bytes,
 * packets, errors, drops; tx bytes, packets, errors, drops).
 */
export const TEST_INTERFACE_DIVISORS = {
  rxBytes: 10,
  rxPackets: 100,
  rxErrors: 1_000_000,
  rxDrops: 2_000_000,
  txBytes: 20,
  txPackets: 110,
  txErrors: 3_000_000,
  txDrops: 4_000_000,
} as const;
/** libvirt's test driver's vCPU time: the wall clock in µs divided by this, in ns. */
export const TEST_VCPU_TIME_DIVISOR = 10;
/**
 * libvirt's test driver's guest memory statistics, in KiB (but `last_update`, in s): fixed
 * figures, whatever the guest (`actual` is the balloon's current size).
 */
export const TEST_GUEST_MEMORY: ReadonlyArray<[string, number]> = [
  ["swap_in", 0],
  ["swap_out", 0],
  ["major_fault", 0],
  ["minor_fault", 0],
  ["unused", 1_048_576],
  ["available", 2_097_152],
  ["usable", 1_048_576],
  ["last_update", 627_319_920],
  ["disk_caches", 262_144],
  ["hugetlb_pgalloc", 0],
  ["hugetlb_pgfail", 0],
];
/** libvirt's test driver's resident memory of every guest, in KiB. */
export const TEST_RSS_KIB = 1_048_576;

export function testStorage(path: string): StorageInfo {
  if (!path.startsWith("/")) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot stat file '${path}': No such file or directory`,
      {
        where: path,
      },
    );
  }
  return { kind: "file", path, sizeBytes: TEST_DISK_BYTES, allocatedBytes: TEST_DISK_BYTES };
}

function diskPath(disk: Disk): string | undefined {
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  return path === undefined || path === "" ? undefined : path;
}

/** The simulated disk errors' kinds, taken in turn: libvirt's test driver's pattern. */
const TEST_DISK_ERRORS: readonly DiskErrorKind[] = ["unspecified", "no-space"];

/**
 * The simulated disk errors: as libvirt's test driver, every disk reports one, the first
 * `unspecified`, the next `no-space`, and so on in turn.
 */
export function testDiskErrors(definition: DomainDefinition): DiskError[] {
  return definition.devices.disks.map((disk, index) => ({
    target: disk.target.dev,
    error: TEST_DISK_ERRORS[index % TEST_DISK_ERRORS.length],
  }));
}

/**
 * The simulated disks' figures: every disk with a source is a fully written raw or qcow2 file of
 * {@linkcode TEST_DISK_BYTES} holding {@linkcode TEST_DISK_CAPACITY_BYTES} for the guest; a disk
 * without a source (an empty CD-ROM) has no statistics.
 */
export function testBlockSample(definition: DomainDefinition, clockUs: number): BlockSample {
  const disks = definition.devices.disks.map((disk): BlockFigures => {
    const path = diskPath(disk);
    if (path === undefined) return unreportedDisk(disk.target.dev);
    return {
      target: disk.target.dev,
      path,
      reported: true,
      counters: ioCounters(clockUs),
      highestOffsetBytes: TEST_DISK_BYTES,
      image: {
        format: disk.driver?.type ?? "raw",
        containerKind: "file",
        capacityBytes: TEST_DISK_CAPACITY_BYTES,
        allocatedBytes: TEST_DISK_BYTES,
      },
    };
  });
  return { disks, containers: {} };
}

/**
 * libvirt's test driver's block counters at `clockUs` (the wall clock, in µs): read requests,
 * bytes read, write requests, bytes written and errors are the clock divided by fixed factors;
 * it keeps no times and no flushes.
 */
function ioCounters(clockUs: number): BlockCounters {
  return {
    readRequests: Math.floor(clockUs / 10),
    readBytes: Math.floor(clockUs / 20),
    writeRequests: Math.floor(clockUs / 30),
    writeBytes: Math.floor(clockUs / 40),
    errors: Math.floor(clockUs / 2_000_000),
  };
}

/** libvirt's test driver's interface counters at `clockUs` (the wall clock, in µs). */
export function testInterfaces(definition: DomainDefinition, clockUs: number): InterfaceSample[] {
  const counter = (divisor: number) => Math.floor(clockUs / divisor);
  const d = TEST_INTERFACE_DIVISORS;
  return definition.devices.interfaces.map((nic, index) => ({
    index,
    name: nic.target?.dev ?? `vnet${index}`,
    rxBytes: counter(d.rxBytes),
    rxPackets: counter(d.rxPackets),
    rxErrors: counter(d.rxErrors),
    rxDrops: counter(d.rxDrops),
    txBytes: counter(d.txBytes),
    txPackets: counter(d.txPackets),
    txErrors: counter(d.txErrors),
    txDrops: counter(d.txDrops),
  }));
}

/** libvirt's test driver's host, for the capabilities document. */
export const TEST_HOST_CAPABILITY: HostCapability = {
  arch: "i686",
  cpuFeatures: ["pae", "nonpae"],
  pageSizesKiB: [4, 8, 2048, 1_048_576],
  iommu: false,
  cells: [0, 1].map((id) => ({
    id,
    memoryKiB: (id + 1) * 2_097_152,
    pages: [
      { sizeKiB: id === 0 ? 4 : 8, count: 524_288 },
      { sizeKiB: 2048, count: 0 },
      { sizeKiB: 1_048_576, count: 0 },
    ],
    cpus: Array.from({ length: 8 }, (_, core) => ({
      id: id * 8 + core,
      socketId: id,
      dieId: 0,
      coreId: core,
      siblings: String(id * 8 + core),
    })),
  })),
  secmodels: [{ model: "testSecurity", doi: "" }],
};

/** libvirt's test driver's guests, for the capabilities document. */
export const TEST_GUESTS: readonly GuestCapability[] = ["hvm", "xen"].map((osType) => ({
  osType,
  arch: "i686",
  wordsize: 32,
  emulator: "/usr/bin/test-hv",
  machines: [],
  domainTypes: ["test"],
  features: ["pae", "nonpae"],
}));
