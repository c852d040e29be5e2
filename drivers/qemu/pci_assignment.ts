/**
 * PCI address assignment at define time, with libvirt 9.0's rules for x86 QEMU guests
 * (`qemuDomainAssignPCIAddresses`), so a guest defined here sees its devices where libvirt
 * would put them and keeps them across restarts: the addresses go into the persistent
 * definition.
 *
 * - Connect flags: virtio devices are PCIe on a `pcie-root` machine (q35) and conventional PCI
 *   on `pci-root` (i440fx), except the `-transitional` models (always conventional); `e1000e`,
 *   `igb`, `qemu-xhci`, `nec-xhci` and `bochs` are PCIe; other PCI devices are conventional.
 * - Fixed places first: i440fx's IDE at 00:01.1, PIIX3 USB at 00:01.2 (00:01.0 and 00:01.3
 *   reserved), the primary video at 00:02.0; q35's SATA at 00:1f.2 (00:1f.0 and 00:1f.3
 *   reserved), the primary video at 00:01.0, an ich9 sound card at 00:1b.0, the first ich9
 *   USB2 set at 00:1d.0 (then 00:1a.0), a dmi-to-pci-bridge at 00:1e.0.
 * - Then, in this order: PCI controllers, filesystems (9p, virtiofs), interfaces, sound cards, other controllers (USB2
 *   companions share their master's slot), virtio disks, host devices, the balloon, RNGs,
 *   watchdogs, videos, shared memory, virtio inputs, PCI serial ports, the vsock device. Each takes the first free
 *   slot of the first bus, in bus order, that accepts it.
 * - A dry pass first adds the buses needed (see pci_address_set.ts); on i440fx it keeps one
 *   spare slot so a bridge always finds a place, and a q35 guest that named no PCI controller
 *   but the root gets one spare root port for hotplug. The added controllers take addresses
 *   too: root ports gather as functions of one `pcie-root` slot (from 00:02.0).
 * - Function 0 of a slot with other functions in use is marked `multifunction='on'`.
 * - Controller defaults: `<model name>`, a bridge's `chassisNr`, a root port's `chassis` (its
 *   index) and `port` (slot × 8 + function), a downstream port's `chassis` and `port` (slot).
 *
 * @module
 */

import type {
  Controller,
  DeviceAddress,
  DomainDefinition,
  Filesystem,
  Hostdev,
  WithExtra,
} from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { CompletionStepOptions } from "./implicit_devices.ts";
import {
  type Address,
  AddressSet,
  AUTOASSIGN,
  busOf,
  controllerConnectFlags,
  isPresent,
  isWanted,
  NO_MORE_SLOTS,
  PCI_DEVICE,
  PCI_MODEL_NAMES,
  PCIE_DEVICE,
  toAddress,
} from "./pci_address_set.ts";
import { vsockDevice } from "./vsock_address.ts";

/** Something that has (or may get) an `<address>`. */
type Addressable = WithExtra & { address?: DeviceAddress };

/** A device that may take a PCI address, with its connect flags. */
interface PciUser {
  device: Addressable;
  flags: number;
}

/** The machine's root bus kind. */
type RootKind = "pci-root" | "pcie-root";

const PCI = PCI_DEVICE | AUTOASSIGN;

/**
 * Returns `definition` with every device that needs a PCI address given one, the PCI
 * controllers that this requires added, and function 0 of shared slots marked multifunction.
 * Pure: `definition` is not changed. A definition without a `pci-root` or `pcie-root`
 * controller at index 0 is returned as it is.
 *
 * @param definition A QEMU definition whose implicit controllers are present already.
 * @returns The definition with addresses.
 * @throws {VirtError} Code 27 for explicit addresses that collide or do not fit their bus;
 *   code 1 when no slot is left.
 *
 * @example
 * ```ts
 * import { assignPciAddresses } from "./pci_assignment.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const devices = emptyDevices();
 * devices.controllers.push({ type: "pci", index: 0, model: "pci-root" });
 * devices.memballoon = { model: "virtio" };
 * const done = assignPciAddresses({
 *   type: "qemu", name: "vm", memoryKiB: 131072, vcpus: 1,
 *   os: { type: "hvm", machine: "pc-i440fx-7.2", boot: [] }, devices,
 * });
 * console.log(done.devices.memballoon?.address?.slot); // 2
 * ```
 */
export function assignPciAddresses(
  definition: DomainDefinition,
  options: CompletionStepOptions = {},
): DomainDefinition {
  const def = options.owned ? definition : structuredClone(definition);
  const root = def.devices.controllers.find((each) => each.type === "pci" && each.index === 0);
  if (root?.model !== "pci-root" && root?.model !== "pcie-root") return def;
  const rootKind: RootKind = root.model;
  const pciControllers = () => def.devices.controllers.filter((each) => each.type === "pci");
  const maxIndex = Math.max(...pciControllers().map((each) => each.index ?? 0));
  const q35 = rootKind === "pcie-root";

  // Dry pass: find how many buses the devices need, without writing addresses.
  const dry = addressSetOf(def, maxIndex + 1, rootKind, true);
  reserveChipsetSlots(def, dry, q35);
  if (!q35 && dry.buses.some((bus) => !dry.fullyReserved(bus))) dry.reserveNext(PCI);
  try {
    placeDevices(def, dry, rootKind);
    if (maxIndex <= 0 && dry.buses.length > maxIndex + 1 && q35) {
      dry.reserveNext(PCIE_DEVICE | AUTOASSIGN);
    }
    const named = new Set(pciControllers().map((each) => each.index ?? 0));
    for (let index = 1; index < dry.buses.length; index++) {
      if (named.has(index)) continue;
      const model = dry.buses[index].model;
      def.devices.controllers.push({ type: "pci", index, model });
      try {
        dry.reserveNext(controllerConnectFlags(model));
      } catch (error) {
        if (!(error instanceof VirtError)) throw error;
        throw noSlotForController(model);
      }
    }
  } catch (error) {
    // More buses than a guest can have: libvirt names the controller it could not add.
    if (!(error instanceof VirtError) || error.message !== NO_MORE_SLOTS) throw error;
    throw noSlotForController(q35 ? "pcie-root-port" : "pci-bridge");
  }

  // Real pass: the same placement over every bus, writing the addresses.
  const real = addressSetOf(def, dry.buses.length, rootKind, false);
  reserveChipsetSlots(def, real, q35);
  placeDevices(def, real, rootKind);
  markMultifunction(def);
  for (const controller of pciControllers()) setControllerDefaults(controller);
  return def;
}

/** libvirt's refusal when a PCI controller the devices need finds no slot of its own. */
function noSlotForController(model: string): VirtError {
  return new VirtError(
    ErrorCode.INTERNAL_ERROR,
    `a PCI slot is needed to connect a PCI controller model='${model}', but none is available, and it cannot be automatically added`,
  );
}

/** The address set of a pass: buses from the PCI controllers, explicit addresses reserved. */
function addressSetOf(
  def: DomainDefinition,
  busCount: number,
  rootKind: RootKind,
  dryRun: boolean,
): AddressSet {
  const set = new AddressSet(dryRun);
  const controllers = def.devices.controllers.filter((each) => each.type === "pci");
  const fallback = rootKind === "pcie-root" ? "pcie-root-port" : "pci-bridge";
  for (let index = 0; index < busCount; index++) {
    const controller = controllers.find((each) => (each.index ?? 0) === index);
    const model = controller?.model ?? (index === 0 ? rootKind : fallback);
    set.buses.push(busOf(model, controller?.target?.hotplug !== "off"));
  }
  for (const { device, flags } of explicitUsers(def, rootKind)) {
    set.reserve(toAddress(device.address!), flags === 0 ? PCI_DEVICE : flags, true);
  }
  return set;
}

/** Devices with an explicit PCI address, except the PIIX3 functions reserved separately. */
function explicitUsers(def: DomainDefinition, rootKind: RootKind): PciUser[] {
  return allUsers(def, rootKind).filter(({ device }) => {
    if (!isPresent(device.address)) return false;
    const controller = device as Controller;
    const address = device.address!;
    const onPiix3 = (address.bus ?? 0) === 0 && address.slot === 1;
    const ide = controller.type === "ide" && controller.index === 0 && address.function === 1;
    const usb = controller.type === "usb" && controller.index === 0 &&
      (controller.model === undefined || controller.model === "piix3-uhci") &&
      address.function === 2;
    return !(onPiix3 && (ide || usb));
  });
}

/** The chipset's fixed functions and the places libvirt prefers for some devices. */
function reserveChipsetSlots(def: DomainDefinition, set: AddressSet, q35: boolean): void {
  const fixed = (bus: number, slot: number, fn: number) => ({ bus, slot, fn });
  const flags = q35 ? PCIE_DEVICE : PCI;
  const place = (device: Addressable, address: Address, multifunction = false) => {
    set.reserve(address, flags, true);
    device.address = pciAddress(address, multifunction);
  };
  for (const controller of def.devices.controllers) {
    if (!q35 && controller.index === 0) {
      const usb = controller.type === "usb" &&
        (controller.model === undefined || controller.model === "piix3-uhci");
      if (controller.type !== "ide" && !usb) continue;
      const expected = fixed(0, 1, controller.type === "ide" ? 1 : 2);
      if (isPresent(controller.address)) {
        const given = toAddress(controller.address!);
        if (given.bus !== 0 || given.slot !== 1 || given.fn !== expected.fn) {
          throw new VirtError(
            ErrorCode.INTERNAL_ERROR,
            controller.type === "ide"
              ? "Primary IDE controller must have PCI address 0:0:1.1"
              : "PIIX3 USB controller at index 0 must have PCI address 0:0:1.2",
          );
        }
        set.reserve(expected, flags, true);
      } else place(controller, expected);
    } else if (q35) reserveQ35Controller(controller, set, place);
  }
  if (q35) {
    set.reserve(fixed(0, 0x1f, 0), flags, true);
    set.reserve(fixed(0, 0x1f, 3), flags, true);
  } else {
    set.reserve(fixed(0, 1, 0), flags, true);
    set.reserve(fixed(0, 1, 3), flags, true);
  }
  const primary = def.devices.videos[0];
  const primaryType = primary?.model?.type;
  if (primary !== undefined && primaryType !== "none" && primaryType !== "ramfb") {
    if (isWanted(primary.address)) {
      const wanted = fixed(0, q35 ? 1 : 2, 0);
      set.validate(wanted, flags, true);
      if (set.slotInUse(wanted)) {
        const next = set.reserveNext(videoFlags(primaryType, q35));
        if (!set.dryRun) primary.address = pciAddress(next);
      } else place(primary, wanted);
    }
  }
  if (q35 && !set.slotInUse(fixed(0, 0x1b, 0))) {
    const sound = def.devices.sounds.find((each) =>
      each.model === "ich9" && isWanted(each.address)
    );
    if (sound !== undefined) place(sound, fixed(0, 0x1b, 0));
  }
}

function reserveQ35Controller(
  controller: Controller,
  set: AddressSet,
  place: (device: Addressable, address: Address, multifunction?: boolean) => void,
): void {
  if (controller.type === "sata" && controller.index === 0) {
    const expected = { bus: 0, slot: 0x1f, fn: 2 };
    if (isPresent(controller.address)) {
      const given = toAddress(controller.address!);
      if (given.bus !== 0 || given.slot !== 0x1f || given.fn !== 2) {
        throw new VirtError(
          ErrorCode.INTERNAL_ERROR,
          "Primary SATA controller must have PCI address 0:0:1f.2",
        );
      }
    } else controller.address = pciAddress(expected);
    return;
  }
  if (controller.address !== undefined) return;
  if (controller.type === "usb" && controller.model === "ich9-uhci1") {
    const slot = [0x1d, 0x1a].find((each) => !set.slotInUse({ bus: 0, slot: each, fn: 0 }));
    if (slot !== undefined) place(controller, { bus: 0, slot, fn: 0 }, true);
  } else if (controller.type === "pci" && controller.model === "dmi-to-pci-bridge") {
    if (!set.slotInUse({ bus: 0, slot: 0x1e, fn: 0 })) {
      place(controller, { bus: 0, slot: 0x1e, fn: 0 });
    }
  }
}

/** Places every device that wants a PCI address, in libvirt's order. */
function placeDevices(def: DomainDefinition, set: AddressSet, rootKind: RootKind): void {
  const devices = def.devices;
  const controllers = devices.controllers;
  const assign = (device: Addressable, flags: number, fn = -1) => {
    if (flags === 0 || !isWanted(device.address)) return;
    const address = set.reserveNext(flags, fn);
    if (!set.dryRun) device.address = pciAddress(address);
  };
  const flagsOf = deviceFlags(rootKind);
  for (const controller of controllers) {
    if (controller.type !== "pci") continue;
    if (controller.model === "pci-root" || controller.model === "pcie-root") continue;
    assign(controller, controllerConnectFlags(controller.model ?? ""));
  }
  for (const filesystem of devices.filesystems ?? []) {
    assign(filesystem, flagsOf.filesystem(filesystem));
  }
  for (const nic of devices.interfaces) {
    if (nic.type !== "hostdev") assign(nic, flagsOf.interface(nic.model));
  }
  for (const sound of devices.sounds) assign(sound, flagsOf.sound(sound.model));
  for (const controller of controllers) {
    if (controller.type === "pci" || !isWanted(controller.address)) continue;
    if (controller.type === "ide" && controller.index === 0) continue;
    const flags = flagsOf.controller(controller);
    if (flags === 0) continue;
    if (USB2_FUNCTIONS[controller.model ?? ""] !== undefined) {
      assignUsb2(controller, controllers, set, flags);
    } else assign(controller, flags);
  }
  for (const disk of devices.disks) {
    if (disk.target.bus !== "virtio" || isPresent(disk.address)) continue;
    if (!isWanted(disk.address)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `virtio disk cannot have an address of type '${disk.address!.type}'`,
      );
    }
    assign(disk, flagsOf.virtio(disk.model));
  }
  // As libvirt's hostdev list: an `<interface type='hostdev'>` is a host PCI device entered
  // when the interface is parsed, so before every `<hostdev>`.
  for (const nic of devices.interfaces) {
    if (nic.type === "hostdev") assign(nic, flagsOf.pcie);
  }
  for (const hostdev of devices.hostdevs) {
    if (takesPciAddress(hostdev)) assign(hostdev, flagsOf.hostdev(hostdev));
  }
  const balloon = devices.memballoon;
  if (balloon !== undefined) assign(balloon, flagsOf.balloon(balloon.model));
  for (const rng of devices.rngs) assign(rng, flagsOf.virtio(rng.model));
  for (const watchdog of devices.watchdogs) {
    if (watchdog.model === "i6300esb") assign(watchdog, PCI);
  }
  for (const video of devices.videos) {
    assign(video, videoFlags(video.model?.type, rootKind === "pcie-root"));
  }
  for (const shmem of devices.shmems) assign(shmem, PCI);
  for (const input of devices.inputs) {
    if (input.bus === "virtio") assign(input, flagsOf.virtio(input.model));
  }
  for (const serial of devices.serials) {
    if (serial.target?.type === "pci-serial") assign(serial, PCI);
  }
  const vsock = vsockDevice(devices);
  if (vsock !== undefined) assign(vsock, flagsOf.virtio(vsock.model));
}

/**
 * Whether a host device takes a guest PCI address: a subsystem PCI device, a vhost-scsi host,
 * or a mediated device of the `vfio-pci` model (`vfio-ccw` and `vfio-ap` sit on other buses).
 */
function takesPciAddress(hostdev: Hostdev): boolean {
  if ((hostdev.mode ?? "subsystem") !== "subsystem") return false;
  if (hostdev.type === "mdev") return hostdev.model === undefined || hostdev.model === "vfio-pci";
  return hostdev.type === "pci" || hostdev.type === "scsi_host";
}

/** The function each USB2 controller model takes in its set's slot, and its multifunction. */
const USB2_FUNCTIONS: Record<string, [number, boolean]> = {
  "ich9-ehci1": [7, false],
  "ich9-uhci1": [0, true],
  "ich9-uhci2": [1, false],
  "ich9-uhci3": [2, false],
};

/** A USB2 controller joins the slot of its index's set, or opens a slot for the set. */
function assignUsb2(
  controller: Controller,
  controllers: Controller[],
  set: AddressSet,
  flags: number,
): void {
  const [fn, multifunction] = USB2_FUNCTIONS[controller.model ?? ""];
  const member = controllers.find((each) =>
    USB2_FUNCTIONS[each.model ?? ""] !== undefined && each.index === controller.index &&
    isPresent(each.address)
  );
  if (member !== undefined) {
    const address = { ...toAddress(member.address!), fn };
    set.reserve(address, flags, true);
    controller.address = pciAddress(address, multifunction);
    return;
  }
  const address = set.reserveNext(flags, fn);
  if (!set.dryRun) controller.address = pciAddress(address, multifunction);
}

/** Connect flags of each device kind on a machine with `rootKind`. */
function deviceFlags(rootKind: RootKind) {
  const pcie = rootKind === "pcie-root" ? PCIE_DEVICE | AUTOASSIGN : PCI;
  const virtio = (model: string | undefined) => model === "virtio-transitional" ? PCI : pcie;
  return {
    pcie,
    virtio,
    interface(model: string | undefined): number {
      if (model === "usb-net") return 0;
      if (model === "virtio" || model === "virtio-non-transitional") return pcie;
      if (model === "virtio-transitional") return PCI;
      if (model === "e1000e" || model === "igb" || model === undefined) return pcie;
      return PCI;
    },
    /** A vhost-scsi host is a virtio device; other host devices are PCIe where the root is. */
    hostdev(hostdev: Hostdev): number {
      return hostdev.type === "scsi_host" ? virtio(hostdev.model) : pcie;
    },
    /** 9p shares are virtio devices, virtiofs ones PCIe; loop, nbd and ploop take no slot. */
    filesystem(filesystem: Filesystem): number {
      const driver = filesystem.driver?.type;
      if (driver === "loop" || driver === "nbd" || driver === "ploop") return 0;
      return driver === "virtiofs" ? pcie : virtio(filesystem.model);
    },
    sound(model: string): number {
      return ["es1370", "ac97", "ich6", "ich9"].includes(model) ? PCI : 0;
    },
    balloon(model: string): number {
      if (model === "virtio-transitional") return PCI;
      return model === "virtio" || model === "virtio-non-transitional" ? pcie : 0;
    },
    controller(controller: Controller): number {
      const model = controller.model;
      switch (controller.type) {
        case "sata":
        case "ide":
          return PCI;
        case "usb":
          if (model === "none" || model === "qusb1" || model === "qusb2") return 0;
          return model === "qemu-xhci" || model === "nec-xhci" ? pcie : PCI;
        case "scsi":
          if (model === undefined || model === "ncr53c90") return 0;
          if (model === "virtio-scsi" || model === "virtio-non-transitional") return pcie;
          return PCI;
        case "virtio-serial":
          return virtio(model);
        default:
          return 0;
      }
    },
  };
}

function videoFlags(type: string | undefined, q35: boolean): number {
  if (type === "virtio") return q35 ? PCIE_DEVICE | AUTOASSIGN : PCI;
  if (type === "bochs") return q35 ? PCIE_DEVICE | AUTOASSIGN : PCI;
  if (["vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels"].includes(type ?? "")) {
    return PCI;
  }
  return 0;
}

/** Every device that connects over PCI, with its flags (for reserving explicit addresses). */
function allUsers(def: DomainDefinition, rootKind: RootKind): PciUser[] {
  const devices = def.devices;
  const flags = deviceFlags(rootKind);
  const q35 = rootKind === "pcie-root";
  const users: PciUser[] = [];
  const add = (device: Addressable, each: number) => users.push({ device, flags: each });
  devices.disks.forEach((disk) =>
    add(disk, disk.target.bus === "virtio" ? flags.virtio(disk.model) : 0)
  );
  devices.interfaces.forEach((nic) => add(nic, flags.interface(nic.model)));
  devices.sounds.forEach((sound) => add(sound, flags.sound(sound.model)));
  devices.hostdevs.forEach((hostdev) => add(hostdev, flags.hostdev(hostdev)));
  (devices.filesystems ?? []).forEach((filesystem) =>
    add(filesystem, flags.filesystem(filesystem))
  );
  devices.videos.forEach((video) => add(video, videoFlags(video.model?.type, q35)));
  devices.controllers.forEach((controller) =>
    add(
      controller,
      controller.type === "pci"
        ? controllerConnectFlags(controller.model ?? "")
        : flags.controller(controller),
    )
  );
  devices.serials.forEach((serial) => add(serial, serial.target?.type === "pci-serial" ? PCI : 0));
  devices.inputs.forEach((input) =>
    add(input, input.bus === "virtio" ? flags.virtio(input.model) : 0)
  );
  devices.watchdogs.forEach((watchdog) => add(watchdog, PCI));
  if (devices.memballoon !== undefined) {
    add(devices.memballoon, flags.balloon(devices.memballoon.model));
  }
  devices.rngs.forEach((rng) => add(rng, flags.virtio(rng.model)));
  devices.shmems.forEach((shmem) => add(shmem, PCI));
  const vsock = vsockDevice(devices);
  if (vsock !== undefined) add(vsock, flags.virtio(vsock.model));
  return users;
}

/** Marks function 0 of every slot with another function in use multifunction (unless off). */
function markMultifunction(def: DomainDefinition): void {
  const users = allUsers(def, "pci-root").map(({ device }) => device.address)
    .filter((address): address is DeviceAddress => address?.type === "pci");
  for (const address of users) {
    if ((address.function ?? 0) === 0) continue;
    const first = users.find((each) =>
      (each.domain ?? 0) === (address.domain ?? 0) && (each.bus ?? 0) === (address.bus ?? 0) &&
      each.slot === address.slot && (each.function ?? 0) === 0
    );
    if (first !== undefined && first.multifunction === undefined) first.multifunction = "on";
  }
}

/** The `<model name>` and `<target>` values libvirt fills in for a PCI controller. */
function setControllerDefaults(controller: Controller): void {
  const model = controller.model ?? "";
  const modelName = PCI_MODEL_NAMES[model];
  if (controller.modelName === undefined && modelName !== undefined) {
    controller.modelName = modelName;
  }
  const address = controller.address;
  const target = { ...(controller.target ?? {}) };
  if (model === "pci-bridge") target.chassisNr ??= String(controller.index ?? 0);
  if (model === "pcie-root-port" && address !== undefined) {
    target.chassis ??= String(controller.index ?? 0);
    target.port ??= `0x${(((address.slot ?? 0) << 3) + (address.function ?? 0)).toString(16)}`;
  }
  if (model === "pcie-switch-downstream-port" && address !== undefined) {
    target.chassis ??= String(controller.index ?? 0);
    target.port ??= `0x${(address.slot ?? 0).toString(16)}`;
  }
  if (Object.keys(target).length > 0) controller.target = target;
}

/** A `<address type='pci'>` of an address, as libvirt writes it. */
function pciAddress(address: Address, multifunction = false): DeviceAddress {
  return {
    type: "pci",
    domain: 0,
    bus: address.bus,
    slot: address.slot,
    function: address.fn,
    ...(multifunction ? { multifunction: "on" } : {}),
  };
}
