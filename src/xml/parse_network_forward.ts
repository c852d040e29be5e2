/**
 * A network's `<forward>` parsed with libvirt 9.0's rules and messages
 * (virNetworkForwardDefParseXML): the mode, the `dev` and `<interface>` pool, PCI `<address>`es
 * and `<pf>` of hostdev pools, the hostdev driver, and `<nat>` address and port ranges.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { formatIp, parseIp } from "../model/ip_address.ts";
import {
  FORWARD_MODES,
  type ForwardMode,
  type ForwardNat,
  type NetworkForward,
  type PciAddress,
} from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import {
  pciAddressText,
  readPciAddress,
  readTristate,
  samePciAddress,
} from "./network_xml_values.ts";
import { rangeSize } from "./parse_network_ip.ts";
import { attributeOf, childrenNamed, firstChild, refuseUnknown } from "./storage_xml_common.ts";

/**
 * Whether `value` names a forward mode.
 *
 * @example
 * ```ts
 * import { isForwardMode } from "./parse_network_forward.ts";
 * console.log(isForwardMode("nat"), isForwardMode("none")); // true false
 * ```
 */
export function isForwardMode(value: string): value is ForwardMode {
  return (FORWARD_MODES as readonly string[]).includes(value);
}

/**
 * Parses `<forward>` of network `networkName`.
 *
 * @throws {VirtError} Codes 27, 35 and 67 with libvirt's messages.
 *
 * @example
 * ```ts
 * import { parseForward } from "./parse_network_forward.ts";
 * const forward = parseForward({ name: "forward", attributes: { mode: "route", dev: "eth1" } }, "n", "/network/forward");
 * console.log(forward.interfaces); // [ "eth1" ]
 * ```
 */
export function parseForward(
  element: XmlElement,
  networkName: string,
  where: string,
): NetworkForward {
  refuseUnknown(element, where, ["interface", "address", "pf", "nat", "driver"], [
    "mode",
    "dev",
    "managed",
  ]);
  const modeText = attributeOf(element, "mode");
  let mode: ForwardMode = "nat";
  if (modeText !== undefined) {
    if (modeText === "none" || !isForwardMode(modeText)) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown forwarding type '${modeText}'`, {
        where: `${where}/@mode`,
      });
    }
    mode = modeText;
  }
  const forward: NetworkForward = {
    mode,
    interfaces: [],
    addresses: [],
    managed: (attributeOf(element, "managed") ?? "").toLowerCase() === "yes",
  };
  const driver = firstChild(element, "driver");
  if (driver !== undefined) {
    refuseUnknown(driver, `${where}/driver`, [], ["name"]);
    const name = driver.attributes?.name;
    if (name !== undefined && name !== "kvm" && name !== "vfio") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'name' in element 'driver': '${name}'.`,
        { where: `${where}/driver/@name` },
      );
    }
    if (name !== undefined) forward.driver = name;
  }
  const interfaces = childrenNamed(element, "interface");
  const addresses = childrenNamed(element, "address");
  const pfs = childrenNamed(element, "pf");
  const nats = childrenNamed(element, "nat");
  if (nats.length > 1) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Only one <nat> element is allowed in <forward> of network ${networkName}`,
      { where: `${where}/nat[2]` },
    );
  }
  if (nats.length === 1) forward.nat = parseNat(nats[0], mode, networkName, `${where}/nat`);
  const dev = attributeOf(element, "dev");
  if (dev !== undefined && (addresses.length > 0 || pfs.length > 0)) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `the <forward> 'dev' attribute cannot be used when <address> or <pf> sub-elements are present in network ${networkName}`,
      { where: `${where}/@dev` },
    );
  }
  if (interfaces.length > 0 || dev !== undefined) {
    forward.interfaces = readInterfaces(interfaces, dev, networkName, where);
  } else if (addresses.length > 0) {
    forward.addresses = readAddresses(addresses, networkName, where);
  } else if (pfs.length > 1) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Only one <pf> element is allowed in <forward> of network ${networkName}`,
      { where: `${where}/pf[2]` },
    );
  } else if (pfs.length === 1) {
    refuseUnknown(pfs[0], `${where}/pf`, [], ["dev"]);
    const pf = attributeOf(pfs[0], "dev");
    if (pf === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Missing required dev attribute in <pf> element of network '${networkName}'`,
        { where: `${where}/pf` },
      );
    }
    forward.pf = pf;
  }
  return forward;
}

function readInterfaces(
  elements: XmlElement[],
  dev: string | undefined,
  networkName: string,
  where: string,
): string[] {
  const names: string[] = dev === undefined ? [] : [dev];
  elements.forEach((element, index) => {
    const at = `${where}/interface[${index + 1}]`;
    // `connections` is a live count, ignored on input as libvirt does.
    refuseUnknown(element, at, [], ["dev", "connections"]);
    const name = attributeOf(element, "dev");
    if (name === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Missing required dev attribute in <forward> <interface> element of network ${networkName}`,
        { where: at },
      );
    }
    if (index === 0 && dev !== undefined) {
      if (name !== dev) {
        throw new VirtError(
          ErrorCode.XML_ERROR,
          `<forward dev='${dev}'> must match first <interface dev='${name}'/> in network ${networkName}`,
          { where: at },
        );
      }
      return;
    }
    if (names.includes(name)) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `interface '${name}' can only be listed once in network ${networkName}`,
        { where: at },
      );
    }
    names.push(name);
  });
  return names;
}

function readAddresses(elements: XmlElement[], networkName: string, where: string): PciAddress[] {
  const addresses: PciAddress[] = [];
  elements.forEach((element, index) => {
    const at = `${where}/address[${index + 1}]`;
    refuseUnknown(element, at, [], ["type", "domain", "bus", "slot", "function", "multifunction"]);
    const type = attributeOf(element, "type");
    if (type === undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, `missing address type in network ${networkName}`, {
        where: at,
      });
    }
    if (type !== "pci") {
      const known = type === "none" || type === "netdev";
      throw new VirtError(
        known ? ErrorCode.XML_ERROR : ErrorCode.CONFIG_UNSUPPORTED,
        known
          ? `unsupported address type '${type}' in network ${networkName}`
          : `unknown address type '${type}' in network ${networkName}`,
        { where: `${at}/@type` },
      );
    }
    const address = readPciAddress(element, at);
    if (addresses.some((seen) => samePciAddress(seen, address))) {
      const shown = pciAddressText(address);
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `PCI device '${shown}' can only be listed once in network ${networkName}`,
        { where: at },
      );
    }
    addresses.push(address);
  });
  return addresses;
}

function parseNat(
  element: XmlElement,
  mode: ForwardMode,
  networkName: string,
  where: string,
): ForwardNat {
  const fail = (message: string, code: 27 | 35 = ErrorCode.XML_ERROR, at = where): never => {
    throw new VirtError(code, message, { where: at });
  };
  if (mode !== "nat") {
    fail(
      `The <nat> element can only be used when <forward> 'mode' is 'nat' in network ${networkName}`,
    );
  }
  refuseUnknown(element, where, ["address", "port"], ["ipv6"]);
  const nat: ForwardNat = {};
  const ipv6 = readTristate(element, "ipv6", where);
  if (ipv6 !== undefined) nat.ipv6 = ipv6;
  const addresses = childrenNamed(element, "address");
  if (addresses.length > 1) {
    fail(`Only one <address> element is allowed in <nat> in <forward> in network ${networkName}`);
  }
  if (addresses.length === 1) {
    const at = `${where}/address`;
    refuseUnknown(addresses[0], at, [], ["start", "end"]);
    const startText = attributeOf(addresses[0], "start");
    if (startText === undefined) {
      fail(
        `missing 'start' attribute in <address> element in <nat> in <forward> in network ${networkName}`,
      );
    }
    const endText = attributeOf(addresses[0], "end");
    if (endText === undefined) {
      fail(
        `missing 'end' attribute in <address> element in <nat> in <forward> in network ${networkName}`,
      );
    }
    const start = parseIp(startText as string);
    if (start?.family !== "ipv4") {
      fail(
        `Bad ipv4 start address '${startText}' in <nat> in <forward> in network '${networkName}'`,
      );
    }
    const end = parseIp(endText as string);
    if (end?.family !== "ipv4") {
      fail(`Bad ipv4 end address '${endText}' in <nat> in <forward> in network '${networkName}'`);
    }
    rangeSize(start!, end!, undefined, at);
    nat.addressStart = formatIp(start!);
    nat.addressEnd = formatIp(end!);
  }
  const ports = childrenNamed(element, "port");
  if (ports.length > 1) {
    fail(`Only one <port> element is allowed in <nat> in <forward> in network ${networkName}`);
  }
  if (ports.length === 1) {
    const at = `${where}/port`;
    refuseUnknown(ports[0], at, [], ["start", "end"]);
    const start = readPort(ports[0], "start");
    if (start === undefined) {
      fail(
        `Missing or invalid 'start' attribute in <port> in <nat> in <forward> in network ${networkName}`,
        ErrorCode.XML_DETAIL,
        at,
      );
    }
    const end = readPort(ports[0], "end");
    if (end === undefined || end < start!) {
      fail(
        `Missing or invalid 'end' attribute in <port> in <nat> in <forward> in network ${networkName}`,
        ErrorCode.XML_DETAIL,
        at,
      );
    }
    nat.portStart = start!;
    nat.portEnd = end!;
  }
  return nat;
}

function readPort(element: XmlElement, name: string): number | undefined {
  const text = attributeOf(element, name);
  if (text === undefined) return undefined;
  const value = /^\s*\+?\d+$/.test(text) ? Number(text.trim()) : NaN;
  return Number.isSafeInteger(value) && value <= 65535 ? value : undefined;
}
