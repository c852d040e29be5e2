/**
 * Define-time completion rules checked against libvirt 9.0's persistent XML for the same
 * inputs (each rule was compared side by side with `virsh define` on the shared corpus):
 * addresses of host devices, filesystems and USB devices behind hubs, and the order libvirt's
 * parser keeps disks and controllers in.
 */

import assert from "node:assert/strict";
import { completeQemuDefinition } from "../../../drivers/qemu/definition_completion.ts";
import type { DeviceAddress, DomainDefinition } from "../../../src/model/domain.ts";
import { applyDomainDefaults } from "../../../src/model/domain_defaults.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";

const MACHINES = { aliases: { pc: "pc-i440fx-7.2", q35: "pc-q35-7.2" } };

function complete(devices: string, machine = "pc"): DomainDefinition {
  return completeQemuDefinition(
    applyDomainDefaults(parseDomainXml(
      `<domain type='qemu'><name>vm</name><memory>131072</memory>` +
        `<os><type machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`,
    )),
    MACHINES,
  );
}

function pci(address: DeviceAddress | undefined): string {
  return address?.type === "pci" ? `${address.bus}:${address.slot}.${address.function}` : "none";
}

Deno.test("a vfio-pci mediated device and a hostdev interface take PCI slots after the NICs", () => {
  const done = complete(
    "<interface type='user'><model type='virtio'/></interface>" +
      "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>" +
      "<source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>" +
      "<interface type='hostdev' managed='yes'>" +
      "<source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>" +
      "</interface>",
  );
  assert.equal(pci(done.devices.interfaces[0].address), "0:2.0");
  // libvirt enters the interface's host device when it parses the interface: before <hostdev>s.
  assert.equal(pci(done.devices.interfaces[1].address), "0:3.0");
  assert.equal(pci(done.devices.hostdevs[0].address), "0:4.0");
});

Deno.test("a vfio-ccw mediated device takes no PCI slot", () => {
  const done = complete(
    "<hostdev mode='subsystem' type='mdev' model='vfio-ccw'>" +
      "<source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source></hostdev>",
  );
  assert.equal(pci(done.devices.hostdevs[0].address), "none");
});

Deno.test("a 9p share takes the first slot after the PCI controllers, before the NICs", () => {
  const done = complete(
    "<interface type='user'><model type='virtio'/></interface>" +
      "<filesystem type='mount'><source dir='/srv'/><target dir='srv'/></filesystem>",
  );
  assert.equal(pci(done.devices.filesystems?.[0].address), "0:2.0");
  assert.equal(pci(done.devices.interfaces[0].address), "0:3.0");
});

Deno.test("USB devices fill the root hub, then a hub's ports depth first", () => {
  const done = complete(
    "<controller type='usb' index='0'/>" +
      "<hub type='usb'><address type='usb' bus='0' port='1'/></hub>" +
      "<input type='mouse' bus='usb'/><hub type='usb'/>" +
      "<input type='mouse' bus='usb'/><input type='tablet' bus='usb'/>",
  );
  // piix3-uhci has two ports: the hubs take both, the inputs go behind the first hub.
  assert.deepEqual(done.devices.hubs.map((hub) => hub.address?.port), ["1", "2"]);
  const inputs = done.devices.inputs.filter((input) => input.bus === "usb");
  assert.deepEqual(inputs.map((input) => input.address?.port), ["1.1", "1.2", "1.3"]);
});

Deno.test("a USB address naming only its bus gets a port on that bus", () => {
  const done = complete(
    "<controller type='usb' index='0'/>" +
      "<input type='mouse' bus='usb'><address type='usb' bus='0'/></input>" +
      "<hub type='usb'><address type='usb' bus='0'/></hub>" +
      "<hub type='usb'><address type='usb' bus='0'/></hub>",
  );
  assert.deepEqual(done.devices.hubs.map((hub) => hub.address?.port), ["1", "2"]);
  assert.equal(done.devices.inputs.find((input) => input.bus === "usb")?.address?.port, "1.1");
});

Deno.test("SCSI host devices take free units controller by controller, adding controllers", () => {
  const hostdev = (unit: number, address = "") =>
    `<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host${unit}'/>` +
    `<address bus='0' target='0' unit='${unit}'/></source>${address}</hostdev>`;
  const done = complete(
    "<controller type='scsi' index='0' model='virtio-scsi'/>" +
      [0, 1, 2, 3, 4, 5, 6, 7].map((unit) => hostdev(unit)).join("") +
      hostdev(8, "<address type='drive' controller='1' bus='0' target='0' unit='0'/>") +
      hostdev(9),
  );
  const units = done.devices.hostdevs.map((each) =>
    `${each.address?.controller}:${each.address?.unit}`
  );
  assert.deepEqual(
    units,
    ["0:0", "0:1", "0:2", "0:3", "0:4", "0:5", "0:6", "1:0", "1:0", "1:1"]
      .map((unit, index) => index === 7 ? "1:1" : index === 9 ? "1:2" : unit),
  );
  const scsi = done.devices.controllers.filter((each) => each.type === "scsi");
  // The added controller has the model of the one before it.
  assert.deepEqual(scsi.map((each) => `${each.index}:${each.model}`), [
    "0:virtio-scsi",
    "1:virtio-scsi",
  ]);
});

Deno.test("disks keep libvirt's parse order: by target name within their bus", () => {
  const disk = (dev: string, bus: string) =>
    `<disk type='file' device='disk'><source file='/${dev}.img'/><target dev='${dev}' bus='${bus}'/></disk>`;
  const done = complete(
    disk("hdc", "ide") + disk("vdb", "virtio") + disk("hda", "ide") +
      disk("vda", "virtio"),
  );
  assert.deepEqual(done.devices.disks.map((each) => each.target.dev), ["hda", "hdc", "vda", "vdb"]);
});

Deno.test("controllers keep libvirt's parse order: by index within their type, ties as given", () => {
  const done = complete(
    "<controller type='usb' index='1' model='ich9-ehci1'/>" +
      "<controller type='usb' index='0' model='ich9-ehci1'/>" +
      "<controller type='usb' index='0' model='ich9-uhci1'/>" +
      "<controller type='usb' index='1' model='ich9-uhci1'/>",
  );
  const usb = done.devices.controllers.filter((each) => each.type === "usb");
  assert.deepEqual(usb.map((each) => `${each.index}:${each.model}`), [
    "0:ich9-ehci1",
    "0:ich9-uhci1",
    "1:ich9-ehci1",
    "1:ich9-uhci1",
  ]);
});

Deno.test("a virtio-serial controller is added for each index the channels name", () => {
  const done = complete(
    "<controller type='virtio-serial' index='1'/>" +
      "<channel type='pty'><target type='virtio' name='a'/>" +
      "<address type='virtio-serial' controller='0' bus='0' port='1'/></channel>" +
      "<channel type='pty'><target type='virtio' name='b'/>" +
      "<address type='virtio-serial' controller='2' bus='0' port='1'/></channel>",
  );
  const types = done.devices.controllers.map((each) => `${each.type}${each.index}`);
  // Those the generic defaults add come after the QEMU driver's own (USB, PCI root).
  assert.deepEqual(types, ["virtio-serial1", "usb0", "pci0", "virtio-serial0", "virtio-serial2"]);
});

Deno.test("a model-less USB controller the document gives is piix3-uhci on q35 too", () => {
  const done = complete("<controller type='usb' index='0'/>", "q35");
  assert.equal(done.devices.controllers.find((each) => each.type === "usb")?.model, "piix3-uhci");
  const implicit = complete("", "q35");
  assert.equal(
    implicit.devices.controllers.find((each) => each.type === "usb")?.model,
    "qemu-xhci",
  );
});

Deno.test("only the primary video carries primary='yes'; primary='no' is not kept", () => {
  const done = complete(
    "<video><model type='virtio' primary='yes'/></video><video><model type='virtio' primary='no'/></video>",
  );
  assert.deepEqual(done.devices.videos.map((each) => each.model?.primary), ["yes", undefined]);
});

Deno.test("a vsock device takes the next PCI slot after the other devices, kept in its element", () => {
  const done = complete(
    "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>" +
      "<vsock model='virtio'><cid auto='no' address='4'/></vsock>",
  );
  assert.equal(pci(done.devices.rngs[0].address), "0:3.0");
  const vsock = done.devices.extra?.elements?.find((placed) => placed.element.name === "vsock");
  const address = vsock?.element.children?.find((child) =>
    typeof child !== "string" && child.name === "address"
  );
  assert.deepEqual(typeof address === "string" ? undefined : address?.attributes, {
    type: "pci",
    domain: "0x0000",
    bus: "0x00",
    slot: "0x04",
    function: "0x0",
  });
});
