/**
 * QEMU arguments for `<disk>`: two `-blockdev` nodes per disk with a medium (the protocol node:
 * `file` or `host_device`; the format node: `raw`, `qcow2`, …) and one `-device` (virtio-blk,
 * ide-hd/ide-cd, scsi-hd/scsi-cd, floppy, usb-storage), as libvirt does with modern QEMU.
 *
 * @module
 */

import type { BackingStore, Disk } from "../../src/model/domain.ts";
import type { ArgumentCollector, BlockNode } from "./argument_collector.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { usbPlacement } from "./controller_arguments.ts";
import { qemuOption } from "./qemu_option.ts";
import {
  diskEncryptionOf,
  type DiskSecretCipher,
  MASTER_KEY_FILE,
  MASTER_KEY_ID,
} from "./disk_encryption.ts";

/** Image formats QEMU 7.2 opens as a format node. */
export const DISK_FORMATS: readonly string[] = [
  "raw",
  "qcow2",
  "qcow",
  "qed",
  "vmdk",
  "vdi",
  "vpc",
  "vhdx",
  "cloop",
  "dmg",
  "bochs",
  "parallels",
];

/** Disk buses and the controller kind each needs. */
const BUS_CONTROLLER: Record<string, string> = {
  ide: "ide",
  sata: "sata",
  scsi: "scsi",
  fdc: "fdc",
  usb: "usb",
};

/** Units per controller for buses without an explicit address (libvirt's defaults). */
const UNITS_PER_CONTROLLER: Record<string, number> = { ide: 4, sata: 6, scsi: 7, fdc: 2 };

/** What disks need to know of the rest of the definition. */
export interface DiskOptions {
  /** The ids of the domain's I/O threads. */
  iothreads: number[];
  /** The model of each SCSI controller, by index. */
  scsiModels: Map<number, string>;
  /**
   * Encrypts a LUKS disk's passphrase with the domain's master key (disk_encryption.ts);
   * absent at a dry build, which writes a placeholder.
   */
  secrets?: DiskSecretCipher;
}

/** What a dry build writes for a passphrase (nothing is encrypted, nothing runs). */
const PLACEHOLDER_SECRET = { data: btoa("\0".repeat(16)), iv: btoa("\0".repeat(16)) };

/** A disk's place on its controller: libvirt's `<address type='drive'>`. */
export interface DriveAddress {
  controller: number;
  bus: number;
  target: number;
  unit: number;
}

/**
 * The index a guest device name stands for, as libvirt computes it: the letters after the
 * prefix (`vd`, `sd`, `hd`, `fd`, `xvd`, `ubd`) in base 26, `a` = 0, `z` = 25, `aa` = 26.
 *
 * @returns The index, or undefined for a name of another shape.
 *
 * @example
 * ```ts
 * import { diskNameIndex } from "./disk_arguments.ts";
 * console.log(diskNameIndex("vda"), diskNameIndex("hdc"), diskNameIndex("sdaa")); // 0 2 26
 * ```
 */
export function diskNameIndex(name: string): number | undefined {
  const match = /^(?:hd|sd|vd|xvd|ubd|fd)([a-z]+)$/.exec(name);
  if (match === null) return undefined;
  let index = 0;
  for (const letter of match[1]) index = index * 26 + (letter.charCodeAt(0) - 96);
  return index - 1;
}

/**
 * Adds the arguments of every disk.
 *
 * @param disks The definition's disks, in order.
 * @param collector Where arguments, host paths and block nodes go.
 * @param options The iothread count and the SCSI controllers' models.
 * @throws {VirtError} 67 naming the first unsupported element or attribute.
 *
 * @example
 * ```ts ignore
 * addDiskArguments(definition.devices.disks, collector, { iothreads: [], scsiModels: new Map() });
 * ```
 */
export function addDiskArguments(
  disks: Disk[],
  collector: ArgumentCollector,
  options: DiskOptions,
): void {
  let masterKeyAdded = false;
  disks.forEach((disk, index) => {
    const where = `/domain/devices/disk[${index + 1}]`;
    checkDisk(disk, where);
    const alias = diskAlias(disk, where);
    const encryption = diskEncryptionOf(disk, where);
    let keySecret: string | undefined;
    if (encryption !== undefined && hasSource(disk)) {
      if (!masterKeyAdded) {
        // As libvirt: one master key per domain, given as a file of its runtime folder.
        collector.push(
          "-object",
          qemuOption("secret", {
            id: MASTER_KEY_ID,
            format: "raw",
            file: `${collector.runtimeDir}/${MASTER_KEY_FILE}`,
          }),
        );
        masterKeyAdded = true;
      }
      keySecret = `drive${index}-format-encryption-secret0`;
      const sealed = options.secrets?.(encryption.secret, `${where}/encryption/secret`) ??
        PLACEHOLDER_SECRET;
      collector.push(
        "-object",
        qemuOption("secret", {
          id: keySecret,
          data: sealed.data,
          keyid: MASTER_KEY_ID,
          iv: sealed.iv,
          format: "base64",
        }),
      );
    }
    const nodeName = addBlockNodes(disk, index, alias, collector, where, keySecret);
    addDiskDevice(disk, alias, nodeName, collector, where, options);
  });
}

/**
 * The drive address of a disk on an ide, sata, scsi or fdc bus (explicit or from its name).
 *
 * @throws {VirtError} 67 for an address of another type or a name without an index.
 *
 * @example
 * ```ts
 * import { driveAddressOf } from "./disk_arguments.ts";
 * console.log(driveAddressOf({ target: { dev: "hdd", bus: "ide" } }, "/domain/devices/disk[1]"));
 * // { controller: 0, bus: 1, target: 0, unit: 1 }
 * ```
 */
export function driveAddressOf(disk: Disk, where: string): DriveAddress {
  const bus = disk.target.bus ?? "ide";
  const address = disk.address;
  if (address !== undefined) {
    if (address.type !== "drive") {
      throw refuseConfig(
        `${where}/address/@type`,
        `address type '${address.type}' is not supported for a disk on bus '${bus}'`,
      );
    }
    return {
      controller: address.controller ?? 0,
      bus: address.bus ?? 0,
      target: address.target ?? 0,
      unit: address.unit ?? 0,
    };
  }
  const index = diskNameIndex(disk.target.dev);
  if (index === undefined) {
    throw refuseConfig(
      `${where}/target/@dev`,
      `cannot derive a drive address from disk target '${disk.target.dev}'`,
    );
  }
  const units = UNITS_PER_CONTROLLER[bus] ?? 1;
  const controller = Math.floor(index / units);
  const rest = index % units;
  if (bus === "ide") return { controller, bus: Math.floor(rest / 2), target: 0, unit: rest % 2 };
  return { controller, bus: 0, target: 0, unit: rest };
}

/**
 * The controller kind and index a disk needs, or undefined for buses without one (virtio).
 *
 * @example
 * ```ts
 * import { diskController } from "./disk_arguments.ts";
 * console.log(diskController({ target: { dev: "sdh", bus: "scsi" } }, "/domain/devices/disk[1]"));
 * // { type: "scsi", index: 1 }
 * ```
 */
export function diskController(
  disk: Disk,
  where: string,
): { type: string; index: number } | undefined {
  const bus = disk.target.bus ?? "ide";
  const type = BUS_CONTROLLER[bus];
  if (type === undefined) return undefined;
  if (type === "usb") return { type, index: 0 };
  return { type, index: driveAddressOf(disk, where).controller };
}

function checkDisk(disk: Disk, where: string): void {
  // A LUKS disk's <encryption> is read by disk_encryption.ts.
  refuseExtra(disk.extra, where, { elements: (name) => name === "encryption" });
  // A DAC seclabel of the image is applied by dac_policy.ts.
  refuseExtra(disk.source?.extra, `${where}/source`, {
    elements: (name) => name === "seclabel",
  });
  const type = disk.type ?? "file";
  // A volume disk is launched as its volume's file or block device (actors/volume_disks.ts).
  if (type !== "file" && type !== "block" && type !== "volume") {
    throw refuseConfig(`${where}/@type`, `disk type '${type}' is not supported`);
  }
  const device = disk.device ?? "disk";
  if (device !== "disk" && device !== "cdrom" && device !== "floppy") {
    throw refuseConfig(`${where}/@device`, `disk device '${device}' is not supported`);
  }
  const unsupported: [unknown, string, string][] = [
    [disk.rawio, "@rawio", "rawio"],
    [disk.sgio, "@sgio", "sgio"],
    [disk.transient, "transient", "transient disks"],
    [disk.driver?.copyOnRead, "driver/@copy_on_read", "copy_on_read"],
    [disk.source?.startupPolicy, "source/@startupPolicy", "startupPolicy"],
    [disk.target.tray === "open" ? "open" : undefined, "target/@tray", "an open tray"],
  ];
  for (const [value, path, what] of unsupported) {
    if (value !== undefined && value !== false) {
      throw refuseConfig(`${where}/${path}`, `${what} is not supported by the qemu driver`);
    }
  }
  if (disk.driver?.name !== undefined && disk.driver.name !== "qemu") {
    throw refuseConfig(
      `${where}/driver/@name`,
      `disk driver '${disk.driver.name}' is not supported`,
    );
  }
}

function diskAlias(disk: Disk, where: string): string {
  if (disk.alias !== undefined && disk.alias.startsWith("ua-")) return disk.alias;
  const bus = disk.target.bus ?? "ide";
  if (bus === "virtio" || bus === "usb") {
    const index = diskNameIndex(disk.target.dev);
    if (index === undefined) {
      throw refuseConfig(`${where}/target/@dev`, `invalid disk target '${disk.target.dev}'`);
    }
    return `${bus === "virtio" ? "virtio-disk" : "usb-disk"}${index}`;
  }
  const address = driveAddressOf(disk, where);
  switch (bus) {
    case "ide":
      return `ide${address.controller}-${address.bus}-${address.unit}`;
    case "sata":
      return `sata${address.controller}-0-${address.unit}`;
    case "scsi":
      return `scsi${address.controller}-0-${address.target}-${address.unit}`;
    case "fdc":
      return `fdc0-0-${address.unit}`;
    default:
      throw refuseConfig(`${where}/target/@bus`, `disk bus '${bus}' is not supported`);
  }
}

function hasSource(disk: Disk): boolean {
  const path = sourcePath(disk);
  return path !== undefined && path !== "";
}

function sourcePath(disk: Disk): string | undefined {
  // A volume disk still unresolved is a define-time check: it stands for its pool's volume (the
  // launch gets it as the volume's file, actors/volume_disks.ts).
  if (disk.type === "volume" && disk.source?.pool !== undefined) {
    return `${disk.source.pool}/${disk.source.volume ?? ""}`;
  }
  return disk.type === "block" ? disk.source?.dev : disk.source?.file;
}

/** Cache settings of both nodes and the device's write cache, by libvirt cache mode. */
const CACHE_MODES: Record<string, { direct: boolean; noFlush: boolean; writeCache: boolean }> = {
  none: { direct: true, noFlush: false, writeCache: true },
  writethrough: { direct: false, noFlush: false, writeCache: false },
  writeback: { direct: false, noFlush: false, writeCache: true },
  directsync: { direct: true, noFlush: false, writeCache: false },
  unsafe: { direct: false, noFlush: true, writeCache: true },
};

/** Adds the protocol and format nodes; returns the format node's name, or "" for no medium. */
function addBlockNodes(
  disk: Disk,
  index: number,
  alias: string,
  collector: ArgumentCollector,
  where: string,
  keySecret: string | undefined,
): string {
  const path = sourcePath(disk);
  const device = disk.device ?? "disk";
  if (path === undefined || path === "") {
    if (device === "disk") {
      throw refuseConfig(`${where}/source`, `disk '${disk.target.dev}' has no source`);
    }
    collector.blockNodes.push({ nodeName: "", alias, targetDev: disk.target.dev, sourcePath: "" });
    return "";
  }
  const attribute = disk.type === "block" ? "dev" : "file";
  collector.requirePath(
    path,
    disk.type === "block" ? "block" : "file",
    `${where}/source/@${attribute}`,
  );
  const format = disk.driver?.type ?? "raw";
  if (!DISK_FORMATS.includes(format)) {
    throw refuseConfig(`${where}/driver/@type`, `disk format '${format}' is not supported`);
  }
  if (keySecret !== undefined && format !== "raw" && format !== "qcow2") {
    throw refuseConfig(
      `${where}/encryption`,
      `LUKS encryption of a '${format}' image is not supported`,
    );
  }
  const cacheMode = disk.driver?.cache;
  const cache = cacheMode === undefined || cacheMode === "default"
    ? undefined
    : CACHE_MODES[cacheMode];
  if (cacheMode !== undefined && cacheMode !== "default" && cache === undefined) {
    throw refuseConfig(`${where}/driver/@cache`, `disk cache mode '${cacheMode}' is not supported`);
  }
  const io = disk.driver?.io;
  if (io !== undefined && !["threads", "native", "io_uring"].includes(io)) {
    throw refuseConfig(`${where}/driver/@io`, `disk io mode '${io}' is not supported`);
  }
  if (io === "native" && cache?.direct !== true) {
    throw refuseConfig(
      `${where}/driver/@io`,
      "native I/O needs either no disk cache or directsync cache mode",
    );
  }
  const discard = disk.driver?.discard;
  if (discard !== undefined && discard !== "unmap" && discard !== "ignore") {
    throw refuseConfig(
      `${where}/driver/@discard`,
      `disk discard mode '${discard}' is not supported`,
    );
  }
  const detectZeroes = disk.driver?.detectZeroes;
  if (detectZeroes !== undefined && !["off", "on", "unmap"].includes(detectZeroes)) {
    throw refuseConfig(
      `${where}/driver/@detect_zeroes`,
      `detect_zeroes mode '${detectZeroes}' is not supported`,
    );
  }
  const readOnly = disk.readonly === true || device === "cdrom";
  const fileNode = `drive${index}-storage`;
  const formatNode = `drive${index}-format`;
  const cacheJson = cache === undefined
    ? undefined
    : { direct: cache.direct, "no-flush": cache.noFlush };
  const protocolDriver = disk.type === "block"
    ? (device === "cdrom" ? "host_cdrom" : "host_device")
    : "file";
  const backing = addBackingNodes(disk.backingStore, index, collector, `${where}/backingStore`);
  collector.push(
    "-blockdev",
    JSON.stringify(withoutUndefined({
      driver: protocolDriver,
      filename: path,
      "node-name": fileNode,
      "read-only": readOnly,
      cache: cacheJson,
      aio: io,
      discard,
    })),
  );
  collector.push(
    "-blockdev",
    JSON.stringify(withoutUndefined({
      // A raw LUKS image is opened by QEMU's luks driver; an encrypted qcow2 by qcow2 itself.
      driver: keySecret !== undefined && format === "raw" ? "luks" : format,
      "key-secret": keySecret !== undefined && format === "raw" ? keySecret : undefined,
      encrypt: keySecret !== undefined && format === "qcow2"
        ? { format: "luks", "key-secret": keySecret }
        : undefined,
      file: fileNode,
      "node-name": formatNode,
      "read-only": readOnly,
      cache: cacheJson,
      discard,
      "detect-zeroes": detectZeroes,
      backing: FORMATS_WITH_BACKING.includes(format) ? backing : undefined,
    })),
  );
  const node: BlockNode = {
    nodeName: formatNode,
    alias,
    targetDev: disk.target.dev,
    sourcePath: path,
  };
  collector.blockNodes.push(node);
  return formatNode;
}

/** Image formats whose QEMU driver takes a `backing` node (a raw node refuses the option). */
const FORMATS_WITH_BACKING: readonly string[] = ["qcow2", "qcow", "qed", "vmdk"];

/** Most images below a disk's top image that the driver opens as nodes of their own. */
export const BACKING_LAYERS_MAX = 64;

/**
 * Adds read-only nodes for a known backing chain (libvirt gives QEMU one protocol and one
 * format node per image, so QEMU never opens a file the definition does not name), bottom
 * first, since a node must exist before the node above names it.
 *
 * @returns The top's `backing`: the first layer's format node; null for a chain known to end
 *   (`<backingStore/>`); undefined when the chain is unknown (QEMU follows the image's own).
 */
function addBackingNodes(
  store: BackingStore | undefined,
  diskIndex: number,
  collector: ArgumentCollector,
  where: string,
): string | null | undefined {
  if (store === undefined) return undefined;
  const layers: { layer: BackingStore; where: string }[] = [];
  let next: BackingStore | undefined = store;
  let layerWhere = where;
  while (next !== undefined && !isChainEnd(next)) {
    if (layers.length >= BACKING_LAYERS_MAX) {
      throw refuseConfig(layerWhere, `a backing chain deeper than ${BACKING_LAYERS_MAX} images`);
    }
    layers.push({ layer: next, where: layerWhere });
    next = next.backingStore;
    layerWhere = `${layerWhere}/backingStore`;
  }
  // Below the last layer: null when the chain is closed, undefined when QEMU opens the rest.
  let below: string | null | undefined = next === undefined ? undefined : null;
  for (let position = layers.length - 1; position >= 0; position--) {
    const { layer, where: at } = layers[position];
    refuseExtra(layer.extra, at);
    refuseExtra(layer.source?.extra, `${at}/source`);
    const type = layer.type ?? "file";
    if (type !== "file" && type !== "block") {
      throw refuseConfig(`${at}/@type`, `backing store type '${type}' is not supported`);
    }
    const path = type === "block" ? layer.source?.dev : layer.source?.file;
    if (path === undefined || path === "") {
      throw refuseConfig(`${at}/source`, "a backing store needs a source");
    }
    const format = layer.format ?? "raw";
    if (!DISK_FORMATS.includes(format)) {
      throw refuseConfig(`${at}/format/@type`, `disk format '${format}' is not supported`);
    }
    collector.requirePath(path, type, `${at}/source/@${type === "block" ? "dev" : "file"}`);
    const fileNode = `drive${diskIndex}-b${position + 1}-storage`;
    const formatNode = `drive${diskIndex}-b${position + 1}-format`;
    collector.push(
      "-blockdev",
      JSON.stringify({
        driver: type === "block" ? "host_device" : "file",
        filename: path,
        "node-name": fileNode,
        "read-only": true,
      }),
    );
    collector.push(
      "-blockdev",
      JSON.stringify(withoutUndefined({
        driver: format,
        file: fileNode,
        "node-name": formatNode,
        "read-only": true,
        backing: FORMATS_WITH_BACKING.includes(format) ? below : undefined,
      })),
    );
    below = formatNode;
  }
  return below;
}

/** `<backingStore/>`: the element that says the chain ends here. */
function isChainEnd(store: BackingStore): boolean {
  return store.type === undefined && store.source === undefined && store.format === undefined;
}

/** Error policies and the device properties they set. */
const ERROR_POLICIES: Record<string, { werror: string; rerror?: string }> = {
  stop: { werror: "stop", rerror: "stop" },
  report: { werror: "report", rerror: "report" },
  ignore: { werror: "ignore", rerror: "ignore" },
  enospace: { werror: "enospc" },
};

function addDiskDevice(
  disk: Disk,
  alias: string,
  nodeName: string,
  collector: ArgumentCollector,
  where: string,
  options: DiskOptions,
): void {
  const bus = disk.target.bus ?? "ide";
  const device = disk.device ?? "disk";
  const cacheMode = disk.driver?.cache;
  const cache = cacheMode === undefined ? undefined : CACHE_MODES[cacheMode];
  const policy = disk.driver?.errorPolicy === undefined
    ? undefined
    : ERROR_POLICIES[disk.driver.errorPolicy];
  if (disk.driver?.errorPolicy !== undefined && policy === undefined) {
    throw refuseConfig(
      `${where}/driver/@error_policy`,
      `disk error policy '${disk.driver.errorPolicy}' is not supported`,
    );
  }
  const common = {
    drive: nodeName === "" ? undefined : nodeName,
    id: alias,
    bootindex: disk.boot?.order,
    "write-cache": cache === undefined || nodeName === "" ? undefined : cache.writeCache,
    "share-rw": disk.shareable === true ? true : undefined,
  };
  const errors = policy === undefined ? {} : { werror: policy.werror, rerror: policy.rerror };
  const extra = { serial: disk.serial, wwn: disk.wwn, rotation_rate: disk.target.rotationRate };
  refuseOnBus(disk, bus, where);
  switch (bus) {
    case "virtio": {
      refuseFor(disk, where, { wwn: disk.wwn, "target/@rotation_rate": disk.target.rotationRate });
      if (device !== "disk") {
        throw refuseConfig(`${where}/@device`, `a ${device} cannot use bus 'virtio'`);
      }
      const placement = collector.pciPlacement(disk.address, where);
      const iothread = disk.driver?.iothread;
      if (iothread !== undefined && !options.iothreads.includes(iothread)) {
        throw refuseConfig(`${where}/driver/@iothread`, `iothread ${iothread} is not defined`);
      }
      collector.device(qemuOption(virtioBlkModel(disk, where), {
        bus: placement.bus,
        addr: placement.addr,
        multifunction: placement.multifunction,
        "num-queues": disk.driver?.queues,
        iothread: iothread === undefined ? undefined : `iothread${iothread}`,
        ...common,
        ...errors,
        serial: disk.serial,
      }));
      return;
    }
    case "ide":
    case "sata": {
      const address = driveAddressOf(disk, where);
      if (disk.readonly === true && device === "disk") {
        throw refuseConfig(`${where}/readonly`, `readonly ${bus} disks are not supported`);
      }
      collector.device(qemuOption(device === "cdrom" ? "ide-cd" : "ide-hd", {
        bus: ideBus(bus, address, collector, where),
        unit: bus === "ide" ? address.unit : undefined,
        ...common,
        ...errors,
        ...extra,
      }));
      return;
    }
    case "scsi": {
      const address = driveAddressOf(disk, where);
      // The LSI HBA has one bus of 7 targets without LUNs: libvirt puts the unit in scsi-id.
      const lsi = (options.scsiModels.get(address.controller) ?? "lsilogic") === "lsilogic";
      collector.device(qemuOption(device === "cdrom" ? "scsi-cd" : "scsi-hd", {
        bus: `scsi${address.controller}.${lsi ? address.bus : 0}`,
        channel: lsi ? undefined : address.bus,
        "scsi-id": lsi ? address.unit : address.target,
        lun: lsi ? undefined : address.unit,
        ...common,
        ...errors,
        ...extra,
        vendor: disk.vendor,
        product: disk.product,
      }));
      return;
    }
    case "fdc": {
      if (device !== "floppy") {
        throw refuseConfig(`${where}/target/@bus`, `a ${device} cannot use bus 'fdc'`);
      }
      refuseFor(disk, where, {
        serial: disk.serial,
        wwn: disk.wwn,
        "target/@rotation_rate": disk.target.rotationRate,
      });
      const address = driveAddressOf(disk, where);
      collector.device(qemuOption("floppy", { unit: address.unit, ...common }));
      return;
    }
    case "usb": {
      refuseFor(disk, where, { wwn: disk.wwn, "target/@rotation_rate": disk.target.rotationRate });
      collector.device(qemuOption("usb-storage", {
        ...usbPlacement(disk.address, where),
        ...common,
        serial: disk.serial,
        removable: disk.target.removable === "on" ? true : undefined,
      }));
      return;
    }
    default:
      throw refuseConfig(`${where}/target/@bus`, `disk bus '${bus}' is not supported`);
  }
}

function ideBus(
  bus: string,
  address: DriveAddress,
  collector: ArgumentCollector,
  where: string,
): string {
  if (bus === "ide") {
    if (collector.family === "q35") {
      throw refuseConfig(
        `${where}/target/@bus`,
        "IDE controllers are unsupported for this QEMU binary or machine type",
      );
    }
    if (address.controller !== 0 || address.bus > 1 || address.unit > 1) {
      throw refuseConfig(`${where}/address`, "only IDE controller 0, buses 0-1, units 0-1 exist");
    }
    return `ide.${address.bus}`;
  }
  if (address.bus !== 0 || address.unit > 5) {
    throw refuseConfig(`${where}/address`, "a SATA disk needs bus 0 and a unit from 0 to 5");
  }
  // q35's built-in AHCI (controller 0) names its ports ide.N; other controllers are sataN.
  if (collector.family === "q35" && address.controller === 0) return `ide.${address.unit}`;
  return `sata${address.controller}.${address.unit}`;
}

function virtioBlkModel(disk: Disk, where: string): string {
  switch (disk.model) {
    case undefined:
    case "virtio":
      return "virtio-blk-pci";
    case "virtio-transitional":
      return "virtio-blk-pci-transitional";
    case "virtio-non-transitional":
      return "virtio-blk-pci-non-transitional";
    default:
      throw refuseConfig(`${where}/@model`, `disk model '${disk.model}' is not supported`);
  }
}

function refuseOnBus(disk: Disk, bus: string, where: string): void {
  if (disk.model !== undefined && bus !== "virtio") {
    throw refuseConfig(`${where}/@model`, `disk model is only supported on bus 'virtio'`);
  }
  if (disk.target.removable !== undefined && bus !== "usb") {
    throw refuseConfig(`${where}/target/@removable`, "removable is only supported on bus 'usb'");
  }
  if ((disk.vendor !== undefined || disk.product !== undefined) && bus !== "scsi") {
    throw refuseConfig(`${where}/vendor`, "vendor and product are only supported on bus 'scsi'");
  }
  if (disk.driver?.iothread !== undefined && bus !== "virtio") {
    throw refuseConfig(`${where}/driver/@iothread`, "iothread is only supported on bus 'virtio'");
  }
  if (disk.driver?.queues !== undefined && bus !== "virtio") {
    throw refuseConfig(`${where}/driver/@queues`, "queues is only supported on bus 'virtio'");
  }
  if (disk.address !== undefined && disk.address.type === "pci" && bus !== "virtio") {
    throw refuseConfig(`${where}/address/@type`, `a disk on bus '${bus}' has no pci address`);
  }
}

function refuseFor(disk: Disk, where: string, values: Record<string, unknown>): void {
  for (const [path, value] of Object.entries(values)) {
    if (value !== undefined) {
      throw refuseConfig(
        `${where}/${path}`,
        `'${path.replace(/^.*[/@]/, "")}' is not supported for disk bus '${disk.target.bus}'`,
      );
    }
  }
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, each]) => each !== undefined));
}
