/**
 * The address part of `validateDomain`: no address used twice, USB buses and hubs that
 * exist, controllers with unique indexes, PCI controllers plugged where they fit.
 *
 * @module
 */

import type {
  Controller,
  DeviceAddress,
  DomainDefinition,
  DomainDevices,
} from "../model/domain.ts";
import { DEVICES } from "../model/domain_schema.ts";
import { ErrorCode } from "../model/errors.ts";
import { invalid } from "./validation_failure.ts";

/** A device that has an address, with its element path. */
interface Addressed {
  address: DeviceAddress;
  where: string;
}

/** Which PCI controller models accept which plugged controller models (libvirt's rules). */
const PCI_ACCEPTS: Readonly<Record<string, readonly string[]>> = {
  "pci-root": ["pci-bridge", "pci-expander-bus"],
  "pcie-root": ["pcie-root-port", "dmi-to-pci-bridge", "pcie-expander-bus"],
  "pcie-root-port": ["pcie-switch-upstream-port", "pcie-to-pci-bridge"],
  "pcie-switch-upstream-port": ["pcie-switch-downstream-port"],
  "pcie-switch-downstream-port": ["pcie-switch-upstream-port", "pcie-to-pci-bridge"],
  "pcie-expander-bus": ["pcie-root-port", "dmi-to-pci-bridge"],
  "dmi-to-pci-bridge": ["pci-bridge"],
  "pcie-to-pci-bridge": ["pci-bridge"],
  "pci-bridge": ["pci-bridge"],
  "pci-expander-bus": ["pci-bridge"],
};

const DRIVE_BUSES = new Set(["ide", "fdc", "scsi", "sata"]);

/**
 * Checks the addresses and controllers of `def`.
 *
 * @param def The definition.
 * @throws {VirtError} Code 27 or 67 with the element path.
 */
export function validateAddresses(def: DomainDefinition): void {
  const devices = def.devices;
  const addressed = addressedDevices(devices);
  rejectDoubleUse(
    addressed.filter(({ address }) => address.type === "pci" && address.slot !== undefined),
    pciName,
    "PCI",
  );
  validateDiskAddresses(devices);
  validateControllers(def);
  validateUsb(def, addressed.filter(({ address }) => address.type === "usb"));
}

function addressedDevices(devices: DomainDevices): Addressed[] {
  const result: Addressed[] = [];
  for (const [field, value] of Object.entries(devices)) {
    if (field === "extra" || field === "emulator") continue;
    const list =
      (Array.isArray(value) ? value : [value]) as ({ address?: DeviceAddress } | undefined)[];
    const name = ELEMENT_NAMES.get(field) ?? field;
    list.forEach((device, index) => {
      // A console with a serial target is the first serial port seen again, not a device.
      const mirrorsSerial = field === "consoles" &&
        (device as { target?: { type?: string } }).target?.type === "serial";
      if (device?.address !== undefined && !mirrorsSerial) {
        result.push({
          address: device.address,
          where: `/domain/devices/${name}[${index + 1}]/address`,
        });
      }
    });
  }
  return result;
}

/** Device list fields by their element name: `disks` → `disk`. */
const ELEMENT_NAMES: ReadonlyMap<string, string> = new Map(
  DEVICES.children.map((child) => [(child as { field?: string }).field ?? child.xml, child.xml]),
);

function pciName(address: DeviceAddress): string {
  const hex = (value: number | undefined, width: number) =>
    (value ?? 0).toString(16).padStart(width, "0");
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}.${
    hex(address.function, 1)
  }`;
}

function rejectDoubleUse(
  list: Addressed[],
  name: (address: DeviceAddress) => string,
  kind: string,
): void {
  const seen = new Set<string>();
  for (const { address, where } of list) {
    const key = name(address);
    if (seen.has(key)) {
      throw invalid(ErrorCode.XML_ERROR, `Attempted double use of ${kind} Address ${key}`, where);
    }
    seen.add(key);
  }
}

function validateDiskAddresses(devices: DomainDevices): void {
  const drives = new Map<string, string>();
  devices.disks.forEach((disk, index) => {
    const address = disk.address;
    const bus = disk.target.bus;
    const where = `/domain/devices/disk[${index + 1}]/address`;
    if (address === undefined || bus === undefined) return;
    if (DRIVE_BUSES.has(bus) && address.type !== "drive") {
      throw invalid(
        ErrorCode.CONFIG_UNSUPPORTED,
        `Invalid address type '${address.type}' for the disk '${disk.target.dev}' with the bus type '${bus}'`,
        where,
      );
    }
    if (address.type !== "drive") return;
    const parts = `controller='${address.controller ?? 0}' bus='${address.bus ?? 0}' target='${
      address.target ?? 0
    }' unit='${address.unit ?? 0}'`;
    const key = `${bus}/${parts}`;
    if (drives.has(key)) {
      throw invalid(
        ErrorCode.CONFIG_UNSUPPORTED,
        `Found duplicate drive address for disk with target name '${disk.target.dev}' ${parts}`,
        where,
      );
    }
    drives.set(key, disk.target.dev);
  });
}

function validateControllers(def: DomainDefinition): void {
  const controllers = def.devices.controllers;
  const seen = new Set<string>();
  controllers.forEach((controller, index) => {
    // USB companion controllers share the index of their EHCI master.
    if (controller.type === "usb" || controller.index === undefined) return;
    const key = `${controller.type}/${controller.index}`;
    if (seen.has(key)) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `Multiple '${controller.type}' controllers with index '${controller.index}'`,
        `/domain/devices/controller[${index + 1}]`,
      );
    }
    seen.add(key);
  });
  const pci = new Map<number, Controller>();
  for (const controller of controllers) {
    if (controller.type === "pci" && controller.index !== undefined && !pci.has(controller.index)) {
      pci.set(controller.index, controller);
    }
  }
  validatePciRoot(def.os.machine, pci.get(0));
  controllers.forEach((controller, index) => {
    const where = `/domain/devices/controller[${index + 1}]`;
    if (controller.type === "usb") validateUsbPorts(controller, where);
    if (controller.type !== "pci") return;
    if (
      (controller.model === "pci-root" || controller.model === "pcie-root") &&
      controller.address !== undefined
    ) {
      throw invalid(
        ErrorCode.CONFIG_UNSUPPORTED,
        "pci-root and pcie-root controllers should not have an address",
        `${where}/address`,
      );
    }
    validatePciPlug(controller, pci, `${where}/address`);
  });
}

/** Most ports an xHCI controller offers (QEMU's limit). */
const XHCI_PORTS_MAX = 15;

function validateUsbPorts(controller: Controller, where: string): void {
  const model = controller.model ?? "";
  if (model.endsWith("xhci") && (controller.ports ?? 0) > XHCI_PORTS_MAX) {
    throw invalid(
      ErrorCode.CONFIG_UNSUPPORTED,
      `'${model}' controller only supports up to '${XHCI_PORTS_MAX}' ports`,
      `${where}/@ports`,
    );
  }
}

/** Ports of a USB hub device. */
const USB_HUB_PORTS = 8;

/**
 * Ports of a USB controller model (libvirt's table); companions add none to their master's
 * six. `machine` decides the default model: xHCI on q35, PIIX3 UHCI otherwise.
 */
function usbControllerPorts(controller: Controller, machine: string | undefined): number {
  const model = controller.model ?? (/q35/.test(machine ?? "") ? "qemu-xhci" : "piix3-uhci");
  switch (model) {
    case "piix3-uhci":
    case "piix4-uhci":
    case "vt82c686b-uhci":
      return 2;
    case "ehci":
    case "ich9-ehci1":
      return 6;
    case "pci-ohci":
      return 3;
    case "nec-xhci":
    case "qemu-xhci":
      return controller.ports ?? 4;
    case "qusb1":
    case "qusb2":
      return controller.ports ?? 8;
    default:
      return 0;
  }
}

function validatePciRoot(machine: string | undefined, root: Controller | undefined): void {
  if (machine === undefined || root?.model === undefined) return;
  const wanted = /q35/.test(machine)
    ? "pcie-root"
    : /^(pc|pc-i440fx.*|pc-[0-9.]+)$/.test(machine)
    ? "pci-root"
    : undefined;
  if (
    wanted === undefined || (root.model !== "pci-root" && root.model !== "pcie-root") ||
    root.model === wanted
  ) return;
  throw invalid(
    ErrorCode.XML_ERROR,
    `The PCI controller with index='0' must be model='${wanted}' for this machine type, but model='${root.model}' was found instead`,
    "/domain/devices/controller",
  );
}

function validatePciPlug(
  controller: Controller,
  pci: ReadonlyMap<number, Controller>,
  where: string,
): void {
  const address = controller.address;
  const model = controller.model;
  if (address?.type !== "pci" || address.bus === undefined || model === undefined) return;
  const parent = pci.get(address.bus);
  const accepts = parent?.model === undefined ? undefined : PCI_ACCEPTS[parent.model];
  const pluggable = Object.values(PCI_ACCEPTS).some((children) => children.includes(model));
  if (accepts === undefined || !pluggable || accepts.includes(model)) return;
  throw invalid(
    ErrorCode.XML_ERROR,
    `The device at PCI address ${
      pciName(address)
    } cannot be plugged into the PCI controller with index='${address.bus}'. It requires a controller that accepts a ${model}.`,
    where,
  );
}

function validateUsb(def: DomainDefinition, usb: Addressed[]): void {
  const devices = def.devices;
  // Ports of each bus: the largest count among the controllers of that index.
  const buses = new Map<number, number>();
  for (const controller of devices.controllers) {
    if (controller.type !== "usb") continue;
    const index = controller.index ?? 0;
    buses.set(
      index,
      Math.max(buses.get(index) ?? 0, usbControllerPorts(controller, def.os.machine)),
    );
  }
  const hubPorts = new Set(
    devices.hubs.filter((hub) => hub.address?.type === "usb").map((hub) =>
      `${hub.address!.bus ?? 0}/${hub.address!.port}`
    ),
  );
  for (const { address, where } of usb) {
    const bus = address.bus ?? 0;
    if (!buses.has(bus)) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `USB bus ${bus} requested but no controller with that index is present`,
        where,
      );
    }
    const port = address.port;
    if (port === undefined) continue;
    const parts = port.split(".");
    // A controller model whose port count evirt does not know is not checked for range.
    const controllerPorts = buses.get(bus) ?? 0;
    for (let depth = 1; depth < parts.length; depth++) {
      const hub = parts.slice(0, depth).join(".");
      const ports = depth === 1 ? controllerPorts : USB_HUB_PORTS;
      if (ports > 0 && Number(parts[depth - 1]) > ports) {
        throw invalid(
          ErrorCode.XML_ERROR,
          `port ${parts[depth - 1]} out of range in USB address bus: ${bus} port: ${port}`,
          where,
        );
      }
      if (!hubPorts.has(`${bus}/${hub}`)) {
        throw invalid(
          ErrorCode.XML_ERROR,
          `there is no hub at port ${parts[depth - 1]} in USB address bus: ${bus} port: ${port}`,
          where,
        );
      }
    }
    const last = Number(parts[parts.length - 1]);
    const lastPorts = parts.length === 1 ? controllerPorts : USB_HUB_PORTS;
    if (lastPorts > 0 && last > lastPorts) {
      throw invalid(
        ErrorCode.XML_ERROR,
        `requested USB port ${port} not present on USB bus ${bus}`,
        where,
      );
    }
  }
  rejectDoubleUse(
    usb.filter(({ address }) => address.port !== undefined),
    (address) => `bus='${address.bus ?? 0}' port='${address.port}'`,
    "USB",
  );
}
