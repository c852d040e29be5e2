import assert from "node:assert/strict";
import {
  attachDevice,
  detachDevice,
  deviceWithAlias,
  diskInsertPosition,
  diskTargetIndex,
  updateDevice,
  withDiskDefaults,
  withoutAlias,
} from "../../../src/model/device_edit.ts";
import { type Disk, type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

function definition(disks: Disk[]): DomainDefinition {
  const devices = emptyDevices();
  devices.disks.push(...disks);
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 65536,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices,
  };
}

const vda: Disk = {
  device: "disk",
  source: { file: "/a.img", hosts: [] },
  target: { dev: "vda", bus: "virtio" },
};
const hdc: Disk = { device: "cdrom", target: { dev: "hdc", bus: "ide" }, readonly: true };

Deno.test("disk target indexes follow libvirt's base-26 names", () => {
  assert.deepEqual(["vda", "vdz", "vdaa", "hdc", "sdb", "disk"].map(diskTargetIndex), [
    0,
    25,
    26,
    2,
    1,
    -1,
  ]);
});

Deno.test("a new disk goes before the first later target of its bus, else after its bus's last", () => {
  const disks = [vda, hdc, { ...vda, target: { dev: "vdd", bus: "virtio" } }];
  assert.equal(diskInsertPosition(disks, { target: { dev: "vdb", bus: "virtio" } }), 2);
  assert.equal(diskInsertPosition(disks, { target: { dev: "vde", bus: "virtio" } }), 3);
  assert.equal(diskInsertPosition(disks, { target: { dev: "sda", bus: "scsi" } }), 3);
  assert.equal(diskInsertPosition([vda, hdc], { target: { dev: "vdb", bus: "virtio" } }), 1);
});

Deno.test("a disk without device or bus gets libvirt's parser defaults from its target", () => {
  assert.deepEqual(withDiskDefaults({ target: { dev: "vdb" } }), {
    device: "disk",
    target: { dev: "vdb", bus: "virtio" },
  });
  assert.equal(withDiskDefaults({ target: { dev: "sdb" } }).target.bus, "scsi");
  assert.equal(withDiskDefaults({ target: { dev: "hdb" } }).target.bus, "ide");
  assert.equal(withDiskDefaults({ device: "floppy", target: { dev: "fda" } }).target.bus, "fdc");
});

Deno.test("attach adds the disk where libvirt inserts it and leaves the input as it was", () => {
  const before = definition([vda, hdc]);
  const copy = structuredClone(before);
  const after = attachDevice(before, "disks", {
    source: { file: "/b.img", hosts: [] },
    target: { dev: "vdb" },
  }, "persistent");
  assert.deepEqual(after.devices.disks.map((disk) => disk.target.dev), ["vda", "vdb", "hdc"]);
  assert.deepEqual(before, copy);
});

Deno.test("attach of a target in use is refused with libvirt's code 55 and message", () => {
  assert.throws(
    () => attachDevice(definition([vda]), "disks", { target: { dev: "vda" } }, "persistent"),
    (error) =>
      isVirtError(error, ErrorCode.OPERATION_INVALID) &&
      error.message === "target vda already exists",
  );
});

Deno.test("detach removes the disk of that target; a missing one is code 99", () => {
  const after = detachDevice(definition([vda, hdc]), "disks", { target: { dev: "hdc" } }, "live");
  assert.deepEqual(after.devices.disks, [vda]);
  assert.throws(
    () => detachDevice(definition([vda]), "disks", { target: { dev: "vdz" } }, "persistent"),
    (error) =>
      isVirtError(error, ErrorCode.DEVICE_MISSING) && error.message === "no target device vdz",
  );
});

Deno.test("update replaces the disk and keeps its address; a missing target is code 8", () => {
  const placed: Disk = { ...hdc, address: { type: "drive", controller: 0, bus: 1, unit: 0 } };
  const after = updateDevice(
    definition([vda, placed]),
    "disks",
    { device: "cdrom", source: { file: "/c.iso", hosts: [] }, target: { dev: "hdc", bus: "ide" } },
    "persistent",
  );
  assert.equal(after.devices.disks[1].source?.file, "/c.iso");
  assert.deepEqual(after.devices.disks[1].address, placed.address);
  assert.throws(
    () => updateDevice(definition([vda]), "disks", { target: { dev: "vdz" } }, "persistent"),
    (error) =>
      isVirtError(error, ErrorCode.INVALID_ARG) && error.message === "target vdz doesn't exist.",
  );
});

Deno.test("kinds evirt does not change are refused with libvirt's code 84", () => {
  assert.throws(
    () => attachDevice(definition([]), "sounds", { model: "ich9" } as never, "persistent"),
    (error) =>
      isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED) &&
      error.message === "persistent attach of device 'sound' is not supported",
  );
  assert.throws(
    () => updateDevice(definition([]), "sounds", { model: "ich9" } as never, "live"),
    (error) =>
      isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED) &&
      error.message === "live update of device 'sound' is not supported",
  );
});

Deno.test("a device leaves the definition by its alias; an unknown alias changes nothing", () => {
  const live = definition([{ ...vda, alias: "virtio-disk0" }, { ...hdc, alias: "ide0-1-0" }]);
  assert.deepEqual(deviceWithAlias(live, "ide0-1-0"), { list: "disks", position: 1 });
  assert.deepEqual(
    withoutAlias(live, "virtio-disk0").devices.disks.map((disk) => disk.alias),
    ["ide0-1-0"],
  );
  assert.equal(withoutAlias(live, "nothing"), live);
});

Deno.test("interfaces: a MAC in use is taken as libvirt takes it; detach matches by MAC", () => {
  const nic = { type: "user", mac: "52:54:00:11:22:33" };
  const once = attachDevice(definition([]), "interfaces", nic, "persistent");
  const twice = attachDevice(once, "interfaces", nic, "persistent");
  assert.equal(twice.devices.interfaces.length, 2);
  assert.deepEqual(
    detachDevice(once, "interfaces", { type: "user", mac: "52:54:00:11:22:33" }, "persistent")
      .devices.interfaces,
    [],
  );
  assert.throws(
    () => detachDevice(twice, "interfaces", nic, "persistent"),
    (error) =>
      isVirtError(error, ErrorCode.OPERATION_FAILED) &&
      error.message === "multiple matching devices found",
  );
  assert.throws(
    () =>
      detachDevice(once, "interfaces", { type: "user", mac: "52:54:00:00:00:99" }, "persistent"),
    (error) =>
      isVirtError(error, ErrorCode.DEVICE_MISSING) &&
      error.message ===
        "no device found at address '(<null>)' matching MAC address '52:54:00:00:00:99' and alias '(<null>)'",
  );
});

Deno.test("interfaces: a PCI address and (live) an alias narrow the match, as libvirt 9.0's", () => {
  const pci = (slot: number) => ({ type: "pci", domain: 0, bus: 0, slot, function: 0 });
  const live = definition([]);
  live.devices.interfaces.push(
    { type: "user", mac: "52:54:00:11:22:33", alias: "net0", address: pci(3) },
    { type: "user", mac: "52:54:00:11:22:33", alias: "net1", address: pci(4) },
  );
  const byAddress = detachDevice(
    live,
    "interfaces",
    { type: "user", mac: "52:54:00:11:22:33", address: pci(4) },
    "live",
  );
  assert.deepEqual(byAddress.devices.interfaces.map((each) => each.alias), ["net0"]);
  const byAlias = detachDevice(live, "interfaces", { type: "user", alias: "net0" }, "live");
  assert.deepEqual(byAlias.devices.interfaces.map((each) => each.alias), ["net1"]);
  assert.throws(
    () =>
      detachDevice(
        live,
        "interfaces",
        { type: "user", mac: "52:54:00:11:22:33", address: pci(7) },
        "live",
      ),
    (error) =>
      isVirtError(error, ErrorCode.DEVICE_MISSING) &&
      error.message ===
        "no device found at address '0000:00:07.0' matching MAC address '52:54:00:11:22:33' and alias '(<null>)'",
  );
});

Deno.test("interfaces: a config update replaces the one it matches, keeping its address and MAC", () => {
  const before = definition([]);
  const address = { type: "pci", domain: 0, bus: 0, slot: 3, function: 0 };
  before.devices.interfaces.push({
    type: "user",
    mac: "52:54:00:11:22:33",
    model: "virtio",
    address,
  });
  const after = updateDevice(
    before,
    "interfaces",
    { type: "user", mac: "52:54:00:11:22:33", model: "virtio", link: "down" },
    "persistent",
  );
  assert.deepEqual(after.devices.interfaces, [
    { type: "user", mac: "52:54:00:11:22:33", model: "virtio", link: "down", address },
  ]);
  assert.equal(before.devices.interfaces[0].link, undefined, "the input is untouched");
});
