import assert from "node:assert/strict";
import { assignPciAddresses } from "../../../drivers/qemu/pci_assignment.ts";
import { addImplicitDevices } from "../../../drivers/qemu/implicit_devices.ts";
import { completeQemuDefinition } from "../../../drivers/qemu/definition_completion.ts";
import { parseMachineHelp, resolveMachine } from "../../../drivers/qemu/machine_type.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { VirtError } from "../../../src/model/errors.ts";

const MACHINES = { aliases: { pc: "pc-i440fx-7.2", q35: "pc-q35-7.2" } };

function guest(machine: string): DomainDefinition {
  const devices = emptyDevices();
  devices.disks.push({
    type: "file",
    source: { file: "/a.img", hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  devices.interfaces.push({ type: "user", model: "virtio" });
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 131072,
    vcpus: 1,
    os: { type: "hvm", machine, boot: [] },
    devices,
  };
}

function slotOf(address: { bus?: number; slot?: number; function?: number } | undefined): string {
  return `${address?.bus}:${address?.slot}.${address?.function}`;
}

Deno.test("completeQemuDefinition places the NIC before the virtio disk on i440fx, as libvirt", () => {
  const done = completeQemuDefinition(guest("pc"), MACHINES);
  assert.equal(done.os.machine, "pc-i440fx-7.2");
  assert.equal(slotOf(done.devices.interfaces[0].address), "0:2.0");
  assert.equal(slotOf(done.devices.disks[0].address), "0:3.0");
  assert.equal(slotOf(done.devices.memballoon?.address), "0:4.0");
  const usb = done.devices.controllers.find((each) => each.type === "usb");
  assert.equal(slotOf(usb?.address), "0:1.2");
});

Deno.test("completeQemuDefinition puts q35 endpoints behind root ports and adds one spare port", () => {
  const done = completeQemuDefinition(guest("q35"), MACHINES);
  const ports = done.devices.controllers.filter((each) => each.model === "pcie-root-port");
  // NIC, USB controller, disk, balloon, and the spare; no video, so slot 1 is the first free.
  assert.equal(ports.length, 5);
  assert.deepEqual(ports.map((each) => slotOf(each.address)), [
    "0:1.0",
    "0:1.1",
    "0:1.2",
    "0:1.3",
    "0:1.4",
  ]);
  assert.equal(ports[0].address?.multifunction, "on");
  assert.deepEqual(ports[1].target, { chassis: "2", port: "0x9" });
  assert.equal(slotOf(done.devices.interfaces[0].address), "1:0.0");
  assert.equal(slotOf(done.devices.disks[0].address), "3:0.0");
  const sata = done.devices.controllers.find((each) => each.type === "sata");
  assert.equal(slotOf(sata?.address), "0:31.2");
});

Deno.test("assignPciAddresses keeps explicit addresses and is stable on its own output", () => {
  const definition = guest("pc");
  definition.devices.disks[0].address = { type: "pci", domain: 0, bus: 0, slot: 9, function: 0 };
  const once = completeQemuDefinition(definition, MACHINES);
  assert.equal(slotOf(once.devices.disks[0].address), "0:9.0");
  assert.deepEqual(assignPciAddresses(once), once);
  assert.deepEqual(completeQemuDefinition(once, MACHINES), once);
});

Deno.test("assignPciAddresses refuses two devices at one address with code 27", () => {
  const definition = addImplicitDevices(guest("pc-i440fx-7.2"), "i440fx");
  definition.devices.disks[0].address = { type: "pci", domain: 0, bus: 0, slot: 3, function: 0 };
  definition.devices.interfaces[0].address = {
    type: "pci",
    domain: 0,
    bus: 0,
    slot: 3,
    function: 0,
  };
  assert.throws(() => assignPciAddresses(definition), (error: unknown) => {
    assert.ok(error instanceof VirtError);
    assert.equal(error.code, 27);
    assert.equal(error.message, "Attempted double use of PCI Address 0000:00:03.0");
    return true;
  });
});

Deno.test("assignPciAddresses adds the buses up to an explicit address's bus as bridges", () => {
  const definition = addImplicitDevices(guest("pc-i440fx-7.2"), "i440fx");
  definition.devices.disks[0].address = { type: "pci", domain: 0, bus: 2, slot: 1, function: 0 };
  const done = assignPciAddresses(definition);
  const bridges = done.devices.controllers.filter((each) => each.model === "pci-bridge");
  assert.deepEqual(bridges.map((each) => each.index), [1, 2]);
  assert.deepEqual(bridges.map((each) => each.target?.chassisNr), ["1", "2"]);
});

Deno.test("parseMachineHelp reads aliases and the default machine", () => {
  const types = parseMachineHelp(
    "Supported machines are:\npc   Standard PC (alias of pc-i440fx-7.2)\npc-i440fx-7.2  Standard PC (default)\nq35  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n",
  );
  assert.equal(resolveMachine("q35", types), "pc-q35-7.2");
  assert.equal(resolveMachine(undefined, types), "pc-i440fx-7.2");
  assert.equal(resolveMachine("pc-i440fx-6.2", types), "pc-i440fx-6.2");
});
