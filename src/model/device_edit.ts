/**
 * Devices added to, removed from and replaced in a definition, as libvirt 9.0's
 * `attach-device` / `detach-device` / `update-device` change the persistent definition
 * (`qemuDomain{Attach,Detach,Update}DeviceConfig`) and as a live change leaves the live one.
 * Pure: every function returns a new definition and never touches its input.
 *
 * Disks are matched by target (`vdb`), interfaces by MAC address, PCI address and (live)
 * alias, as libvirt 9.0 matches them; other device kinds are
 * refused with libvirt's code 84 for the kinds evirt does not change yet.
 *
 * @module
 */

import type {
  DeviceAddress,
  Disk,
  DomainDefinition,
  DomainDevices,
  NetInterface,
} from "./domain.ts";
import { ErrorCode, VirtError } from "./errors.ts";

/** The `<devices>` lists a device element can go in. */
export const DEVICE_LIST_NAMES = [
  "disks",
  "controllers",
  "interfaces",
  "smartcards",
  "serials",
  "parallels",
  "consoles",
  "channels",
  "inputs",
  "tpms",
  "graphics",
  "sounds",
  "videos",
  "hostdevs",
  "redirdevs",
  "hubs",
  "watchdogs",
  "rngs",
  "shmems",
] as const satisfies readonly (keyof DomainDevices)[];

/** A `<devices>` list name. */
export type DeviceListName = typeof DEVICE_LIST_NAMES[number];

/** The element type of a device list. */
export type DeviceOf<L extends DeviceListName> = DomainDevices[L][number];

/** libvirt's device type name of each list (`virDomainDeviceType`), for its messages. */
const LIBVIRT_DEVICE_TYPES: Record<DeviceListName, string> = {
  disks: "disk",
  controllers: "controller",
  interfaces: "net",
  smartcards: "smartcard",
  serials: "chr",
  parallels: "chr",
  consoles: "chr",
  channels: "chr",
  inputs: "input",
  tpms: "tpm",
  graphics: "graphics",
  sounds: "sound",
  videos: "video",
  hostdevs: "hostdev",
  redirdevs: "redirdev",
  hubs: "hub",
  watchdogs: "watchdog",
  rngs: "rng",
  shmems: "shmem",
};

/** What a device change does. */
export type DeviceAction = "attach" | "detach" | "update";

/** libvirt's refusal of a change it does not make to a device kind (code 84). */
export function unsupportedChange(
  action: DeviceAction,
  list: DeviceListName,
  scope: "persistent" | "live",
): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_UNSUPPORTED,
    `${scope} ${action} of device '${LIBVIRT_DEVICE_TYPES[list]}' is not supported`,
  );
}

/**
 * The index libvirt gives a disk target name (`virDiskNameToIndex`): the letters after the
 * prefix in base 26 (`vda` 0, `vdz` 25, `vdaa` 26); -1 for a name of another shape.
 */
export function diskTargetIndex(name: string): number {
  const match = /^(?:hd|sd|vd|xvd|ubd|fd)([a-z]+)$/.exec(name);
  if (match === null) return -1;
  let index = 0;
  for (const letter of match[1]) index = index * 26 + (letter.charCodeAt(0) - 96);
  return index - 1;
}

/**
 * Where libvirt inserts a new disk (`virDomainDiskInsert`): before the first disk of its bus
 * whose target comes after it, else right after the last disk of its bus, else at the end.
 */
export function diskInsertPosition(disks: readonly Disk[], disk: Disk): number {
  let at = -1;
  const index = diskTargetIndex(disk.target.dev);
  for (let position = disks.length - 1; position >= 0; position--) {
    const each = disks[position];
    if (each.target.bus !== disk.target.bus) continue;
    if (diskTargetIndex(each.target.dev) > index) at = position;
    else if (at === -1) at = position + 1;
  }
  return at === -1 ? disks.length : at;
}

/** libvirt's bus for a disk target without one, by the target's prefix (its XML parser's rule). */
const BUS_OF_PREFIX: readonly [string, string][] = [
  ["hd", "ide"],
  ["sd", "scsi"],
  ["vd", "virtio"],
  ["xvd", "xen"],
  ["ubd", "uml"],
  ["fd", "fdc"],
];

/**
 * A disk as libvirt's parser completes a device element: `device='disk'` when absent, and the
 * bus its target's prefix implies (`vdb`: virtio; a floppy: fdc; otherwise ide).
 *
 * @example
 * ```ts
 * import { withDiskDefaults } from "./device_edit.ts";
 * console.log(withDiskDefaults({ target: { dev: "vdb" } }).target.bus); // "virtio"
 * ```
 */
export function withDiskDefaults(disk: Disk): Disk {
  const copy = structuredClone(disk);
  copy.device ??= "disk";
  if (copy.target.bus === undefined) {
    const found = BUS_OF_PREFIX.find(([prefix]) => copy.target.dev.startsWith(prefix));
    copy.target.bus = copy.device === "floppy" ? "fdc" : found?.[1] ?? "ide";
  }
  return copy;
}

/** The position of the disk with target `dev`, or -1. */
export function diskIndexByTarget(definition: DomainDefinition, dev: string): number {
  return definition.devices.disks.findIndex((disk) => disk.target.dev === dev);
}

/** A PCI address as libvirt writes it in messages (`0000:00:07.0`). */
function pciAddressText(address: DeviceAddress): string {
  const hex = (value: number | undefined, width: number) =>
    (value ?? 0).toString(16).padStart(width, "0");
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}.${
    (address.function ?? 0).toString(16)
  }`;
}

function sameAddress(left: DeviceAddress, right: DeviceAddress | undefined): boolean {
  return right !== undefined && right.type === left.type &&
    (right.domain ?? 0) === (left.domain ?? 0) && (right.bus ?? 0) === (left.bus ?? 0) &&
    (right.slot ?? 0) === (left.slot ?? 0) && (right.function ?? 0) === (left.function ?? 0);
}

/**
 * The position of the interface `wanted` names (libvirt's `virDomainNetFindIdx`): those with
 * its MAC address, its PCI address and (live) its alias, each when given.
 *
 * @throws {VirtError} 9 "multiple matching devices found"; 99 for none.
 */
function interfaceIndex(
  definition: DomainDefinition,
  wanted: NetInterface,
  scope: "persistent" | "live",
): number {
  const mac = wanted.mac?.toLowerCase();
  const pci = wanted.address?.type === "pci" ? wanted.address : undefined;
  // An inactive definition has no aliases to match (libvirt reads none from such a device).
  const alias = scope === "live" ? wanted.alias : undefined;
  const matching: number[] = [];
  definition.devices.interfaces.forEach((each, position) => {
    if (mac !== undefined && each.mac?.toLowerCase() !== mac) return;
    if (pci !== undefined && !sameAddress(pci, each.address)) return;
    if (alias !== undefined && each.alias !== alias) return;
    matching.push(position);
  });
  if (matching.length > 1) {
    throw new VirtError(ErrorCode.OPERATION_FAILED, "multiple matching devices found");
  }
  if (matching.length === 0) {
    const none = "(<null>)";
    throw new VirtError(
      ErrorCode.DEVICE_MISSING,
      `no device found at address '${pci === undefined ? none : pciAddressText(pci)}' ` +
        `matching MAC address '${wanted.mac ?? none}' and alias '${alias ?? none}'`,
    );
  }
  return matching[0];
}

function withDevices(
  definition: DomainDefinition,
  change: (devices: DomainDevices) => void,
): DomainDefinition {
  const copy = structuredClone(definition);
  change(copy.devices);
  return copy;
}

/**
 * The definition with a device added (libvirt's config attach).
 *
 * @throws {VirtError} 55 for a disk whose target exists; 84 for a kind evirt does not attach.
 *
 * @example
 * ```ts
 * import { attachDevice } from "./device_edit.ts";
 * import { emptyDevices } from "./domain.ts";
 * const def = { type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * const next = attachDevice(def, "disks", { target: { dev: "vdb", bus: "virtio" } }, "persistent");
 * console.log(next.devices.disks.length); // 1
 * ```
 */
export function attachDevice(
  definition: DomainDefinition,
  list: DeviceListName,
  device: DeviceOf<DeviceListName>,
  scope: "persistent" | "live",
): DomainDefinition {
  if (list === "disks") {
    const disk = withDiskDefaults(device as Disk);
    if (diskIndexByTarget(definition, disk.target.dev) !== -1) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `target ${disk.target.dev} already exists`,
      );
    }
    return withDevices(definition, (devices) => {
      devices.disks.splice(diskInsertPosition(devices.disks, disk), 0, structuredClone(disk));
    });
  }
  if (list === "interfaces") {
    // libvirt's config attach takes a MAC address another interface has (define does too).
    const wanted = device as NetInterface;
    return withDevices(definition, (devices) => {
      devices.interfaces.push(structuredClone(wanted));
    });
  }
  throw unsupportedChange("attach", list, scope);
}

/**
 * The position of the device a detach or update names in `definition` (disks by target,
 * interfaces by MAC).
 *
 * @throws {VirtError} 99 for a disk that is not there (libvirt's "no target device");
 *   84 for a kind evirt does not detach.
 */
export function devicePosition(
  definition: DomainDefinition,
  list: DeviceListName,
  device: DeviceOf<DeviceListName>,
  action: DeviceAction,
  scope: "persistent" | "live",
): number {
  if (list === "disks") {
    const dev = (device as Disk).target.dev;
    const position = diskIndexByTarget(definition, dev);
    if (position === -1) {
      if (action === "update") {
        throw new VirtError(ErrorCode.INVALID_ARG, `target ${dev} doesn't exist.`);
      }
      throw new VirtError(ErrorCode.DEVICE_MISSING, `no target device ${dev}`);
    }
    return position;
  }
  if (list === "interfaces" && action !== "attach") {
    return interfaceIndex(definition, device as NetInterface, scope);
  }
  throw unsupportedChange(action, list, scope);
}

/**
 * The definition without the device a detach names.
 *
 * @throws {VirtError} As {@linkcode devicePosition}.
 */
export function detachDevice(
  definition: DomainDefinition,
  list: DeviceListName,
  device: DeviceOf<DeviceListName>,
  scope: "persistent" | "live",
): DomainDefinition {
  const position = devicePosition(definition, list, device, "detach", scope);
  return withDevices(definition, (devices) => {
    (devices[list] as unknown[]).splice(position, 1);
  });
}

/**
 * The definition with a disk replaced by the new one of the same target, or an interface by
 * the new one it matches (by MAC, PCI address, alias), which keeps the old one's address (and
 * MAC) when it names none (libvirt's config update).
 *
 * @throws {VirtError} 8 for a target that is not there; 99 / 9 for an interface that matches
 *   none / several; 84 for a kind evirt does not update.
 */
export function updateDevice(
  definition: DomainDefinition,
  list: DeviceListName,
  device: DeviceOf<DeviceListName>,
  scope: "persistent" | "live",
): DomainDefinition {
  const position = devicePosition(definition, list, device, "update", scope);
  if (list === "interfaces") {
    const previous = definition.devices.interfaces[position];
    const nic = structuredClone(device as NetInterface);
    // What the new element leaves out that libvirt completes from the old one.
    nic.mac ??= previous.mac;
    if (nic.address === undefined && previous.address !== undefined) {
      nic.address = previous.address;
    }
    if (scope === "live" && previous.alias !== undefined) nic.alias = previous.alias;
    return withDevices(definition, (devices) => {
      devices.interfaces[position] = nic;
    });
  }
  const old = definition.devices.disks[position];
  const disk = withDiskDefaults(device as Disk);
  if (disk.address === undefined && old.address !== undefined) disk.address = old.address;
  if (scope === "live" && old.alias !== undefined) disk.alias = old.alias;
  return withDevices(definition, (devices) => {
    devices.disks[position] = disk;
  });
}

/** The list and position of the device with `alias`, or undefined. */
export function deviceWithAlias(
  definition: DomainDefinition,
  alias: string,
): { list: DeviceListName; position: number } | undefined {
  const devices = definition.devices as unknown as Record<string, { alias?: string }[]>;
  for (const list of DEVICE_LIST_NAMES) {
    const position = (devices[list] ?? []).findIndex((each) => each.alias === alias);
    if (position !== -1) return { list, position };
  }
  return undefined;
}

/**
 * The definition without the device that has `alias` (QEMU reported it removed); the same
 * definition when none has it.
 */
export function withoutAlias(definition: DomainDefinition, alias: string): DomainDefinition {
  const found = deviceWithAlias(definition, alias);
  if (found === undefined) return definition;
  return withDevices(definition, (devices) => {
    (devices[found.list] as unknown[]).splice(found.position, 1);
  });
}
