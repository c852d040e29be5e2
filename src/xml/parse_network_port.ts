/**
 * `<networkport>` XML parsed with libvirt 9.0's rules and messages (virNetworkPortDefParseXML):
 * the port's uuid, owner, group, MAC, bandwidth, VLAN, isolation, rx filter trust and plug.
 * `<virtualport>` and the `direct` and `hostdev-pci` plugs (a device pool evirt does not run)
 * are refused with code 67 naming where they are.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { formatMac, parseMac } from "../model/mac_address.ts";
import type { NetworkPort, NetworkPortPlug } from "../model/network_port.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { readTristate } from "./network_xml_values.ts";
import { parseBandwidth, parseVlan } from "./parse_port_options.ts";
import { attributeOf, childText, firstChild, parseUuid } from "./storage_xml_common.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

const ROOT = "/networkport";

/**
 * Parses a `<networkport>` document.
 *
 * @throws {VirtError} libvirt's code and message for the first problem, with where it is.
 *
 * @example
 * ```ts
 * import { parseNetworkPortXml } from "./parse_network_port.ts";
 * const port = parseNetworkPortXml(
 *   "<networkport><uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid>" +
 *     "<owner><name>g</name><uuid>11111111-2222-3333-4444-555555555555</uuid></owner>" +
 *     "<mac address='52:54:00:AA:00:01'/></networkport>",
 * );
 * console.log(port.mac); // "52:54:00:aa:00:01"
 * ```
 */
export function parseNetworkPortXml(text: string, options: XmlReadOptions = {}): NetworkPort {
  return parseNetworkPortElement(readXml(text, options));
}

/** Parses a `<networkport>` element (see {@linkcode parseNetworkPortXml}). */
export function parseNetworkPortElement(root: XmlElement): NetworkPort {
  if (root.name !== "networkport") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `expecting root element of 'networkport', not '${root.name}'`,
      { where: `/${root.name}` },
    );
  }
  const uuid = requiredUuid(childText(root, "uuid"), "network port has no uuid", `${ROOT}/uuid`);
  const owner = firstChild(root, "owner");
  const ownerName = childText(owner, "name");
  if (!ownerName) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "network port has no owner name", {
      where: `${ROOT}/owner/name`,
    });
  }
  const ownerUuid = requiredUuid(
    childText(owner, "uuid"),
    "network port has no owner UUID",
    `${ROOT}/owner/uuid`,
  );
  const port: NetworkPort = { uuid, ownerName, ownerUuid, mac: "" };
  const group = childText(root, "group");
  if (group) port.group = group;
  if (firstChild(root, "virtualport") !== undefined) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "network port <virtualport> is not supported by evirt",
      { where: `${ROOT}/virtualport` },
    );
  }
  port.mac = readMac(attributeOf(firstChild(root, "mac"), "address"));
  const bandwidth = firstChild(root, "bandwidth");
  if (bandwidth !== undefined) {
    const parsed = parseBandwidth(bandwidth, `${ROOT}/bandwidth`, true);
    if (parsed !== undefined) port.bandwidth = parsed;
  }
  const vlan = firstChild(root, "vlan");
  if (vlan !== undefined) port.vlan = parseVlan(vlan, `${ROOT}/vlan`);
  const isolated = readTristate(firstChild(root, "port"), "isolated", `${ROOT}/port`);
  if (isolated !== undefined) port.isolatedPort = isolated;
  const trust = readTristate(firstChild(root, "rxfilters"), "trustGuest", `${ROOT}/rxfilters`);
  if (trust !== undefined) port.trustGuestRxFilters = trust;
  const plug = firstChild(root, "plug");
  if (plug !== undefined) {
    const parsed = parsePlug(plug);
    if (parsed !== undefined) port.plug = parsed;
  }
  return port;
}

function requiredUuid(text: string | undefined, missing: string, where: string): string {
  if (!text) throw new VirtError(ErrorCode.INTERNAL_ERROR, missing, { where });
  try {
    return parseUuid(text, where);
  } catch {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `Unable to parse UUID '${text}'`, { where });
  }
}

function readMac(text: string | undefined): string {
  const where = `${ROOT}/mac/@address`;
  if (!text) throw new VirtError(ErrorCode.INTERNAL_ERROR, "network port has no mac", { where });
  const bytes = parseMac(text);
  if (bytes === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `Unable to parse MAC '${text}'`, { where });
  }
  return formatMac(bytes);
}

const MAC_TABLE_MANAGERS = ["kernel", "libvirt"] as const;

function parsePlug(element: XmlElement): NetworkPortPlug | undefined {
  const where = `${ROOT}/plug`;
  const type = attributeOf(element, "type");
  if (type === undefined || type === "none") return undefined;
  if (type !== "network" && type !== "bridge") {
    if (type === "direct" || type === "hostdev-pci") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `network port plug type '${type}' needs a device pool, which evirt does not run`,
        { where: `${where}/@type` },
      );
    }
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'type' in element 'plug': '${type}'.`,
      { where: `${where}/@type` },
    );
  }
  const bridge = attributeOf(element, "bridge");
  if (bridge === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "Missing network port bridge name", {
      where: `${where}/@bridge`,
    });
  }
  const plug: NetworkPortPlug = { type, bridge };
  const manager = attributeOf(element, "macTableManager");
  if (manager !== undefined) {
    const known = MAC_TABLE_MANAGERS.find((name) => name === manager);
    if (known === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid macTableManager setting '${manager}' in network port`,
        { where: `${where}/@macTableManager` },
      );
    }
    plug.macTableManager = known;
  }
  return plug;
}
