/**
 * What libvirt's bhyve driver adds to a definition before it builds command lines: its
 * device post-parse (SATA drive addresses, nmdm console ends, GOP video), its domain post-parse
 * (a PCI root, an ISA/LPC bridge when something needs one), the generic implicit devices, and
 * its PCI slot assignment (slot 0 the host bridge, slot 1 kept for the LPC bridge, then
 * controllers, NICs, virtio disks, video, sound and file systems in turn).
 *
 * @module
 */

import { addConsoleCompat } from "../../src/model/console_compat.ts";
import { diskTargetIndex, withDiskDefaults } from "../../src/model/device_edit.ts";
import type { DeviceAddress, DomainDefinition, XmlElement } from "../../src/model/domain.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { BhyveCapabilities } from "./bhyve_capabilities.ts";

/** The first and last PCI slot of bhyve's single PCI bus open to devices. */
const PCI_SLOT_MIN = 1;
const PCI_SLOT_MAX = 31;
/** The slot libvirt keeps for the LPC (ISA) bridge. */
const LPC_SLOT = 1;

/** Options of {@linkcode bhyveDefaults}. */
export interface BhyveDefaultsOptions {
  /** The binary's features. */
  capabilities: BhyveCapabilities;
  /** Makes a MAC address for an interface without one. */
  generateMac?: () => string;
}

/** The named extra element of the domain (`bootloader`, `bootloader_args`). */
export function domainText(def: DomainDefinition, name: string): string | undefined {
  const placed = def.extra?.elements?.find((each) => each.element.name === name);
  if (placed === undefined) return undefined;
  return (placed.element.children ?? []).filter((child) => typeof child === "string").join("")
    .trim();
}

/** Whether the guest boots from firmware (a loader without a bootloader, or EFI). */
function needsIsaBridge(def: DomainDefinition): boolean {
  if (domainText(def, "bootloader") === undefined && def.os.loader !== undefined) return true;
  if (def.os.firmware === "efi") return true;
  if (def.devices.serials.length > 0 || def.devices.consoles.length > 0) return true;
  return def.devices.graphics.length > 0 && def.devices.videos.length > 0;
}

/**
 * The definition as libvirt's bhyve driver completes it, on a copy.
 *
 * @throws {VirtError} Code 27 for a disk name without an index; code 1 when the PCI bus is full.
 */
export function bhyveDefaults(
  definition: DomainDefinition,
  options: BhyveDefaultsOptions,
): DomainDefinition {
  const def = applyDomainDefaults(definition, {
    ...(options.generateMac === undefined ? {} : { generateMac: options.generateMac }),
  });
  const devices = def.devices;
  devices.disks = devices.disks.map(withDiskDefaults);
  for (const disk of devices.disks) {
    if (disk.address !== undefined || disk.target.bus !== "sata") continue;
    const index = diskTargetIndex(disk.target.dev);
    if (index < 0) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Unknown disk name '${disk.target.dev}' and no address specified`,
        { where: "/domain/devices/disk/target/@dev" },
      );
    }
    disk.address = options.capabilities.ahci32Slot
      ? { type: "drive", controller: Math.trunc(index / 32), bus: 0, unit: index % 32 }
      : { type: "drive", controller: index, bus: 0, unit: 0 };
  }
  for (const chardev of [...devices.serials, ...devices.consoles]) {
    if (chardev.type !== "nmdm") continue;
    if (chardev.sources.length === 0) chardev.sources.push({});
    const source = chardev.sources[0];
    if (source.master === undefined) {
      source.master = `/dev/nmdm${def.uuid}A`;
      source.slave = `/dev/nmdm${def.uuid}B`;
    }
  }
  if (devices.graphics.length > 0 && devices.videos.length === 0) {
    devices.videos.push({ model: { type: "gop", primary: "yes" } });
  }
  for (const video of devices.videos) {
    if (video.model === undefined) video.model = { type: "gop" };
    else if (video.model.type === "default") video.model.type = "gop";
  }
  const controllers = devices.controllers;
  if (!controllers.some((each) => each.type === "pci" && (each.index ?? 0) === 0)) {
    controllers.push({ type: "pci", index: 0, model: "pci-root" });
  }
  if (
    needsIsaBridge(def) &&
    !controllers.some((each) => each.type === "isa" && (each.index ?? 0) === 0)
  ) {
    controllers.push({ type: "isa", index: 0 });
  }
  let maxSata = -1;
  for (const disk of devices.disks) {
    if (disk.target.bus === "sata" && disk.address?.type === "drive") {
      maxSata = Math.max(maxSata, disk.address.controller ?? 0);
    }
  }
  for (let index = 0; index <= maxSata; index++) {
    if (!controllers.some((each) => each.type === "sata" && (each.index ?? 0) === index)) {
      controllers.push({ type: "sata", index });
    }
  }
  addConsoleCompat(def);
  assignPciSlots(def);
  return def;
}

/** Whether a device still needs a PCI address (none, or an empty PCI one). */
function wantsPciAddress(address: DeviceAddress | undefined): boolean {
  if (address === undefined) return true;
  return address.type === "pci" && !address.domain && !address.bus && !address.slot &&
    !address.function;
}

function assignPciSlots(def: DomainDefinition): void {
  const devices = def.devices;
  const used = new Set<number>();
  const everyAddress = [
    ...devices.disks,
    ...devices.controllers,
    ...devices.interfaces,
    ...devices.videos,
    ...devices.sounds,
    ...devices.inputs,
    ...devices.hostdevs,
    ...devices.serials,
    ...devices.consoles,
    ...devices.filesystems ?? [],
  ].map((device) => device.address);
  const filesystems = (devices.extra?.elements ?? []).filter((placed) =>
    placed.element.name === "filesystem"
  );
  for (const placed of filesystems) {
    const attributes = fsAddress(placed.element)?.attributes;
    if (attributes?.type === "pci") {
      everyAddress.push({
        type: "pci",
        slot: Number(attributes.slot ?? 0),
        bus: Number(attributes.bus ?? 0),
        domain: Number(attributes.domain ?? 0),
      });
    }
  }
  for (const address of everyAddress) {
    if (address?.type !== "pci") continue;
    if (!address.domain && !address.bus && !address.slot) continue;
    used.add(address.slot ?? 0);
  }
  const next = (): DeviceAddress => {
    for (let slot = PCI_SLOT_MIN; slot <= PCI_SLOT_MAX; slot++) {
      if (used.has(slot)) continue;
      used.add(slot);
      return { type: "pci", domain: 0, bus: 0, slot, function: 0 };
    }
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "No more available PCI slots", {
      where: "/domain/devices",
    });
  };
  if (!used.has(LPC_SLOT)) {
    used.add(LPC_SLOT);
    const isa = devices.controllers.find((each) =>
      each.type === "isa" && wantsPciAddress(each.address)
    );
    if (isa !== undefined) {
      isa.address = { type: "pci", domain: 0, bus: 0, slot: LPC_SLOT, function: 0 };
    }
  }
  for (const controller of devices.controllers) {
    const takesSlot = controller.type === "pci" || controller.type === "sata" ||
      controller.type === "isa" || (controller.type === "usb" && controller.model === "nec-xhci");
    if (!takesSlot || controller.model === "pci-root" || !wantsPciAddress(controller.address)) {
      continue;
    }
    controller.address = next();
  }
  for (const net of devices.interfaces) if (wantsPciAddress(net.address)) net.address = next();
  for (const disk of devices.disks) {
    if (disk.target.bus !== "virtio") continue;
    if (disk.address?.type === "pci" && !wantsPciAddress(disk.address)) continue;
    disk.address = next();
  }
  for (const video of devices.videos) if (wantsPciAddress(video.address)) video.address = next();
  for (const sound of devices.sounds) if (wantsPciAddress(sound.address)) sound.address = next();
  for (const filesystem of devices.filesystems ?? []) {
    if (filesystem.address === undefined) filesystem.address = next();
  }
  for (const placed of filesystems) {
    if (fsAddress(placed.element) === undefined) {
      const slot = next().slot!;
      placed.element.children = [...placed.element.children ?? [], {
        name: "address",
        attributes: {
          type: "pci",
          domain: "0x0000",
          bus: "0x00",
          slot: `0x${slot.toString(16).padStart(2, "0")}`,
          function: "0x0",
        },
      }];
    }
  }
}

/** The `<address>` of a `<filesystem>` element. */
export function fsAddress(element: XmlElement): XmlElement | undefined {
  return element.children?.find((child): child is XmlElement =>
    typeof child !== "string" && child.name === "address"
  );
}
