/**
 * The devices and defaults libvirt 9.0's QEMU driver adds to an x86 definition at define (its
 * post-parse), so the persistent definition names the hardware the guest will see:
 *
 * - controllers: a USB controller at index 0 (`piix3-uhci` on i440fx, `qemu-xhci` on q35;
 *   a USB controller the document gives without a model is `piix3-uhci`), the SATA controller q35 has built in,
 *   the PCI root (`pci-root` / `pcie-root`), then the disk controllers the disks' drive
 *   addresses need (SCSI `lsilogic`, FDC, IDE, SATA), in that order and before the
 *   virtio-serial and CCID controllers the generic defaults added (libvirt appends the
 *   controllers it adds, in the order it adds them);
 * - a drive address for every IDE, SATA, SCSI and floppy disk from its target name (`hdc` is
 *   IDE controller 0, bus 1, unit 0); `<driver name='qemu' type='raw'>` for disks that do not
 *   say; `rtl8139` for an interface without a model;
 * - PS/2 mouse and keyboard; a virtio memory balloon; a `cirrus` video (16 MiB) for graphics
 *   without a video; one head per video and the video RAM of its model; watchdog action `reset`;
 * - `<audio id='1' type='none'/>` when the definition has no audio backend;
 * - no `<source mode='bind'/>` for a unix channel without a path (the driver names it at start);
 * - serial ports as `isa-serial` with their port number, and the console tied to the first
 *   serial port (see console_compat.ts);
 * - virtio-serial ports for channels (from 1), after those virtio consoles take (from 0; a
 *   console's port is not written, as libvirt's);
 * - USB ports for USB devices (usb_port_assignment.ts: hubs, depth-first, as libvirt).
 *
 * @module
 */

import type {
  Controller,
  DeviceAddress,
  Disk,
  DomainDefinition,
  DomainDevices,
  Hostdev,
  XmlPlacedElement,
} from "../../src/model/domain.ts";
import { addConsoleCompat } from "../../src/model/console_compat.ts";
import { assignUsbPorts } from "./usb_port_assignment.ts";

/** The machine families this completion knows. */
export type MachineKind = "i440fx" | "q35";

/** Video RAM (KiB) libvirt gives each video model that has some. */
const VIDEO_VRAM_KIB: Record<string, number> = {
  vga: 16384,
  cirrus: 16384,
  vmvga: 4096,
  bochs: 16384,
  qxl: 65536,
};

/** The `<model name>` of each serial target type. */
const SERIAL_TARGET_MODELS: Record<string, string> = {
  "isa-serial": "isa-serial",
  "usb-serial": "usb-serial",
  "pci-serial": "pci-serial",
  "isa-debug": "isa-debugcon",
};

/** How a completion step treats the definition it is given. */
export interface CompletionStepOptions {
  /** The caller's own copy, changed in place (no copy made); default false: left as it was. */
  owned?: boolean;
}

/**
 * Returns `definition` with the QEMU driver's implicit devices and defaults (see the module
 * notes). Pure: `definition` is not changed.
 *
 * @param definition A definition after the generic defaults.
 * @param kind The machine family.
 * @returns The completed definition.
 *
 * @example
 * ```ts
 * import { addImplicitDevices } from "./implicit_devices.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const done = addImplicitDevices({
 *   type: "qemu", name: "vm", memoryKiB: 131072, vcpus: 1,
 *   os: { type: "hvm", machine: "pc-i440fx-7.2", boot: [] }, devices: emptyDevices(),
 * }, "i440fx");
 * console.log(done.devices.controllers.map((each) => each.model)); // ["piix3-uhci", "pci-root"]
 * ```
 */
export function addImplicitDevices(
  definition: DomainDefinition,
  kind: MachineKind,
  options: CompletionStepOptions = {},
): DomainDefinition {
  const def = options.owned ? definition : structuredClone(definition);
  const devices = def.devices;
  addControllers(devices, kind);
  for (const disk of devices.disks) completeDisk(disk);
  assignScsiHostdevAddresses(devices);
  addDiskControllers(devices);
  for (const nic of devices.interfaces) {
    if (nic.model === undefined && nic.type !== "hostdev") nic.model = "rtl8139";
  }
  addConsoleCompat(def, { serialTargetType: "isa-serial" });
  for (const input of [["mouse", "ps2"], ["keyboard", "ps2"]]) {
    if (!devices.inputs.some((each) => each.type === input[0] && each.bus === input[1])) {
      devices.inputs.push({ type: input[0], bus: input[1] });
    }
  }
  devices.memballoon ??= { model: "virtio" };
  completeVideos(devices);
  for (const watchdog of devices.watchdogs) watchdog.action ??= "reset";
  addAudio(devices);
  for (const channel of devices.channels) {
    const source = channel.sources[0];
    const bare = source !== undefined && source.path === undefined && source.mode === "bind" &&
      Object.keys(source).length === 1;
    if (channel.type === "unix" && channel.sources.length === 1 && bare) channel.sources = [];
  }
  addVirtioSerialControllers(devices);
  assignVirtioSerialPorts(devices);
  fillPciAddresses(devices);
  for (const serial of devices.serials) {
    const model = SERIAL_TARGET_MODELS[serial.target?.type ?? ""];
    if (serial.target !== undefined && model !== undefined) serial.target.model ??= model;
  }
  assignUsbPorts(devices);
  return def;
}

/**
 * The controllers the generic defaults add (`type:index`): the virtio-serial controller each
 * virtio channel or console names (0 without an address), the ccid controller of each smartcard.
 */
function genericallyAdded(devices: DomainDevices): Set<string> {
  const added = new Set<string>();
  for (const chardev of [...devices.channels, ...devices.consoles]) {
    if (chardev.target?.type !== "virtio") continue;
    const address = chardev.address;
    added.add(`virtio-serial:${address?.type === "virtio-serial" ? address.controller ?? 0 : 0}`);
  }
  for (const card of devices.smartcards) {
    if (card.address?.type === "ccid") added.add(`ccid:${card.address.controller ?? 0}`);
  }
  return added;
}

function addControllers(devices: DomainDevices, kind: MachineKind): void {
  const controllers = devices.controllers;
  // The generic defaults appended these last; libvirt adds them after the driver's own.
  const trailing: Controller[] = [];
  const implied = genericallyAdded(devices);
  while (controllers.length > 0) {
    const last = controllers[controllers.length - 1];
    const bare = last.index !== undefined && last.address === undefined &&
      last.model === undefined && Object.keys(last).length === 2;
    if (!bare || !implied.has(`${last.type}:${last.index}`)) break;
    trailing.unshift(controllers.pop()!);
  }
  const usbModel = kind === "q35" ? "qemu-xhci" : "piix3-uhci";
  for (const controller of controllers) {
    // As libvirt on x86: a USB controller the document names without a model is piix3-uhci,
    // on q35 too; only the one added here follows the machine.
    if (controller.type === "usb") controller.model ??= "piix3-uhci";
    if (controller.type === "scsi") controller.model ??= "lsilogic";
  }
  if (!controllers.some((each) => each.type === "usb" && each.index === 0)) {
    controllers.push({ type: "usb", index: 0, model: usbModel });
  }
  if (kind === "q35" && !controllers.some((each) => each.type === "sata" && each.index === 0)) {
    controllers.push({ type: "sata", index: 0 });
  }
  const rootModel = kind === "q35" ? "pcie-root" : "pci-root";
  const root = controllers.find((each) => each.type === "pci" && each.index === 0);
  if (root === undefined) controllers.push({ type: "pci", index: 0, model: rootModel });
  else root.model ??= rootModel;
  controllers.push(...trailing);
}

/** Bus name prefixes of target devices, by disk bus. */
const TARGET_PREFIXES: Record<string, string[]> = {
  ide: ["hd"],
  sata: ["sd", "hd"],
  scsi: ["sd"],
  fdc: ["fd"],
};

/** The 0-based index of a target name after its prefix: `a` 0, `z` 25, `aa` 26. */
function targetIndex(dev: string, prefixes: string[]): number | undefined {
  const prefix = prefixes.find((each) => dev.startsWith(each));
  if (prefix === undefined) return undefined;
  const letters = dev.slice(prefix.length);
  if (!/^[a-z]+$/.test(letters)) return undefined;
  let index = 0;
  for (const letter of letters) index = index * 26 + (letter.charCodeAt(0) - 96);
  return index - 1;
}

function completeDisk(disk: Disk): void {
  if (disk.type !== "vhostuser") {
    disk.driver = { ...disk.driver };
    disk.driver.name ??= "qemu";
    disk.driver.type ??= "raw";
    // Keep libvirt's attribute order: name, type, then the rest.
    const { name, type, ...rest } = disk.driver;
    disk.driver = { name, type, ...rest };
  }
  if (disk.address?.type === "drive") {
    const { type, controller, bus, target, unit, ...rest } = disk.address;
    disk.address = {
      type,
      controller: controller ?? 0,
      bus: bus ?? 0,
      target: target ?? 0,
      unit: unit ?? 0,
      ...rest,
    };
  }
  if (disk.address !== undefined) return;
  const bus = disk.target.bus ?? "ide";
  const index = targetIndex(disk.target.dev, TARGET_PREFIXES[bus] ?? []);
  if (index === undefined) return;
  const drive = (controller: number, driveBus: number, unit: number) => {
    disk.address = { type: "drive", controller, bus: driveBus, target: 0, unit };
  };
  if (bus === "ide") drive(Math.floor(index / 4), Math.floor((index % 4) / 2), index % 2);
  else if (bus === "sata") drive(Math.floor(index / 6), 0, index % 6);
  else if (bus === "scsi") drive(Math.floor(index / 7), 0, index % 7);
  else if (bus === "fdc") drive(0, 0, index);
}

/** Controllers for the disks' drive addresses, in libvirt's order (scsi, fdc, ide, sata). */
function addDiskControllers(devices: DomainDevices): void {
  const controllers = devices.controllers;
  const trailing: Controller[] = [];
  while (
    controllers.length > 0 &&
    ["virtio-serial", "ccid"].includes(controllers[controllers.length - 1].type) &&
    controllers[controllers.length - 1].address === undefined
  ) trailing.unshift(controllers.pop()!);
  for (const bus of ["scsi", "fdc", "ide", "sata"]) {
    const indexes = devices.disks.filter((disk) =>
      (disk.target.bus ?? "ide") === bus && disk.address?.type === "drive"
    ).map((disk) => disk.address!.controller ?? 0);
    if (indexes.length === 0) continue;
    for (let index = 0; index <= Math.max(...indexes); index++) {
      if (controllers.some((each) => each.type === bus && each.index === index)) continue;
      controllers.push(
        bus === "scsi" ? { type: bus, index, model: "lsilogic" } : { type: bus, index },
      );
    }
  }
  controllers.push(...trailing);
  addHostdevScsiControllers(devices);
}

/** Units of a SCSI controller a host device may take (libvirt's narrow bus). */
const SCSI_HOSTDEV_UNITS = 7;

/** The unit libvirt keeps for the controller itself, by SCSI controller model. */
const SCSI_RESERVED_UNIT: Readonly<Record<string, number>> = {
  lsilogic: 7,
  vmpvscsi: 7,
  buslogic: 7,
  ibmvscsi: 7,
};

function isScsiHostdev(hostdev: Hostdev): boolean {
  return (hostdev.mode ?? "subsystem") === "subsystem" && hostdev.type === "scsi";
}

/**
 * As libvirt's hostdev post-parse: a SCSI host device without an address takes the first unit
 * of bus 0, target 0 that no SCSI disk or host device uses, on the first controller index with
 * one free (controllers that do not exist yet count as empty).
 */
function assignScsiHostdevAddresses(devices: DomainDevices): void {
  const used = new Set<string>();
  const key = (controller: number, unit: number) => `${controller}:${unit}`;
  const drives = [
    ...devices.disks.filter((disk) => disk.target.bus === "scsi").map((disk) => disk.address),
    ...devices.hostdevs.filter(isScsiHostdev).map((hostdev) => hostdev.address),
  ];
  for (const address of drives) {
    if (address?.type !== "drive" || (address.bus ?? 0) !== 0 || (address.target ?? 0) !== 0) {
      continue;
    }
    used.add(key(address.controller ?? 0, address.unit ?? 0));
  }
  const reserved = (controller: number, unit: number) => {
    const model = devices.controllers.find((each) =>
      each.type === "scsi" && each.index === controller
    )?.model;
    return SCSI_RESERVED_UNIT[model ?? ""] === unit;
  };
  for (const hostdev of devices.hostdevs) {
    if (!isScsiHostdev(hostdev) || hostdev.address !== undefined) continue;
    // Each controller has SCSI_HOSTDEV_UNITS units; the search ends within one more controller
    // than there are SCSI devices.
    for (let controller = 0; controller <= drives.length; controller++) {
      let unit = 0;
      while (
        unit < SCSI_HOSTDEV_UNITS && (used.has(key(controller, unit)) || reserved(controller, unit))
      ) unit++;
      if (unit === SCSI_HOSTDEV_UNITS) continue;
      used.add(key(controller, unit));
      hostdev.address = { type: "drive", controller, bus: 0, target: 0, unit };
      break;
    }
  }
}

/**
 * As libvirt's implicit controllers: SCSI controllers up to the highest index a SCSI host
 * device's address names, of the model of the existing controller the last such device (of a
 * new highest index) sits on.
 */
function addHostdevScsiControllers(devices: DomainDevices): void {
  let highest = -1;
  let model: string | undefined;
  for (const hostdev of devices.hostdevs) {
    const address = hostdev.address;
    if (!isScsiHostdev(hostdev) || address?.type !== "drive") continue;
    const controller = address.controller ?? 0;
    if (controller <= highest) continue;
    highest = controller;
    const existing = devices.controllers.find((each) =>
      each.type === "scsi" && each.index === controller
    );
    if (existing?.model !== undefined) model = existing.model;
  }
  for (let index = 0; index <= highest; index++) {
    if (devices.controllers.some((each) => each.type === "scsi" && each.index === index)) continue;
    devices.controllers.push({ type: "scsi", index, model: model ?? "lsilogic" });
  }
}

function completeVideos(devices: DomainDevices): void {
  if (devices.graphics.length > 0 && devices.videos.length === 0) {
    devices.videos.push({ model: { type: "cirrus", primary: "yes" } });
  }
  for (const video of devices.videos) {
    const model = video.model;
    if (model === undefined || model.type === "none") continue;
    const vram = VIDEO_VRAM_KIB[model.type];
    if (model.type === "qxl") {
      model.ram ??= 65536;
      model.vgamem ??= 16384;
    }
    if (vram !== undefined) model.vram ??= vram;
    model.heads ??= 1;
    // libvirt writes type, ram, vram, vgamem, heads, primary in this order.
    const { type, ram, vram: videoRam, vram64, vgamem, heads, primary, ...rest } = model;
    video.model = JSON.parse(JSON.stringify({
      type,
      ram,
      vram: videoRam,
      vram64,
      vgamem,
      heads,
      primary,
      ...rest,
    }));
  }
}

/** `<audio id='1' type='none'/>` when there is no audio backend, placed where libvirt puts it. */
function addAudio(devices: DomainDevices): void {
  const placed = devices.extra?.elements ?? [];
  if (placed.some((each) => each.element.name === "audio")) return;
  // The typed siblings before <audio> in libvirt's order, nearest first.
  const before: [string, number][] = [
    ["sound", devices.sounds.length],
    ["graphics", devices.graphics.length],
    ["tpm", devices.tpms.length],
    ["input", devices.inputs.length],
  ];
  const [name, count] = before.find(([, each]) => each > 0) ?? ["input", 0];
  const after = count === 0 ? undefined : siblingKey(name, count);
  const audio: XmlPlacedElement = {
    ...(after === undefined ? {} : { after }),
    element: { name: "audio", attributes: { id: "1", type: "none" } },
  };
  devices.extra = { ...devices.extra, elements: [...placed, audio] };
}

function siblingKey(name: string, count: number): string {
  return count === 1 ? name : `${name}[${count}]`;
}

const VIRTIO_SERIAL_PORTS_DEFAULT = 31;

/** The virtio-serial controllers that virtio channel and console addresses name. */
function addVirtioSerialControllers(devices: DomainDevices): void {
  for (const chardev of [...devices.consoles, ...devices.channels]) {
    if (chardev.target?.type !== "virtio") continue;
    const index = chardev.address?.type === "virtio-serial" ? chardev.address.controller ?? 0 : 0;
    const exists = devices.controllers.some((each) =>
      each.type === "virtio-serial" && each.index === index
    );
    if (!exists) devices.controllers.push({ type: "virtio-serial", index });
  }
}

/** Explicit PCI addresses with libvirt's implied parts written out (domain and bus 0). */
function fillPciAddresses(devices: DomainDevices): void {
  const lists: { address?: DeviceAddress }[][] = [
    devices.disks,
    devices.controllers,
    devices.interfaces,
    devices.serials,
    devices.inputs,
    devices.videos,
    devices.sounds,
    devices.hostdevs,
    devices.watchdogs,
    devices.rngs,
    devices.shmems,
    devices.memballoon === undefined ? [] : [devices.memballoon],
  ];
  for (const device of lists.flat()) {
    const address = device.address;
    if (address?.type !== "pci") continue;
    // An address with a domain, bus or slot is present (the rest 0); an empty one is wanted.
    if (address.slot === undefined && !address.bus && !address.domain) continue;
    const { type, domain, bus, slot, function: fn, ...rest } = address;
    device.address = {
      type,
      domain: domain ?? 0,
      bus: bus ?? 0,
      slot: slot ?? 0,
      function: fn ?? 0,
      ...rest,
    };
  }
}

/** virtio-serial ports: virtio consoles from port 0, channels from port 1. */
function assignVirtioSerialPorts(devices: DomainDevices): void {
  const taken = new Map<number, Set<number>>();
  const serials = devices.controllers.filter((each) => each.type === "virtio-serial")
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  for (const controller of serials) taken.set(controller.index ?? 0, new Set());
  const users = [
    ...devices.consoles.filter((each) => each.target?.type === "virtio").map((each) => ({
      device: each,
      from: 0,
    })),
    ...devices.channels.filter((each) => each.target?.type === "virtio").map((each) => ({
      device: each,
      from: 1,
    })),
  ];
  for (const { device } of users) {
    if (device.address?.type === "virtio-serial") {
      const { type, controller, bus, ...rest } = device.address;
      device.address = { type, controller: controller ?? 0, bus: bus ?? 0, ...rest };
    }
    const address = device.address;
    if (address?.type === "virtio-serial" && Number(address.port ?? "0") > 0) {
      taken.get(address.controller ?? 0)?.add(Number(address.port));
    }
  }
  for (const { device, from } of users) {
    const address = device.address;
    // A virtio console's port is reserved but not written (libvirt numbers it with nr= at start).
    const write = from !== 0;
    if (
      address !== undefined && (address.type !== "virtio-serial" || Number(address.port ?? "0") > 0)
    ) {
      continue;
    }
    for (const controller of serials) {
      const index = controller.index ?? 0;
      if (address?.controller !== undefined && address.controller !== index) continue;
      const ports = taken.get(index)!;
      const limit = controller.ports ?? VIRTIO_SERIAL_PORTS_DEFAULT;
      let port = from;
      while (port < limit && ports.has(port)) port++;
      if (port >= limit) continue;
      ports.add(port);
      if (write) {
        device.address = { type: "virtio-serial", controller: index, bus: 0, port: String(port) };
      }
      break;
    }
  }
}
