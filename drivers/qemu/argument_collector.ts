/**
 * What the command-line builders collect while they walk a definition: QEMU arguments, host paths
 * to check before QEMU starts, block nodes (to name disks in I/O error events), pty chardevs (to
 * find consoles), and PCI slots. One collector serves one command line; it is plain data plus
 * small bookkeeping, so building stays pure.
 *
 * @module
 */

import type { DeviceAddress } from "../../src/model/domain.ts";
import type { Bandwidth } from "../../src/model/network.ts";
import type { ChardevListName } from "../../src/model/live_facts.ts";
import type { Accelerator } from "./accelerator.ts";
import { refuseConfig } from "./config_refusal.ts";

/** The x86 machine families the driver builds for. */
export type MachineFamily = "i440fx" | "q35";

/** What kind of host object a path must be. */
export type HostPathKind =
  /** A regular file that must exist and be readable. */
  | "file"
  /** A block device that must exist. */
  | "block"
  /** A character device that must exist. */
  | "char"
  /** A listening Unix socket that must exist. */
  | "socket"
  /** A path QEMU creates: its folder must exist. */
  | "creatable"
  /** A directory that must exist (a shared folder). */
  | "directory";

/** A host path the driver checks before starting QEMU. */
export interface HostPathRequirement {
  /** The path. */
  path: string;
  /** What it must be. */
  kind: HostPathKind;
  /** Where the definition names it, e.g. `/domain/devices/disk[1]/source/@file`. */
  where: string;
}

/** A disk's format node, for naming it in BLOCK_IO_ERROR events. */
export interface BlockNode {
  /** The format node's name (`node-name` of BLOCK_IO_ERROR). */
  nodeName: string;
  /** The device id, libvirt's alias (e.g. `virtio-disk0`). */
  alias: string;
  /** The guest device name, e.g. `vda`. */
  targetDev: string;
  /** The host source path, "" for an empty drive. */
  sourcePath: string;
}

/** A chardev with a pty backend, whose path QEMU picks at start. */
export interface PtyChardev {
  /** The chardev id, e.g. `charserial0`. */
  chardevId: string;
  /** The device alias it serves, e.g. `serial0`, `console1`, `channel0`. */
  alias: string;
  /** Whether it is (or doubles as) the domain's console (the first serial or console). */
  console: boolean;
  /** The device in the definition: its list and position. */
  place: ChardevPlace;
}

/** Where a character device is in the definition. */
export interface ChardevPlace {
  /** The list of `<devices>` it is in. */
  list: ChardevListName;
  /** Its position there. */
  index: number;
}

/** A socket path the driver chose for a character device without one (libvirt does the same). */
export interface ChardevSocket {
  /** The device. */
  place: ChardevPlace;
  /** The socket's path. */
  path: string;
}

/**
 * An interface's network backend as `-netdev` gets it, kept whole so a hotplug can give QEMU
 * the same backend through `netdev_add`.
 */
export interface NetdevBackend {
  /** The NIC's device id (its alias, e.g. `net0`). */
  deviceId: string;
  /** The backend id (`host` + the device id, e.g. `hostnet0`). */
  id: string;
  /** The backend type: `user`, `tap`, `socket`. */
  type: string;
  /** The backend's options after `id`, in command-line order; undefined ones are not given. */
  options: Record<string, string | number | boolean | undefined>;
  /** Whether the NIC's link starts down (`<link state='down'/>`: QMP `set_link` once it runs). */
  linkDown: boolean;
  /** The tap the service puts on a bridge for it (`network` and `bridge` interfaces). */
  bridgePort?: BridgePortPlan;
}

/**
 * The tap of a `network` or `bridge` interface, as far as the definition says: a started
 * instance's has every field but `mtu` (the bridge's MTU unless the interface sets one).
 */
export interface BridgePortPlan {
  tap?: string;
  bridge?: string;
  mac?: string;
  mtu?: number;
  /** `<bandwidth>` (the network port's, for a `network` interface), shaped on the tap. */
  bandwidth?: Bandwidth;
}

/** A PCI address in QEMU's terms. */
export interface PciPlacement {
  /** The bus id, e.g. `pci.0`, `pcie.0`, `pci.3`. */
  bus: string;
  /** The `addr` value, e.g. `0x3` or `0x1.0x2`. */
  addr: string;
  /** `multifunction=on` when asked. */
  multifunction?: boolean;
}

/** Highest slot on a PCI bus. */
export const PCI_SLOT_MAX = 31;

/** The collector of one command line. *
 * @example
 * ```ts
 * import { ArgumentCollector } from "./argument_collector.ts";
 * const collector = new ArgumentCollector("i440fx", "tcg");
 * collector.device("VGA,id=video0");
 * console.log(collector.args, collector.pciPlacement(undefined, "/domain/devices/video[1]"));
 * // ["-device", "VGA,id=video0"] { bus: "pci.0", addr: "0x2" }
 * ```
 */
export class ArgumentCollector {
  /** The QEMU arguments, in order. */
  readonly args: string[] = [];
  /** Environment variables QEMU needs (e.g. `TZ`). */
  readonly env: Record<string, string> = {};
  /** Host paths to check before start. */
  readonly hostPaths: HostPathRequirement[] = [];
  /** The disks' format nodes. */
  readonly blockNodes: BlockNode[] = [];
  /** The pty chardevs. */
  readonly ptyChardevs: PtyChardev[] = [];
  /** `<console>`s that are the same device as a serial port: their index and its chardev id. */
  readonly sharedConsoles: { index: number; chardevId: string }[] = [];
  /** Socket paths the driver chose. */
  readonly chardevSockets: ChardevSocket[] = [];
  /** The interfaces' network backends, in order. */
  readonly netdevs: NetdevBackend[] = [];
  /** The machine family. */
  readonly family: MachineFamily;
  /** The accelerator. */
  readonly accelerator: Accelerator;
  /** The domain's runtime folder (for sockets the driver names itself). */
  readonly runtimeDir: string;
  /**
   * The address of the domain's private bus (`private_dbus.ts`) a D-Bus display uses, which the
   * start runs; undefined when none does.
   */
  privateBusAddress: string | undefined = undefined;
  /** Slots taken on each bus, by bus number. */
  readonly #takenSlots = new Map<number, Set<number>>();
  /** `bus:slot` of explicit addresses with a function other than 0. */
  readonly #multifunctionSlots = new Set<string>();
  /** The bus automatic placement fills, and the next PCI controller index for a bridge. */
  #autoBus = 0;
  #lowestExpanderBusNumber = 256;
  #nextPciIndex = 1;

  /**
   * @param family The machine family (decides the root bus and reserved slots).
   * @param accelerator The accelerator.
   * @param runtimeDir The domain's runtime folder.
   */
  constructor(family: MachineFamily, accelerator: Accelerator, runtimeDir = "/run/evirt") {
    this.family = family;
    this.accelerator = accelerator;
    this.runtimeDir = runtimeDir;
    // Slot 0 is the host bridge; i440fx has the PIIX3 in slot 1, q35 the ICH9 functions in 0x1f.
    this.#reserve(0, 0);
    if (family === "i440fx") this.#reserve(0, 1);
    else this.#reserve(0, 0x1f);
  }

  /** The root bus id: `pci.0` (i440fx) or `pcie.0` (q35). */
  get rootBus(): string {
    return this.family === "q35" ? "pcie.0" : "pci.0";
  }

  /** Adds arguments. */
  push(...args: string[]): void {
    this.args.push(...args);
  }

  /** Adds a `-device` argument. */
  device(option: string): void {
    this.args.push("-device", option);
  }

  /** Records a host path to check before start. */
  requirePath(path: string, kind: HostPathKind, where: string): void {
    this.hostPaths.push({ path, kind, where });
  }

  /**
   * Marks a slot taken by an explicit address (first pass, before any allocation); a function
   * other than 0 makes function 0 of that slot multifunction.
   */
  claimSlot(bus: number, slot: number, fn = 0): void {
    this.#reserve(bus, slot);
    if (fn !== 0) this.#multifunctionSlots.add(`${bus}:${slot}`);
  }

  /** Notes a PCI controller index the definition uses, so added bridges take higher ones. */
  claimPciIndex(index: number): void {
    if (index >= this.#nextPciIndex) this.#nextPciIndex = index + 1;
  }

  /** The bus number libvirt would give the next expander bus without one: 254, 252, … */
  nextExpanderBusNumber(): number {
    return this.#lowestExpanderBusNumber - 2;
  }

  /** Notes an expander bus number in use. */
  claimExpanderBusNumber(busNumber: number): void {
    if (busNumber < this.#lowestExpanderBusNumber) this.#lowestExpanderBusNumber = busNumber;
  }

  /** Indexes of the USB controllers that are EHCI masters (companion UHCIs attach to them). */
  readonly usbMasters = new Set<number>();

  /** The index of the last PCIe switch upstream port added (its bus takes downstream ports). */
  switchUpstreamIndex: number | undefined;

  /**
   * The next free slot, from 0, of PCI bus `index` (a switch's bus, whose ports are its slots).
   *
   * @throws {VirtError} 67 when the bus is full.
   */
  slotOnBus(index: number, where: string): PciPlacement {
    const free = this.#freeSlots(index);
    if (free.length === 0) {
      throw refuseConfig(where, `no free PCI slot left on bus ${this.busName(index)}`);
    }
    this.#reserve(index, free[0]);
    return { bus: this.busName(index), addr: hex(free[0]) };
  }

  /** The bus id of PCI bus `index`. */
  busName(index: number): string {
    return index === 0 ? this.rootBus : `pci.${index}`;
  }

  /**
   * The PCI placement of a device: its explicit `<address type='pci'>` when given, else the next
   * free slot of the root bus; once the root bus is full, devices go behind PCI bridges that are
   * added as needed (as libvirt adds them at define).
   *
   * @param address The device's `<address>`, if any.
   * @param where The device's path, for refusals.
   * @throws {VirtError} 67 for an address that is not a PCI one.
   */
  pciPlacement(address: DeviceAddress | undefined, where: string): PciPlacement {
    if (address !== undefined && address.type !== "pci") {
      throw refuseConfig(
        `${where}/address/@type`,
        `address type '${address.type}' is not supported for this device`,
      );
    }
    if (address !== undefined && address.slot !== undefined) {
      if ((address.domain ?? 0) !== 0) {
        throw refuseConfig(
          `${where}/address/@domain`,
          "pci domains other than 0 are not supported",
        );
      }
      const bus = address.bus ?? 0;
      const fn = address.function ?? 0;
      const multifunction = address.multifunction === "on" ||
        (fn === 0 && this.#multifunctionSlots.has(`${bus}:${address.slot}`));
      return {
        bus: this.busName(bus),
        addr: fn === 0 ? hex(address.slot) : `${hex(address.slot)}.${hex(fn)}`,
        ...(multifunction ? { multifunction: true } : {}),
      };
    }
    return this.#allocate(where);
  }

  #allocate(where: string): PciPlacement {
    const free = this.#freeSlots(this.#autoBus);
    if (free.length === 0) {
      throw refuseConfig(where, `no free PCI slot left on bus ${this.busName(this.#autoBus)}`);
    }
    if (free.length === 1) {
      // Keep going behind a new bridge in the bus's last slot.
      const index = this.#nextPciIndex++;
      this.#reserve(this.#autoBus, free[0]);
      this.device(
        `pci-bridge,chassis_nr=${index},id=pci.${index},bus=${this.busName(this.#autoBus)},addr=${
          hex(free[0])
        }`,
      );
      this.#autoBus = index;
      // Slot 0 of a PCI bridge's bus is not hot-pluggable: libvirt leaves it free.
      this.#reserve(index, 0);
      return this.#allocate(where);
    }
    this.#reserve(this.#autoBus, free[0]);
    return { bus: this.busName(this.#autoBus), addr: hex(free[0]) };
  }

  #freeSlots(bus: number): number[] {
    const taken = this.#takenSlots.get(bus) ?? new Set();
    const free: number[] = [];
    for (let slot = 0; slot <= PCI_SLOT_MAX; slot++) if (!taken.has(slot)) free.push(slot);
    return free;
  }

  #reserve(bus: number, slot: number): void {
    let taken = this.#takenSlots.get(bus);
    if (taken === undefined) {
      taken = new Set();
      this.#takenSlots.set(bus, taken);
    }
    taken.add(slot);
  }
}

/**
 * `0x` and lower-case hex digits, as QEMU's `addr=` takes them.
 *
 * @example
 * ```ts
 * import { hex } from "./argument_collector.ts";
 * console.log(hex(31)); // "0x1f"
 * ```
 */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
