import assert from "node:assert/strict";
import { assignDeviceAliases } from "../../../drivers/qemu/device_aliases.ts";
import { completeQemuDefinition } from "../../../drivers/qemu/definition_completion.ts";
import { emptyDevices } from "../../../src/model/domain.ts";

Deno.test("assignDeviceAliases names devices as libvirt 9.0 does at start, keeping ua- aliases", () => {
  const devices = emptyDevices();
  devices.disks.push({ type: "file", target: { dev: "sdc", bus: "sata" }, device: "cdrom" });
  devices.disks.push({ type: "file", target: { dev: "vdb", bus: "virtio" } });
  devices.interfaces.push({ type: "user", model: "virtio" });
  devices.interfaces.push({ type: "user", model: "e1000", alias: "ua-second" });
  devices.consoles.push({ type: "pty", sources: [] });
  devices.consoles.push({ type: "pty", sources: [], target: { type: "virtio" } });
  const completed = completeQemuDefinition({
    type: "qemu",
    name: "vm",
    memoryKiB: 131072,
    vcpus: 1,
    os: { type: "hvm", machine: "q35", boot: [] },
    devices,
  }, { aliases: { q35: "pc-q35-7.2" } });
  const live = assignDeviceAliases(completed).devices;
  assert.deepEqual(live.disks.map((each) => each.alias), ["sata0-0-2", "virtio-disk1"]);
  assert.deepEqual(live.interfaces.map((each) => each.alias), ["net0", "ua-second"]);
  assert.deepEqual(live.consoles.map((each) => each.alias), ["serial0", "console1"]);
  assert.deepEqual(
    live.controllers.map((each) => each.alias).slice(0, 4),
    ["usb", "ide", "pcie.0", "virtio-serial0"],
  );
  assert.deepEqual(live.inputs.map((each) => each.alias), ["input0", "input1"]);
  assert.equal(live.memballoon?.alias, "balloon0");
  assert.equal(completed.devices.disks[0].alias, undefined);
});
