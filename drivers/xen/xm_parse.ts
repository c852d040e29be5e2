/**
 * `xm` configuration → domain definition (libvirt's `xenParseXM`, format `xen-xm`).
 *
 * @module
 */

import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { STORAGE_FORMATS } from "../../src/model/storage_pool.ts";
import { parseXenConf, XenConf } from "./xen_conf.ts";
import { isHvm, parseCommon } from "./xen_parse_common.ts";
import { applyXenDefaults, parseBootOrder } from "./xen_defaults.ts";
import { addExtraElement, xmlElement } from "./xen_extra.ts";
import { busOf } from "./xl_parse.ts";

/** The formats an `xm` disk may name: libvirt's storage formats, and `luks`. */
const XM_DISK_FORMATS: ReadonlySet<string> = new Set([...STORAGE_FORMATS, "luks"]);

/**
 * Reads an `xm` configuration file into a domain definition.
 *
 * @example
 * ```ts
 * import { xmToDefinition } from "./xm_parse.ts";
 * xmToDefinition('name = "guest"\ndisk = [ "phy:/dev/vg/g,xvda,w" ]\n').devices.disks.length; // 1
 * ```
 *
 * @throws {VirtError} Code 33 on a syntax error; 1 or 67 for values libvirt refuses.
 */
export function xmToDefinition(text: string): DomainDefinition {
  const conf = new XenConf(parseXenConf(text));
  const definition = parseCommon(conf, "xm");
  parseOs(conf, definition);
  parseDisks(conf, definition);
  if (isHvm(definition)) {
    const device = conf.string("usbdevice");
    const types: Record<string, string> = {
      mouse: "mouse",
      tablet: "tablet",
      keyboard: "keyboard",
    };
    if (device !== undefined && types[device] !== undefined) {
      definition.devices.inputs.push({ type: types[device], bus: "usb" });
    }
  }
  applyXenDefaults(definition);
  return definition;
}

function parseOs(conf: XenConf, definition: DomainDefinition): void {
  if (isHvm(definition)) {
    definition.os.loader = { path: conf.requiredString("kernel") };
    definition.os.boot = parseBootOrder(conf.string("boot") ?? "c");
    return;
  }
  const bootloader = conf.string("bootloader");
  if (bootloader !== undefined) {
    addExtraElement(definition, xmlElement("bootloader", undefined, [bootloader]), "vcpu");
  }
  const bootargs = conf.string("bootargs");
  if (bootargs !== undefined) {
    addExtraElement(
      definition,
      xmlElement("bootloader_args", undefined, [bootargs]),
      bootloader === undefined ? "vcpu" : "bootloader",
    );
  }
  const kernel = conf.string("kernel");
  if (kernel !== undefined) definition.os.kernel = kernel;
  const ramdisk = conf.string("ramdisk");
  if (ramdisk !== undefined) definition.os.initrd = ramdisk;
  const extra = conf.string("extra");
  const root = conf.string("root");
  if (root !== undefined && extra !== undefined) definition.os.cmdline = `root=${root} ${extra}`;
  else if (root !== undefined) definition.os.cmdline = `root=${root}`;
  else if (extra !== undefined) definition.os.cmdline = extra;
}

function parseDisks(conf: XenConf, definition: DomainDefinition): void {
  const value = conf.value("disk");
  if (value === undefined) return;
  if (value.kind !== "list") {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "(null): expected a string list for 'disk' parameter",
      { where: "disk" },
    );
  }
  for (const entry of conf.stringList("disk") ?? []) {
    const disk = parseDisk(entry, definition);
    if (disk !== undefined) definition.devices.disks.push(disk);
  }
}

/** One `SOURCE,DEVICE[:cdrom],MODE` entry; undefined for entries libvirt skips. */
function parseDisk(entry: string, definition: DomainDefinition): Disk | undefined {
  const firstComma = entry.indexOf(",");
  if (firstComma === -1) return undefined;
  let source: string | undefined = firstComma === 0 ? undefined : entry.slice(0, firstComma);
  let head = entry.slice(firstComma + 1);
  if (head.startsWith("ioemu:")) head = head.slice("ioemu:".length);
  const secondComma = head.indexOf(",");
  if (secondComma === -1) return undefined;
  let dst = head.slice(0, secondComma);
  const mode = head.slice(secondComma + 1);
  let driverName: string | undefined;
  let format: string | undefined;
  if (source !== undefined) {
    const colon = source.indexOf(":");
    if (colon !== -1) {
      driverName = source.slice(0, colon);
      source = source.slice(colon + 1);
    }
    if (driverName === "tap" || driverName === "tap2") {
      const subColon = source.indexOf(":");
      if (subColon === -1) return undefined;
      const subtype = source.slice(0, subColon);
      format = subtype === "aio" ? "raw" : subtype;
      if (!XM_DISK_FORMATS.has(format)) {
        throw new VirtError(ErrorCode.INTERNAL_ERROR, `Unknown driver type ${source}`, {
          where: "disk",
        });
      }
      source = source.slice(subColon + 1);
    }
  }
  driverName ??= "phy";
  const type = driverName === "phy" ? "block" : "file";
  let device = "disk";
  const colon = dst.indexOf(":");
  if (colon !== -1) {
    if (dst.slice(colon) === ":cdrom") device = "cdrom";
    dst = dst.slice(0, colon);
  }
  const disk: Disk = {
    type,
    device,
    driver: { name: driverName, type: format ?? "raw" },
    target: { dev: dst, bus: busOf(dst, definition) },
  };
  if (source !== undefined && source !== "") {
    disk.source = type === "block" ? { dev: source, hosts: [] } : { file: source, hosts: [] };
  }
  if (mode === "r" || mode === "ro") disk.readonly = true;
  else if (mode === "w!" || mode === "!") disk.shareable = true;
  return disk;
}
