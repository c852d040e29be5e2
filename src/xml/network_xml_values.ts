/**
 * Attribute readers shared by the network XML parsers: libvirt's yes/no tristates, unsigned
 * numbers, addresses, MACs and PCI addresses, each failing with libvirt's code and message
 * and the attribute's path.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { formatIp, type IpAddress, parseIp } from "../model/ip_address.ts";
import type { PciAddress, YesNo } from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";

/**
 * A yes/no attribute (virXMLPropTristateBool); absent is undefined.
 *
 * @throws {VirtError} Code 27 for any other value.
 *
 * @example
 * ```ts
 * import { readTristate } from "./network_xml_values.ts";
 * console.log(readTristate({ name: "dns", attributes: { enable: "no" } }, "enable", "/network/dns")); // "no"
 * ```
 */
export function readTristate(
  element: XmlElement | undefined,
  name: string,
  where: string,
): YesNo | undefined {
  const text = element?.attributes?.[name];
  if (text === undefined) return undefined;
  if (text === "yes" || text === "no") return text;
  throw new VirtError(
    ErrorCode.XML_ERROR,
    `Invalid value for attribute '${name}' in element '${element?.name}': '${text}'.`,
    { where: `${where}/@${name}` },
  );
}

/**
 * An unsigned decimal attribute (virXMLPropUInt and friends, 32 bits unless `max` says more).
 *
 * @throws {VirtError} Code 27 for a malformed or out-of-range value.
 */
export function readUnsigned(
  element: XmlElement | undefined,
  name: string,
  where: string,
  max = 2 ** 32 - 1,
): number | undefined {
  const text = element?.attributes?.[name];
  if (text === undefined) return undefined;
  const value = /^\s*\+?\d+\s*$/.test(text) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value > max) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute '${name}' in element '${element?.name}': '${text}'. Expected non-negative integer value`,
      { where: `${where}/@${name}` },
    );
  }
  return value;
}

/**
 * Parses a numeric address as libvirt's virSocketAddrParse does.
 *
 * @throws {VirtError} Code 38 `Cannot parse socket address …`, as libvirt reports it.
 */
export function readAddress(text: string, where: string): IpAddress {
  const address = parseIp(text);
  if (address === undefined) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `Cannot parse socket address '${text}': Name or service not known`,
      { where },
    );
  }
  return address;
}

/** An address parsed and written back in libvirt's form. */
export function canonicalAddress(text: string, where: string): string {
  return formatIp(readAddress(text, where));
}

/** libvirt 9.0's limits on PCI address parts and how its messages show them (no domain limit). */
const PCI_LIMITS: readonly [keyof PciAddress, number, (value: number) => string][] = [
  ["bus", 0xff, (value) => `bus='0x${value.toString(16)}', must be <= 0xFF`],
  ["slot", 0x1f, (value) => `slot='0x${value.toString(16)}', must be <= 0x1F`],
  ["function", 7, (value) => `function=0x${value.toString(16)}, must be <= 7`],
];

const PCI_PARTS: readonly (keyof PciAddress)[] = ["domain", "bus", "slot", "function"];

/**
 * A number as C's `strtoul(text, …, 0)` reads it: `0x` hex, `0` octal, else decimal.
 *
 * @returns The value, or NaN when the text is not such a number.
 *
 * @example
 * ```ts
 * import { readCNumber } from "./network_xml_values.ts";
 * console.log(readCNumber("0x1f"), readCNumber("010"), readCNumber("9")); // 31 8 9
 * ```
 */
export function readCNumber(text: string): number {
  const trimmed = text.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(trimmed)) return parseInt(trimmed.slice(2), 16);
  if (/^0[0-7]*$/.test(trimmed)) return parseInt(trimmed, 8);
  if (/^\+?[1-9]\d*$/.test(trimmed)) return Number(trimmed);
  return NaN;
}

/**
 * A PCI address as libvirt prints it in messages: `dddd:bb:ss.f`.
 *
 * @example
 * ```ts
 * import { pciAddressText } from "./network_xml_values.ts";
 * console.log(pciAddressText({ domain: 0, bus: 3, slot: 0, function: 1 })); // "0000:03:00.1"
 * ```
 */
export function pciAddressText(address: PciAddress): string {
  const hex = (value: number, digits: number) => value.toString(16).padStart(digits, "0");
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}.${
    address.function.toString(16)
  }`;
}

/**
 * A `<address type='pci' domain bus slot function>` (virPCIDeviceAddressParseXML and
 * virPCIDeviceAddressIsValid).
 *
 * @throws {VirtError} Code 27 for a part that does not parse or one out of range, as libvirt.
 */
export function readPciAddress(element: XmlElement, where: string): PciAddress {
  const address: PciAddress = { domain: 0, bus: 0, slot: 0, function: 0 };
  for (const part of PCI_PARTS) {
    const text = element.attributes?.[part];
    if (text === undefined) continue;
    const value = readCNumber(text);
    if (!Number.isSafeInteger(value) || value > 2 ** 32 - 1) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute '${part}' in element '${element.name}': '${text}'. Expected non-negative integer value`,
        { where: `${where}/@${part}` },
      );
    }
    address[part] = value;
  }
  // libvirt checks an address only when its domain, bus or slot is set.
  if (address.domain === 0 && address.bus === 0 && address.slot === 0) return address;
  for (const [part, max, describe] of PCI_LIMITS) {
    if (address[part] > max) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid PCI address ${describe(address[part])}`,
        { where: `${where}/@${part}` },
      );
    }
  }
  return address;
}

/** Two PCI addresses are the same device. */
export function samePciAddress(first: PciAddress, second: PciAddress): boolean {
  return first.domain === second.domain && first.bus === second.bus &&
    first.slot === second.slot && first.function === second.function;
}
