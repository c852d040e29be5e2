/**
 * Definitions and samples for the stats projection tests: reference §4's guest (three disks)
 * with the block figures its driver reports after the guest's writes.
 *
 * @module
 */

import type { BlockSample, InstanceSamples } from "../../../actors/driver_protocol.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import {
  type BlockCounters,
  type BlockFigures,
  unreportedDisk,
} from "../../../src/storage/block_figures.ts";

/** Paths of the guest's three disks. */
export const PATHS = {
  vda: "/images/vda.raw",
  vdb: "/images/vdb.raw",
  vdc: "/images/vdc.qcow2",
} as const;

/** Reference §4's guest: vda raw, vdb raw, vdc qcow2, an empty CD-ROM, a tap NIC and a user NIC. */
export function guestDefinition(change: (definition: DomainDefinition) => void = () => {}) {
  const devices = emptyDevices();
  devices.disks.push(
    disk("vda", PATHS.vda, "raw"),
    disk("vdb", PATHS.vdb, "raw"),
    disk("vdc", PATHS.vdc, "qcow2"),
    { type: "file", device: "cdrom", target: { dev: "hdc", bus: "ide" } },
  );
  devices.interfaces.push(
    { type: "ethernet", mac: "52:54:00:12:34:56", target: { dev: "tap0" } },
    { type: "user", mac: "52:54:00:12:34:57" },
  );
  const definition: DomainDefinition = {
    type: "qemu",
    name: "guest",
    memoryKiB: 1048576,
    currentMemoryKiB: 524288,
    vcpus: 2,
    os: { type: "hvm", boot: [] },
    devices,
  };
  change(definition);
  return definition;
}

function disk(target: string, path: string, format: string) {
  return {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: format },
    source: { file: path, hosts: [] },
    target: { dev: target, bus: "virtio" },
  };
}

/** Each disk's I/O counters; every counter the figures carry is 0 unless given. */
export type GuestCounters = Partial<Record<"vda" | "vdb" | "vdc", BlockCounters>>;

const NO_IO: BlockCounters = {
  readRequests: 0,
  readBytes: 0,
  readTimeNs: 0,
  writeRequests: 0,
  writeBytes: 0,
  writeTimeNs: 0,
  flushRequests: 0,
  flushTimeNs: 0,
};

/**
 * The guest's block figures after its writes, as a driver reports them (reference §4: vda 2 MiB
 * written at 100 MiB, vdb 1 MiB at 8 MiB, vdc 1 MiB at 700 MiB; allocated bytes = st_blocks ×
 * 512); the CD-ROM has no statistics.
 *
 * @param counters I/O counters per disk; `only` leaves the other disks unreported.
 */
export function guestBlockSample(
  counters: GuestCounters = {},
  only?: ReadonlyArray<"vda" | "vdb" | "vdc">,
): BlockSample {
  const figures = (
    target: "vda" | "vdb" | "vdc",
    format: string,
    highestOffsetBytes: number,
    capacityBytes: number,
    allocatedBytes: number,
  ): BlockFigures => {
    const path = PATHS[target];
    if (only !== undefined && !only.includes(target)) return unreportedDisk(target, path);
    return {
      target,
      path,
      reported: true,
      counters: { ...NO_IO, ...counters[target] },
      highestOffsetBytes,
      image: { format, containerKind: "file", capacityBytes, allocatedBytes },
    };
  };
  return {
    disks: [
      figures("vda", "raw", 106954752, 1073741824, 5251072),
      figures("vdb", "raw", 9437184, 67108864, 67112960),
      figures("vdc", "qcow2", 6684672, 1073741824, 6627328),
      unreportedDisk("hdc"),
    ],
    containers: {},
  };
}

/** Samples of the running guest, after its writes. */
export function guestSamples(): InstanceSamples {
  return {
    takenAtMs: 1_000_000,
    stale: false,
    cpu: { timeNs: 3_000_000_000, userNs: 2_000_000_000, systemNs: 1_000_000_000 },
    rssKiB: 200_000,
    balloonKiB: 524288,
    guestMemory: [["unused", 100_000], ["last_update", 1700000000]],
    vcpus: [
      { number: 0, state: 1, timeNs: 1_500_000_000, waitNs: 2000, hostCpu: 1, affinity: [0, 1] },
      { number: 1, state: 1, timeNs: 1_000_000_000, hostCpu: 0, affinity: [1] },
    ],
    block: guestBlockSample(),
    interfaces: [{
      index: 0,
      name: "tap0",
      rxBytes: 10,
      rxPackets: 1,
      rxErrors: 0,
      rxDrops: 2,
      txBytes: 20,
      txPackets: 3,
      txErrors: 0,
      txDrops: 0,
    }],
  };
}
