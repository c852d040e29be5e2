/**
 * Hard limits on how many devices of each kind one definition may hold, checked before any
 * defaults, validation or command-line building, so the work one define asks for is bounded.
 *
 * libvirt's define accepts any count and leaves the failure to start (a PCI slot that cannot
 * be found, a port QEMU does not have). evirt refuses earlier, with libvirt's code for a
 * configuration the hypervisor cannot run (67, `CONFIG_UNSUPPORTED`) and the first element
 * beyond the limit in `where`. Each limit is at least what QEMU can run on one machine:
 *
 * | kind | limit | why |
 * | --- | --- | --- |
 * | controller | 256 | PCI bus numbers are 0–255, one per PCI controller; other controllers are few |
 * | disk | 512 | every virtio disk takes a PCI slot; SCSI and SATA disks share few controllers |
 * | interface, hostdev | 256 | each takes a PCI slot (or a VF of one) |
 * | channel | 256 | virtio-serial ports: 31 per controller by default |
 * | serial, parallel, console | 32 | QEMU has 4 ISA serial and 3 parallel ports; PCI and USB serials take slots |
 * | input, sound, redirdev, hub, rng, shmem | 32 | each a USB port or PCI slot |
 * | graphics, video | 16 | one display head each |
 * | smartcard, watchdog | 8 | one per CCID slot / watchdog model |
 * | tpm | 2 | libvirt accepts one TPM and one proxy at most |
 *
 * Two other counts scale the work of a define the same way and are bounded beside them: at most
 * {@linkcode IOTHREADS_MAX} I/O threads (each a host thread; libvirt sets no limit, but a
 * dry build of 100 million would exhaust memory) and {@linkcode NUMA_CELLS_MAX} guest NUMA
 * cells (QEMU's own `MAX_NODES`).
 *
 * No definition in libvirt's own test corpus comes near these (its largest has 243
 * controllers and 105 disks).
 *
 * @module
 */

import type { DomainDefinition, DomainDevices } from "./domain.ts";
import { ErrorCode, VirtError } from "./errors.ts";

/** A device list of a definition, by its field name in {@linkcode DomainDevices}. */
export type DeviceListName = {
  [K in keyof DomainDevices]-?: DomainDevices[K] extends unknown[] ? K : never;
}[keyof DomainDevices];

/** One limit: the element name (for messages and `where`) and the largest count accepted. */
export interface DeviceCountLimit {
  /** The XML element, e.g. `serial`. */
  element: string;
  /** The most devices of this kind one definition may hold. */
  countMax: number;
}

/** The limits, one per device list (see the module notes for the reasons). */
export const DEVICE_COUNT_LIMITS: Readonly<Record<DeviceListName, DeviceCountLimit>> = {
  disks: { element: "disk", countMax: 512 },
  controllers: { element: "controller", countMax: 256 },
  interfaces: { element: "interface", countMax: 256 },
  hostdevs: { element: "hostdev", countMax: 256 },
  channels: { element: "channel", countMax: 256 },
  serials: { element: "serial", countMax: 32 },
  parallels: { element: "parallel", countMax: 32 },
  consoles: { element: "console", countMax: 32 },
  inputs: { element: "input", countMax: 32 },
  sounds: { element: "sound", countMax: 32 },
  redirdevs: { element: "redirdev", countMax: 32 },
  hubs: { element: "hub", countMax: 32 },
  rngs: { element: "rng", countMax: 32 },
  shmems: { element: "shmem", countMax: 32 },
  graphics: { element: "graphics", countMax: 16 },
  videos: { element: "video", countMax: 16 },
  smartcards: { element: "smartcard", countMax: 8 },
  watchdogs: { element: "watchdog", countMax: 8 },
  tpms: { element: "tpm", countMax: 2 },
};

/**
 * Refuses a definition with more devices of a kind than {@linkcode DEVICE_COUNT_LIMITS}
 * allows. Constant work: it reads only the lists' lengths. A list that is not an array (a
 * malformed JSON definition) is left to the checks that own its shape.
 *
 * @param devices The definition's devices.
 * @throws {VirtError} Code 67 naming the kind, the count and the limit, with the first
 *   element beyond the limit in `where`.
 *
 * @example Too many serial ports
 * ```ts
 * import { checkDeviceCounts } from "./device_limits.ts";
 * import { emptyDevices } from "./domain.ts";
 * const devices = { ...emptyDevices(), serials: Array.from({ length: 40 }, () => ({ sources: [] })) };
 * try {
 *   checkDeviceCounts(devices);
 * } catch (error) {
 *   console.log((error as Error).message); // "too many serial devices: 40, at most 32"
 * }
 * ```
 */
export function checkDeviceCounts(devices: DomainDevices): void {
  for (const [list, limit] of Object.entries(DEVICE_COUNT_LIMITS)) {
    const entries: unknown = devices[list as DeviceListName];
    if (!Array.isArray(entries) || entries.length <= limit.countMax) continue;
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `too many ${limit.element} devices: ${entries.length}, at most ${limit.countMax}`,
      { where: `/domain/devices/${limit.element}[${limit.countMax + 1}]` },
    );
  }
}

/** Most `<iothreads>` of one definition (each is a host thread). */
export const IOTHREADS_MAX = 1024;

/** Most guest NUMA cells of one definition: QEMU's `MAX_NODES`. */
export const NUMA_CELLS_MAX = 128;

/**
 * Refuses a definition beyond any count limit: the device lists (see
 * {@linkcode checkDeviceCounts}), the I/O threads and the guest NUMA cells. Constant work.
 *
 * @param def The definition, as parsed.
 * @throws {VirtError} Code 67 naming the count and the limit, with `where`.
 *
 * @example Too many I/O threads
 * ```ts
 * import { checkCountLimits } from "./device_limits.ts";
 * import { emptyDevices } from "./domain.ts";
 * const os = { type: "hvm", boot: [] };
 * try {
 *   checkCountLimits({ type: "qemu", name: "vm", memoryKiB: 1, vcpus: 1, iothreads: 5000, os, devices: emptyDevices() });
 * } catch (error) {
 *   console.log((error as Error).message); // "too many iothreads: 5000, at most 1024"
 * }
 * ```
 */
export function checkCountLimits(def: DomainDefinition): void {
  checkDeviceCounts(def.devices);
  if (def.iothreads !== undefined && def.iothreads > IOTHREADS_MAX) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `too many iothreads: ${def.iothreads}, at most ${IOTHREADS_MAX}`,
      { where: "/domain/iothreads" },
    );
  }
  const cells: unknown = def.cpu?.numa?.cells;
  if (Array.isArray(cells) && cells.length > NUMA_CELLS_MAX) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `too many NUMA cells: ${cells.length}, at most ${NUMA_CELLS_MAX}`,
      { where: `/domain/cpu/numa/cell[${NUMA_CELLS_MAX + 1}]` },
    );
  }
}

/**
 * How many devices a definition holds, over every device list.
 *
 * @example
 * ```ts
 * import { deviceCount } from "./device_limits.ts";
 * import { emptyDevices } from "./domain.ts";
 * console.log(deviceCount({ ...emptyDevices(), serials: [{ sources: [] }] })); // 1
 * ```
 */
export function deviceCount(devices: DomainDevices): number {
  let count = 0;
  for (const list of Object.keys(DEVICE_COUNT_LIMITS) as DeviceListName[]) {
    count += devices[list].length;
  }
  return count;
}
