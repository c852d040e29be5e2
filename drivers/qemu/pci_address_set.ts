/**
 * The PCI address set of one assignment pass (libvirt 9.0's `virDomainPCIAddressSet` facts):
 * buses with the kinds of devices each accepts and its slot range, the functions taken in each
 * slot, finding the next free address for a device's connect flags, and (in the dry pass)
 * adding the buses a device needs: `pci-bridge`s behind `pci-root`, `pcie-root-port`s behind
 * `pcie-root`, and a root port with a `pcie-to-pci-bridge` for the first conventional PCI
 * device of a pure PCIe guest. See pci_assignment.ts for the order devices are placed in.
 *
 * @module
 */

import type { DeviceAddress } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** Highest slot of a PCI bus. */
const SLOT_LAST = 31;
/** Highest function of a PCI slot. */
const FUNCTION_LAST = 7;
/** Most PCI buses a guest can have (bus numbers are 8 bits). */
const BUSES_MAX = 256;

/** libvirt's message when no bus has a free slot for a device. */
export const NO_MORE_SLOTS = "No more available PCI slots";

/** Connect flags, as libvirt's `VIR_PCI_CONNECT_*`: what a device plugs into, what a bus takes. */
export const HOTPLUGGABLE = 1 << 0;
export const AUTOASSIGN = 1 << 1;
export const AGGREGATE_SLOT = 1 << 2;
export const PCI_DEVICE = 1 << 3;
export const PCIE_DEVICE = 1 << 4;
export const ROOT_PORT = 1 << 5;
export const UPSTREAM_PORT = 1 << 6;
export const DOWNSTREAM_PORT = 1 << 7;
export const DMI_TO_PCI_BRIDGE = 1 << 8;
export const PCI_EXPANDER_BUS = 1 << 9;
export const PCIE_EXPANDER_BUS = 1 << 10;
export const PCI_BRIDGE = 1 << 11;
export const PCIE_TO_PCI_BRIDGE = 1 << 12;
const TYPES_MASK = PCI_DEVICE | PCIE_DEVICE | ROOT_PORT | UPSTREAM_PORT | DOWNSTREAM_PORT |
  DMI_TO_PCI_BRIDGE | PCI_EXPANDER_BUS | PCIE_EXPANDER_BUS | PCI_BRIDGE | PCIE_TO_PCI_BRIDGE;
const TYPES_ENDPOINT = PCI_DEVICE | PCIE_DEVICE;

/** The QEMU device name (`<model name>`) of each PCI controller model. */
export const PCI_MODEL_NAMES: Record<string, string> = {
  "pci-bridge": "pci-bridge",
  "dmi-to-pci-bridge": "i82801b11-bridge",
  "pcie-to-pci-bridge": "pcie-pci-bridge",
  "pcie-root-port": "pcie-root-port",
  "pcie-switch-upstream-port": "x3130-upstream",
  "pcie-switch-downstream-port": "xio3130-downstream",
  "pci-expander-bus": "pxb",
  "pcie-expander-bus": "pxb-pcie",
};

/** One slot of a bus: the functions taken, and whether root ports gather there. */
interface Slot {
  functions: number;
  aggregate: boolean;
}

/** One bus: its controller model, what it accepts, its slot range and slots. */
export interface Bus {
  model: string;
  flags: number;
  minSlot: number;
  maxSlot: number;
  slots: Slot[];
}

/** A PCI address on domain 0. */
export interface Address {
  bus: number;
  slot: number;
  fn: number;
}

/** A bus of controller `model`, empty. */
export function busOf(model: string, hotplug: boolean): Bus {
  const hot = hotplug ? HOTPLUGGABLE : 0;
  const shapes: Record<string, [number, number, number]> = {
    "pci-root": [AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | PCI_EXPANDER_BUS | hot, 1, SLOT_LAST],
    "pci-bridge": [AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hot, 1, SLOT_LAST],
    "pci-expander-bus": [AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hot, 0, SLOT_LAST],
    "pcie-root": [PCIE_DEVICE | ROOT_PORT | DMI_TO_PCI_BRIDGE | PCIE_EXPANDER_BUS, 1, SLOT_LAST],
    "dmi-to-pci-bridge": [PCI_DEVICE | PCI_BRIDGE, 0, SLOT_LAST],
    "pcie-to-pci-bridge": [AUTOASSIGN | PCI_DEVICE | PCI_BRIDGE | hot, 1, SLOT_LAST],
    "pcie-root-port": [AUTOASSIGN | PCIE_DEVICE | UPSTREAM_PORT | PCIE_TO_PCI_BRIDGE | hot, 0, 0],
    "pcie-switch-downstream-port": [
      AUTOASSIGN | PCIE_DEVICE | UPSTREAM_PORT | PCIE_TO_PCI_BRIDGE | hot,
      0,
      0,
    ],
    "pcie-switch-upstream-port": [DOWNSTREAM_PORT, 0, SLOT_LAST],
    "pcie-expander-bus": [ROOT_PORT | DMI_TO_PCI_BRIDGE, 0, SLOT_LAST],
  };
  const shape = shapes[model];
  if (shape === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "PCI controller model was not set correctly");
  }
  const slots = Array.from({ length: SLOT_LAST + 1 }, () => ({ functions: 0, aggregate: false }));
  return { model, flags: shape[0], minSlot: shape[1], maxSlot: shape[2], slots };
}

/** The connect flags of a PCI controller of `model` (what it plugs into). */
export function controllerConnectFlags(model: string): number {
  const flags: Record<string, number> = {
    "pci-bridge": PCI_BRIDGE,
    "pci-expander-bus": PCI_EXPANDER_BUS,
    "pcie-expander-bus": PCIE_EXPANDER_BUS,
    "dmi-to-pci-bridge": DMI_TO_PCI_BRIDGE,
    "pcie-to-pci-bridge": PCIE_TO_PCI_BRIDGE,
    "pcie-root-port": ROOT_PORT | AGGREGATE_SLOT,
    "pcie-switch-upstream-port": UPSTREAM_PORT,
    "pcie-switch-downstream-port": DOWNSTREAM_PORT,
  };
  return flags[model] ?? 0;
}

/** `0000:BB:SS.F`, libvirt's form in messages. */
export function addressString(address: Address): string {
  const hex2 = (value: number) => value.toString(16).padStart(2, "0");
  return `0000:${hex2(address.bus)}:${hex2(address.slot)}.${address.fn}`;
}

/** Whether a device has a PCI address already (not all zero). */
export function isPresent(address: DeviceAddress | undefined): boolean {
  return address?.type === "pci" &&
    ((address.domain ?? 0) !== 0 || (address.bus ?? 0) !== 0 || (address.slot ?? 0) !== 0);
}

/** Whether a device wants a PCI address assigned (none yet, or an empty PCI one). */
export function isWanted(address: DeviceAddress | undefined): boolean {
  return address === undefined || (address.type === "pci" && !isPresent(address));
}

/** The parts of a PCI `<address>`. */
export function toAddress(address: DeviceAddress): Address {
  return { bus: address.bus ?? 0, slot: address.slot ?? 0, fn: address.function ?? 0 };
}

/**
 * The address set of one pass.
 *
 * @example
 * ```ts
 * import { AddressSet, busOf, PCI_DEVICE, AUTOASSIGN } from "./pci_address_set.ts";
 * const set = new AddressSet(false);
 * set.buses.push(busOf("pci-root", true));
 * console.log(set.reserveNext(PCI_DEVICE | AUTOASSIGN)); // { bus: 0, slot: 1, fn: 0 }
 * ```
 */
export class AddressSet {
  readonly buses: Bus[] = [];
  readonly dryRun: boolean;
  /** Per kind of device (connect flags and function), the first bus that may have a place. */
  readonly #firstOpen = new Map<string, number>();

  constructor(dryRun: boolean) {
    this.dryRun = dryRun;
  }

  slotInUse(address: Address): boolean {
    return this.buses[address.bus].slots[address.slot].functions !== 0;
  }

  fullyReserved(bus: Bus): boolean {
    for (let slot = bus.minSlot; slot <= bus.maxSlot; slot++) {
      if (bus.slots[slot].functions === 0) return false;
    }
    return true;
  }

  /** Adds buses so that `address.bus` exists (dry run only); may bump `address.bus`. */
  grow(address: Address, flags: number): void {
    let add = address.bus - this.buses.length + 1;
    if (add <= 0) return;
    let model: string;
    let needBridgePort = false;
    if (flags & PCI_DEVICE) {
      model = "pci-bridge";
      needBridgePort = !this.buses.some((bus) => (bus.flags & PCI_BRIDGE) !== 0);
      if (needBridgePort && add === 1) {
        // A pure PCIe guest: a root port and a pcie-to-pci-bridge give the device a PCI slot.
        add++;
        address.bus++;
      }
    } else if (flags & (PCIE_DEVICE | UPSTREAM_PORT)) {
      model = "pcie-root-port";
    } else {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        "a PCI slot is needed to connect a PCI controller, but none is available, and it cannot be automatically added",
      );
    }
    if (this.buses.length + add > BUSES_MAX) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, NO_MORE_SLOTS);
    }
    let remaining = add;
    if (needBridgePort) {
      const port = busOf("pcie-root-port", true);
      // Only the bridge may take this port: the spare hotplug port is another one.
      port.flags = PCIE_TO_PCI_BRIDGE;
      this.buses.push(port, busOf("pcie-to-pci-bridge", true));
      remaining -= 2;
    }
    for (; remaining > 0; remaining--) this.buses.push(busOf(model, true));
  }

  validate(address: Address, flags: number, fromConfig: boolean): void {
    const code = fromConfig ? ErrorCode.XML_ERROR : ErrorCode.INTERNAL_ERROR;
    const text = addressString(address);
    if (address.bus >= this.buses.length) {
      throw new VirtError(
        code,
        `Invalid PCI address ${text}. Only PCI buses up to ${this.buses.length - 1} are available`,
      );
    }
    const bus = this.buses[address.bus];
    if (!compatible(bus.flags, flags, fromConfig)) {
      throw new VirtError(
        code,
        `The device at PCI address ${text} cannot be plugged into the PCI controller with index='${address.bus}'. It requires a controller that accepts a ${
          connectName(flags)
        }.`,
      );
    }
    if (address.slot < bus.minSlot) {
      throw new VirtError(code, `Invalid PCI address ${text}. slot must be >= ${bus.minSlot}`);
    }
    if (address.slot > bus.maxSlot) {
      throw new VirtError(code, `Invalid PCI address ${text}. slot must be <= ${bus.maxSlot}`);
    }
    if (address.fn > FUNCTION_LAST) {
      throw new VirtError(
        code,
        `Invalid PCI address ${text}. function must be <= ${FUNCTION_LAST}`,
      );
    }
  }

  reserve(address: Address, flags: number, fromConfig: boolean): void {
    if (this.dryRun) this.grow(address, flags);
    this.validate(address, flags, fromConfig);
    const slot = this.buses[address.bus].slots[address.slot];
    if (slot.functions & (1 << address.fn)) {
      throw new VirtError(
        fromConfig ? ErrorCode.XML_ERROR : ErrorCode.INTERNAL_ERROR,
        `Attempted double use of PCI Address ${addressString(address)}`,
      );
    }
    if (slot.functions === 0 && (flags & AGGREGATE_SLOT)) slot.aggregate = true;
    slot.functions |= 1 << address.fn;
  }

  /** Finds and reserves the next free address for `flags` (libvirt's ReserveNextAddr). */
  reserveNext(flags: number, fn = -1): Address {
    const address = this.#next(flags, fn);
    this.reserve(address, flags, false);
    return address;
  }

  #next(flags: number, fn: number): Address {
    // A bus with no free place for a kind of device never gets one back (reservations only add,
    // buses are only appended), so each kind's search resumes where its last one ended: the
    // same first fit as a search from bus 0, in linear rather than quadratic time overall.
    const kind = `${flags}/${fn}`;
    for (let bus = this.#firstOpen.get(kind) ?? 0; bus < this.buses.length; bus++) {
      const found = this.#freeOnBus(bus, flags, fn);
      if (found !== undefined) {
        this.#firstOpen.set(kind, bus);
        return found;
      }
    }
    this.#firstOpen.set(kind, this.buses.length);
    if (this.dryRun) {
      const address = { bus: this.buses.length, slot: 0, fn: fn === -1 ? 0 : fn };
      this.grow(address, flags);
      address.slot = this.buses[address.bus].minSlot;
      return address;
    }
    throw new VirtError(ErrorCode.INTERNAL_ERROR, NO_MORE_SLOTS);
  }

  #freeOnBus(busIndex: number, flags: number, fn: number): Address | undefined {
    const bus = this.buses[busIndex];
    if (!compatible(bus.flags, flags, false)) return undefined;
    for (let slot = bus.minSlot; slot <= bus.maxSlot; slot++) {
      const state = bus.slots[slot];
      const first = fn === -1 ? 0 : fn;
      if (state.functions === 0) return { bus: busIndex, slot, fn: first };
      if ((flags & AGGREGATE_SLOT) && state.aggregate) {
        if ((state.functions & (1 << first)) === 0) return { bus: busIndex, slot, fn: first };
        if (fn === -1) {
          for (let each = 0; each <= FUNCTION_LAST; each++) {
            if ((state.functions & (1 << each)) === 0) return { bus: busIndex, slot, fn: each };
          }
        }
      }
    }
    return undefined;
  }
}

function compatible(busFlags: number, deviceFlags: number, fromConfig: boolean): boolean {
  let bus = busFlags;
  let device = deviceFlags;
  if (fromConfig) {
    // A placement the user chose may put a PCI device in a PCIe slot and the reverse.
    if (bus & TYPES_ENDPOINT) bus |= TYPES_ENDPOINT;
    if (device & PCI_BRIDGE) device |= PCI_DEVICE;
  } else if ((device & AUTOASSIGN) && !(bus & AUTOASSIGN)) {
    return false;
  }
  if ((device & HOTPLUGGABLE) && !(bus & HOTPLUGGABLE)) return false;
  return (device & bus & TYPES_MASK) !== 0;
}

function connectName(flags: number): string {
  const names: [number, string][] = [
    [PCI_DEVICE, "standard PCI device"],
    [PCIE_DEVICE, "PCI Express device"],
    [ROOT_PORT, "pcie-root-port"],
    [UPSTREAM_PORT, "pcie-switch-upstream-port"],
    [DOWNSTREAM_PORT, "pcie-switch-downstream-port"],
    [DMI_TO_PCI_BRIDGE, "dmi-to-pci-bridge"],
    [PCIE_TO_PCI_BRIDGE, "pcie-to-pci-bridge"],
    [PCI_EXPANDER_BUS, "pci-expander-bus"],
    [PCIE_EXPANDER_BUS, "pcie-expander-bus"],
    [PCI_BRIDGE, "pci-bridge"],
  ];
  return names.find(([flag]) => (flags & flag) !== 0)?.[1] ?? "PCI device";
}
