/**
 * `<filesystem>` (a host folder shared with the guest) as QEMU arguments, as libvirt gives them
 * for the 9p transport: `-fsdev local,security_model=…,id=fsdev-fsN,path=…` and
 * `-device virtio-9p-pci,id=fsN,fsdev=fsdev-fsN,mount_tag=…`. virtiofs needs a virtiofsd daemon
 * and shared memory, which evirt does not run; it is refused by element, as is anything else
 * this module does not express.
 *
 * @module
 */

import type { DomainDevices, Filesystem } from "../../src/model/domain.ts";
import type { XmlExtra } from "../../src/model/xml_extra.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { refuseConfig } from "./config_refusal.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/** libvirt's access modes and QEMU's security models. */
const SECURITY_MODELS: Record<string, string> = {
  passthrough: "passthrough",
  mapped: "mapped-xattr",
  squash: "none",
};

/** Virtio model variants and their 9p device. */
const NINEP_DEVICES: Record<string, string> = {
  virtio: "virtio-9p-pci",
  "virtio-transitional": "virtio-9p-pci",
  "virtio-non-transitional": "virtio-9p-pci",
};

/** Typed parts of `<filesystem>` QEMU's 9p transport has no use for. */
const UNUSED_PARTS = ["multidevs", "alias"] as const;

/**
 * Adds the arguments of every `<filesystem>`.
 *
 * @throws {VirtError} 67 naming what QEMU cannot be given here.
 *
 * @example
 * ```ts ignore
 * addFilesystemArguments(definition.devices, collector);
 * ```
 */
export function addFilesystemArguments(devices: DomainDevices, collector: ArgumentCollector): void {
  (devices.filesystems ?? []).forEach((filesystem, index) =>
    addFilesystem(filesystem, index, collector)
  );
}

function addFilesystem(filesystem: Filesystem, index: number, collector: ArgumentCollector): void {
  const where = `/domain/devices/filesystem[${index + 1}]`;
  refuseUntyped(filesystem.extra, where);
  for (const part of UNUSED_PARTS) {
    if (filesystem[part] !== undefined) {
      throw refuseConfig(
        `${where}/${part === "alias" ? "alias" : `@${part}`}`,
        `filesystem ${part === "alias" ? "element" : "attribute"} '${part}' is not supported`,
      );
    }
  }
  const type = filesystem.type ?? "mount";
  if (type !== "mount") {
    throw refuseConfig(`${where}/@type`, `filesystem type '${type}' is not supported`);
  }
  const driver = filesystem.driver ?? {};
  refuseUntyped(driver.extra, `${where}/driver`);
  for (const name of ["format", "name", "wrpolicy", "queue"] as const) {
    if (driver[name] !== undefined) {
      throw refuseConfig(
        `${where}/driver/@${name}`,
        `filesystem driver attribute '${name}' is not supported`,
      );
    }
  }
  if ((driver.type ?? "path") !== "path") {
    throw refuseConfig(
      `${where}/driver/@type`,
      driver.type === "virtiofs"
        ? "virtiofs needs a virtiofsd daemon, which evirt does not run"
        : `filesystem driver type '${driver.type}' is not supported`,
    );
  }
  const securityModel = SECURITY_MODELS[filesystem.accessmode ?? "passthrough"];
  if (securityModel === undefined) {
    throw refuseConfig(
      `${where}/@accessmode`,
      `filesystem accessmode '${filesystem.accessmode}' is not supported`,
    );
  }
  const device = NINEP_DEVICES[filesystem.model ?? "virtio"];
  if (device === undefined) {
    throw refuseConfig(
      `${where}/@model`,
      `filesystem model '${filesystem.model}' is not supported`,
    );
  }
  const source = filesystem.source?.dir;
  const target = filesystem.target?.dir;
  if (source === undefined) {
    throw refuseConfig(`${where}/source`, "a filesystem needs a source dir");
  }
  if (target === undefined) {
    throw refuseConfig(`${where}/target`, "a filesystem needs a target dir");
  }
  collector.requirePath(source, "directory", `${where}/source/@dir`);
  const id = `fs${index}`;
  const fsdev: Record<string, QemuOptionValue> = {
    security_model: securityModel,
    id: `fsdev-${id}`,
    path: source,
    readonly: filesystem.readonly === true ? true : undefined,
    fmode: filesystem.fmode,
    dmode: filesystem.dmode,
  };
  collector.push("-fsdev", qemuOption("local", fsdev));
  const placement = collector.pciPlacement(filesystem.address, where);
  collector.device(qemuOption(device, {
    id,
    fsdev: `fsdev-${id}`,
    mount_tag: target,
    bus: placement.bus,
    addr: placement.addr,
    multifunction: placement.multifunction,
  }));
}

/** Refuses what the model kept verbatim: an attribute or element this module does not know. */
function refuseUntyped(extra: XmlExtra | undefined, where: string): void {
  const attribute = Object.keys(extra?.attributes ?? {})[0];
  if (attribute !== undefined) {
    throw refuseConfig(
      `${where}/@${attribute}`,
      `filesystem attribute '${attribute}' is not supported`,
    );
  }
  const element = extra?.elements?.[0]?.element.name ??
    Object.keys(extra?.children ?? {})[0];
  if (element !== undefined) {
    throw refuseConfig(`${where}/${element}`, `filesystem element '${element}' is not supported`);
  }
}
