/**
 * `<filesystem>` (a host folder shared with the guest) as QEMU arguments, as libvirt gives them
 * for the 9p transport: `-fsdev local,security_model=…,id=fsdev-fsN,path=…` and
 * `-device virtio-9p-pci,id=fsN,fsdev=fsdev-fsN,mount_tag=…`. virtiofs needs a virtiofsd daemon
 * and shared memory, which evirt does not run; it is refused by element, as is anything else
 * this module does not express.
 *
 * @module
 */

import type { DomainDevices } from "../../src/model/domain.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
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

/** Attributes of `<filesystem>` this module takes. */
const FILESYSTEM_ATTRIBUTES = new Set(["type", "accessmode", "model", "fmode", "dmode"]);

/** Child elements of `<filesystem>` this module takes. */
const FILESYSTEM_CHILDREN = new Set(["source", "target", "readonly", "driver", "alias", "address"]);

/**
 * Adds the arguments of every `<filesystem>` in `devices.extra`.
 *
 * @throws {VirtError} 67 naming what QEMU cannot be given here.
 *
 * @example
 * ```ts ignore
 * addFilesystemArguments(definition.devices, collector);
 * ```
 */
export function addFilesystemArguments(devices: DomainDevices, collector: ArgumentCollector): void {
  const filesystems = (devices.extra?.elements ?? []).map((placed) => placed.element)
    .filter((element) => element.name === "filesystem");
  filesystems.forEach((filesystem, index) => addFilesystem(filesystem, index, collector));
}

function addFilesystem(filesystem: XmlElement, index: number, collector: ArgumentCollector): void {
  const where = `/domain/devices/filesystem[${index + 1}]`;
  const attributes = filesystem.attributes ?? {};
  for (const name of Object.keys(attributes)) {
    if (!FILESYSTEM_ATTRIBUTES.has(name)) {
      throw refuseConfig(`${where}/@${name}`, `filesystem attribute '${name}' is not supported`);
    }
  }
  const children = (filesystem.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string"
  );
  for (const child of children) {
    if (!FILESYSTEM_CHILDREN.has(child.name)) {
      throw refuseConfig(
        `${where}/${child.name}`,
        `filesystem element '${child.name}' is not supported`,
      );
    }
  }
  const child = (name: string) => children.find((each) => each.name === name);
  const type = attributes.type ?? "mount";
  if (type !== "mount") {
    throw refuseConfig(`${where}/@type`, `filesystem type '${type}' is not supported`);
  }
  const driver = child("driver")?.attributes ?? {};
  for (const name of Object.keys(driver)) {
    if (name !== "type") {
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
  const securityModel = SECURITY_MODELS[attributes.accessmode ?? "passthrough"];
  if (securityModel === undefined) {
    throw refuseConfig(
      `${where}/@accessmode`,
      `filesystem accessmode '${attributes.accessmode}' is not supported`,
    );
  }
  const device = NINEP_DEVICES[attributes.model ?? "virtio"];
  if (device === undefined) {
    throw refuseConfig(
      `${where}/@model`,
      `filesystem model '${attributes.model}' is not supported`,
    );
  }
  const source = child("source")?.attributes?.dir;
  const target = child("target")?.attributes?.dir;
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
    readonly: child("readonly") === undefined ? undefined : true,
    fmode: attributes.fmode,
    dmode: attributes.dmode,
  };
  collector.push("-fsdev", qemuOption("local", fsdev));
  const address = child("address")?.attributes;
  const placement = collector.pciPlacement(
    address === undefined ? undefined : {
      type: address.type ?? "pci",
      domain: numberOf(address.domain),
      bus: numberOf(address.bus),
      slot: numberOf(address.slot),
      function: numberOf(address.function),
      multifunction: address.multifunction,
    },
    where,
  );
  collector.device(qemuOption(device, {
    id,
    fsdev: `fsdev-${id}`,
    mount_tag: target,
    bus: placement.bus,
    addr: placement.addr,
    multifunction: placement.multifunction,
  }));
}

function numberOf(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}
