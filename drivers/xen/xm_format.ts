/**
 * Domain definition → `xm` configuration (libvirt's `xenFormatXM`, format `xen-xm`).
 *
 * @module
 */

import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { XenConfWriter } from "./xen_conf.ts";
import { formatCommon, type NetworkBridges, NO_NETWORKS } from "./xen_format_common.ts";
import { formatBootOrder } from "./xen_defaults.ts";
import { elementText, extraElement } from "./xen_extra.ts";

/**
 * Writes a domain definition as an `xm` configuration file.
 *
 * @example
 * ```ts
 * import { definitionToXm } from "./xm_format.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const definition = parseDomainXml("<domain type='xen'><name>g</name><memory>524288</memory><os><type>linux</type></os></domain>");
 * definitionToXm(definition).includes("maxmem = 512"); // true
 * ```
 *
 * @param bridges Finds the bridge of an interface's virtual network.
 * @throws {VirtError} Code 67 for what an `xm` file cannot express (as libvirt refuses it); 43
 *   for an unknown network.
 */
export function definitionToXm(
  definition: DomainDefinition,
  bridges: NetworkBridges = NO_NETWORKS,
): string {
  const out = new XenConfWriter();
  formatCommon(out, definition, "xm", bridges);
  const os = definition.os;
  if (os.type === "hvm") {
    out.string("builder", "hvm");
    if (os.loader?.path !== undefined) out.string("kernel", os.loader.path);
    out.string("boot", formatBootOrder(os.boot));
  } else {
    const bootloader = extraElement(definition, "bootloader");
    if (bootloader !== undefined) out.string("bootloader", elementText(bootloader));
    const bootargs = extraElement(definition, "bootloader_args");
    if (bootargs !== undefined) out.string("bootargs", elementText(bootargs));
    if (os.kernel !== undefined) out.string("kernel", os.kernel);
    if (os.initrd !== undefined) out.string("ramdisk", os.initrd);
    if (os.cmdline !== undefined) out.string("extra", os.cmdline);
  }
  const disks = definition.devices.disks.filter((disk) => disk.device !== "floppy").map(formatDisk);
  if (disks.length > 0) out.strings("disk", disks);
  if (os.type === "hvm") {
    const input = definition.devices.inputs.find((candidate) => candidate.bus === "usb");
    if (input !== undefined) {
      out.number("usb", 1);
      if (["mouse", "tablet", "keyboard"].includes(input.type)) out.string("usbdevice", input.type);
    }
  }
  return out.text();
}

function formatDisk(disk: Disk): string {
  let text = "";
  const source = disk.source?.file ?? disk.source?.dev ?? disk.source?.dir;
  if (source !== undefined) {
    const format = disk.driver?.type;
    const driver = disk.driver?.name;
    if (format !== undefined) {
      if (driver !== undefined) {
        text += `${driver}:`;
        if (driver === "tap" || driver === "tap2") text += `${format === "raw" ? "aio" : format}:`;
      }
    } else if (disk.type === "file" || disk.type === undefined) {
      text += "file:";
    } else if (disk.type === "block") {
      text += "phy:";
    } else {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `unsupported disk type ${disk.type}`, {
        where: "disk",
      });
    }
    text += source;
  }
  text += `,${disk.target.dev}`;
  if (disk.device === "cdrom") text += ":cdrom";
  text += disk.readonly ? ",r" : disk.shareable ? ",!" : ",w";
  if (disk.transient) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "transient disks not supported yet", {
      where: "disk/transient",
    });
  }
  return text;
}
