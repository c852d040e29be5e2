/**
 * `<sysinfo>` as QEMU arguments, as libvirt gives them: with `<os><smbios mode='sysinfo'/>`, the
 * `type='smbios'` tables (`-smbios type=0` BIOS, 1 system, 2 base board, 3 chassis, 11 OEM
 * strings); always, the `type='fwcfg'` entries (`-fw_cfg name=…,string=…` or `file=…`).
 * An entry or table evirt does not know is refused by element, never dropped.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import type { XmlElement } from "../../src/model/xml_extra.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { refuseConfig } from "./config_refusal.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/** SMBIOS tables: the element, its QEMU type and the entries QEMU takes, in libvirt's order. */
const TABLES: readonly { element: string; type: number; entries: readonly string[] }[] = [
  { element: "bios", type: 0, entries: ["vendor", "version", "date", "release"] },
  {
    element: "system",
    type: 1,
    entries: ["manufacturer", "product", "version", "serial", "uuid", "sku", "family"],
  },
  {
    element: "baseBoard",
    type: 2,
    entries: ["manufacturer", "product", "version", "serial", "asset", "location"],
  },
  { element: "chassis", type: 3, entries: ["manufacturer", "version", "serial", "asset", "sku"] },
];

/** QEMU's SMBIOS type of the OEM strings table. */
const OEM_STRINGS_TYPE = 11;

/**
 * Adds the `-smbios` and `-fw_cfg` arguments of the definition's `<sysinfo>` elements.
 *
 * @throws {VirtError} 67 naming a sysinfo type, table or entry evirt does not support.
 *
 * @example
 * ```ts ignore
 * addSysinfoArguments(definition, collector);
 * ```
 */
export function addSysinfoArguments(
  definition: DomainDefinition,
  collector: ArgumentCollector,
): void {
  let position = 0;
  for (const { element } of definition.extra?.elements ?? []) {
    if (element.name !== "sysinfo") continue;
    position++;
    const where = `/domain/sysinfo[${position}]`;
    const type = element.attributes?.type;
    if (type === "smbios") {
      // libvirt uses the smbios tables only in sysinfo mode; they are kept otherwise.
      if (definition.os.smbios === "sysinfo") addSmbios(element, where, collector);
    } else if (type === "fwcfg") {
      addFwCfg(element, where, collector);
    } else {
      throw refuseConfig(`${where}/@type`, `sysinfo type '${type}' is not supported`);
    }
  }
}

function addSmbios(sysinfo: XmlElement, where: string, collector: ArgumentCollector): void {
  const children = childElements(sysinfo);
  for (const child of children) {
    if (child.name !== "oemStrings" && !TABLES.some((table) => table.element === child.name)) {
      throw refuseConfig(
        `${where}/${child.name}`,
        `sysinfo element '${child.name}' is not supported`,
      );
    }
  }
  for (const table of TABLES) {
    // libvirt passes the first table of a kind.
    const index = children.findIndex((child) => child.name === table.element);
    if (index < 0) continue;
    const values = new Map<string, string>();
    childElements(children[index]).forEach((entry, entryIndex) => {
      const name = entry.attributes?.name ?? "";
      const entryWhere = `${where}/${table.element}/entry[${entryIndex + 1}]`;
      if (entry.name !== "entry" || !table.entries.includes(name)) {
        throw refuseConfig(`${entryWhere}/@name`, `sysinfo entry '${name}' is not supported`);
      }
      values.set(name, textOf(entry));
    });
    if (values.size === 0) continue;
    const parts: Record<string, QemuOptionValue> = { type: table.type };
    for (const name of table.entries) {
      if (values.has(name)) parts[name] = values.get(name);
    }
    collector.push("-smbios", qemuOption(undefined, parts));
  }
  const oem = children.find((child) => child.name === "oemStrings");
  if (oem !== undefined) {
    const strings = childElements(oem).map(textOf);
    if (strings.length > 0) {
      // QEMU takes `value` once per string: a repeated key, which a record cannot hold.
      const values = strings.map((value) => `,value=${value.replaceAll(",", ",,")}`).join("");
      collector.push("-smbios", `type=${OEM_STRINGS_TYPE}${values}`);
    }
  }
}

function addFwCfg(sysinfo: XmlElement, where: string, collector: ArgumentCollector): void {
  childElements(sysinfo).forEach((entry, index) => {
    const entryWhere = `${where}/entry[${index + 1}]`;
    const name = entry.attributes?.name;
    if (entry.name !== "entry" || name === undefined) {
      throw refuseConfig(entryWhere, "a fwcfg sysinfo entry needs a name");
    }
    const file = entry.attributes?.file;
    if (file !== undefined) {
      collector.requirePath(file, "file", `${entryWhere}/@file`);
      collector.push("-fw_cfg", qemuOption(undefined, { name, file }));
    } else {
      collector.push("-fw_cfg", qemuOption(undefined, { name, string: textOf(entry) }));
    }
  });
}

function childElements(element: XmlElement): XmlElement[] {
  return (element.children ?? []).filter((child): child is XmlElement => typeof child !== "string");
}

function textOf(element: XmlElement): string {
  return (element.children ?? []).filter((child): child is string => typeof child === "string")
    .join("");
}
