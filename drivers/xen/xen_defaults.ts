/**
 * What libvirt's Xen driver adds to a definition read from a native configuration (its
 * post-parse callbacks and the generic ones they run with): the PV console, implicit mouse
 * and keyboard, PAE for x86_64 HVM, the Xen balloon, the xenbus controller, a console
 * mirroring the first serial port, a default video card for a framebuffer, drive addresses
 * and the IDE/SCSI controllers they need, the Xen PCI backend, and the loader type.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";

/** Where libxl keeps its firmware (Debian's `LIBXL_FIRMWARE_DIR`). */
export const XEN_FIRMWARE_DIR = "/usr/lib/xen/boot";

/** The HVM loader libvirt's Xen capabilities name for x86_64. */
export const XEN_HVMLOADER = "/usr/lib/xen/boot/hvmloader";

/** Boot letters of `boot=` (`a` floppy, `c` disk, `d` cdrom, `n` network) → boot devices. */
export function parseBootOrder(letters: string): string[] {
  const devices: Record<string, string> = { a: "fd", d: "cdrom", n: "network" };
  return [...letters].slice(0, 4).map((letter) => devices[letter] ?? "hd");
}

/** Boot devices → `boot=` letters; `c` when there are none. */
export function formatBootOrder(boot: readonly string[]): string {
  if (boot.length === 0) return "c";
  const letters: Record<string, string> = { fd: "a", cdrom: "d", network: "n" };
  return boot.map((device) => letters[device] ?? "c").join("");
}

/** Fills in what libvirt's Xen driver adds after reading a native configuration. */
export function applyXenDefaults(definition: DomainDefinition): void {
  const devices = definition.devices;
  const hvm = definition.os.type === "hvm";
  if (!hvm && devices.consoles.length === 0) {
    devices.consoles.push({ type: "pty", sources: [], target: { type: "xen", port: 0 } });
  }
  const inputBus = hvm ? "ps2" : "xen";
  for (const type of ["mouse", "keyboard"]) {
    if (!devices.inputs.some((input) => input.type === type && input.bus === inputBus)) {
      devices.inputs.push({ type, bus: inputBus });
    }
  }
  if (hvm && definition.os.arch === "x86_64") {
    definition.features ??= {};
    definition.features.pae ??= {};
    if ((definition.cpu?.numa?.cells.length ?? 0) > 0) definition.features.acpi ??= {};
  }
  devices.memballoon ??= { model: "xen" };
  if (!devices.controllers.some((controller) => controller.type === "xenbus")) {
    devices.controllers.push({ type: "xenbus", index: 0 });
  }
  if (hvm && devices.consoles.length === 0 && devices.serials.length > 0) {
    const serial = devices.serials[0];
    devices.consoles.push({
      ...structuredClone(serial),
      target: { type: "serial", port: serial.target?.port ?? 0 },
    });
  }
  if (devices.graphics.length > 0 && devices.videos.length === 0) {
    const type = hvm ? "cirrus" : "xen";
    devices.videos.push({
      model: { type, vram: hvm ? 8192 : 4096, heads: 1, primary: "yes" },
    });
  }
  assignDriveAddresses(definition);
  for (const hostdev of devices.hostdevs) {
    if (hostdev.type === "pci" && hostdev.driverName === undefined) hostdev.driverName = "xen";
  }
  const indexes = new Map<string, number>();
  for (const controller of devices.controllers) {
    if (controller.index !== undefined) {
      indexes.set(
        controller.type,
        Math.max(indexes.get(controller.type) ?? 0, controller.index + 1),
      );
    }
  }
  for (const controller of devices.controllers) {
    if (controller.index === undefined) {
      controller.index = indexes.get(controller.type) ?? 0;
      indexes.set(controller.type, controller.index + 1);
    }
  }
  if (definition.features !== undefined) definition.features = orderedFeatures(definition.features);
  const loader = definition.os.loader;
  if (loader?.path !== undefined && loader.type === undefined) loader.type = "rom";
}

/** The index of a disk name (`hda` → 0, `sdb` → 1, `hdaa` → 26); undefined when not one. */
export function diskIndex(name: string): number | undefined {
  const match = /^(?:hd|sd|vd|xvd|fd)([a-z]+)$/.exec(name);
  if (match === null) return undefined;
  let index = 0;
  for (const letter of match[1]) index = index * 26 + (letter.charCodeAt(0) - 96);
  return index - 1;
}

function assignDriveAddresses(definition: DomainDefinition): void {
  const needed: { type: string; index: number }[] = [];
  for (const disk of definition.devices.disks) {
    if (disk.address !== undefined) continue;
    const index = diskIndex(disk.target.dev);
    if (index === undefined) continue;
    if (disk.target.bus === "ide") {
      disk.address = {
        type: "drive",
        controller: Math.floor(index / 4),
        bus: Math.floor((index % 4) / 2),
        target: 0,
        unit: index % 2,
      };
      needed.push({ type: "ide", index: Math.floor(index / 4) });
    } else if (disk.target.bus === "scsi") {
      disk.address = {
        type: "drive",
        controller: Math.floor(index / 7),
        bus: 0,
        target: 0,
        unit: index % 7,
      };
      needed.push({ type: "scsi", index: Math.floor(index / 7) });
    }
  }
  const controllers = definition.devices.controllers;
  for (const type of ["scsi", "ide"]) {
    const highest = Math.max(
      -1,
      ...needed.filter((entry) => entry.type === type).map((entry) => entry.index),
    );
    for (let index = 0; index <= highest; index++) {
      if (
        !controllers.some((controller) => controller.type === type && controller.index === index)
      ) {
        controllers.push({ type, index });
      }
    }
  }
}

/** libvirt's order of `<features>` children (its feature enumeration), for the ones Xen sets. */
const FEATURE_ORDER = ["acpi", "apic", "pae", "hap", "viridian", "privnet", "hyperv", "xen"];

function orderedFeatures(
  features: NonNullable<DomainDefinition["features"]>,
): NonNullable<DomainDefinition["features"]> {
  const rank = (name: string) => {
    const index = FEATURE_ORDER.indexOf(name);
    return index === -1 ? FEATURE_ORDER.length : index;
  };
  return Object.fromEntries(
    Object.entries(features).sort(([first], [second]) => rank(first) - rank(second)),
  );
}
