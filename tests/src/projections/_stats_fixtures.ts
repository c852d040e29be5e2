/**
 * Definitions and samples for the stats projection tests: reference §4's guest (three disks)
 * with the QMP replies captured after its writes.
 *
 * @module
 */

import type { BlockSample, InstanceSamples } from "../../../actors/driver_protocol.ts";
import type { BlockQmpReplies, RunningDisk } from "../../../drivers/qemu/block_node_facts.ts";
import { qmpBlockFigures } from "../../../drivers/qemu/qmp_block_figures.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { PATHS, repliesAfterWrites } from "../../drivers/qemu/_block_qmp_fixtures.ts";

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

/** How the QEMU driver names the guest's four disks in its replies. */
const GUEST_DISKS: RunningDisk[] = [
  { target: "vda", nodeName: "fmt-vda", qdevId: "virtio-disk0", path: PATHS.vda },
  { target: "vdb", nodeName: "fmt-vdb", qdevId: "virtio-disk1", path: PATHS.vdb },
  { target: "vdc", nodeName: "fmt-vdc", qdevId: "virtio-disk2", path: PATHS.vdc },
  { target: "hdc", qdevId: "ide0-1-0" },
];

/** The guest's block figures as the QEMU driver reads them out of these replies. */
export function guestBlockSample(replies: BlockQmpReplies): BlockSample {
  return { disks: GUEST_DISKS.map((disk) => qmpBlockFigures(replies, disk)), containers: {} };
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
    block: guestBlockSample(repliesAfterWrites()),
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
