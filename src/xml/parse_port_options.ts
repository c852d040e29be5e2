/**
 * The port options a network and its portgroups share, parsed with libvirt 9.0's rules and
 * messages: `<vlan>` (virNetDevVlanParse), `<virtualport>` (virNetDevVPortProfileParse) and
 * `<bandwidth>` (virNetDevBandwidthParse).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  type Bandwidth,
  type BandwidthRate,
  VIRTUAL_PORT_TYPES,
  type VirtualPort,
  type Vlan,
  type VlanTag,
} from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { readCNumber } from "./network_xml_values.ts";
import {
  attributeOf,
  childrenNamed,
  firstChild,
  parseUuid,
  refuseUnknown,
} from "./storage_xml_common.ts";

/** Highest VLAN id. */
export const VLAN_ID_MAX = 4095;

/** Longest 802.1Qbh / Open vSwitch profile id libvirt stores, in bytes. */
export const PROFILE_ID_MAX_BYTES = 39;

/**
 * Parses `<vlan>`.
 *
 * @throws {VirtError} Code 27 with libvirt's message.
 *
 * @example
 * ```ts
 * import { parseVlan } from "./parse_port_options.ts";
 * const vlan = parseVlan({ name: "vlan", children: [{ name: "tag", attributes: { id: "42" } }] }, "/network/vlan");
 * console.log(vlan); // { trunk: false, tags: [ { id: 42 } ] }
 * ```
 */
export function parseVlan(element: XmlElement, where: string): Vlan {
  refuseUnknown(element, where, ["tag"], ["trunk"]);
  const tagElements = childrenNamed(element, "tag");
  if (tagElements.length === 0) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      "missing tag id - each <vlan> must have at least one <tag id='n'/> subelement",
      { where },
    );
  }
  let native = false;
  const tags: VlanTag[] = tagElements.map((tag, index) => {
    const at = `${where}/tag[${index + 1}]`;
    refuseUnknown(tag, at, [], ["id", "nativeMode"]);
    const text = tag.attributes?.id;
    if (text === undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, "Missing required attribute 'id' in element 'tag'", {
        where: at,
      });
    }
    const id = /^\s*\+?\d+\s*$/.test(text) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(id) || id > 2 ** 32 - 1) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'id' in element 'tag': '${text}'. Expected non-negative integer value`,
        { where: `${at}/@id` },
      );
    }
    if (id > VLAN_ID_MAX) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `vlan tag id ${id} too large (maximum ${VLAN_ID_MAX})`,
        { where: `${at}/@id` },
      );
    }
    const mode = tag.attributes?.nativeMode;
    if (mode === undefined) return { id };
    if (mode !== "tagged" && mode !== "untagged") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'nativeMode' in element 'tag': '${mode}'.`,
        { where: `${at}/@nativeMode` },
      );
    }
    if (native) {
      throw new VirtError(ErrorCode.XML_ERROR, "duplicate native vlan setting", { where: at });
    }
    native = true;
    return { id, nativeMode: mode };
  });
  let trunk = tags.length > 1;
  const trunkText = attributeOf(element, "trunk");
  if (trunkText !== undefined) {
    trunk = trunkText.toLowerCase() === "yes";
    const fail = (message: string): never => {
      throw new VirtError(ErrorCode.XML_ERROR, message, { where: `${where}/@trunk` });
    };
    if (!trunk && tags.length > 1) {
      fail(
        `invalid "trunk='${trunkText}'" in <vlan> - trunk='yes' is required for more than one vlan tag`,
      );
    }
    if (!trunk && native) {
      fail(`invalid configuration in <vlan> - "trunk='no'" is not allowed with a native vlan id`);
    }
    if (!trunk && trunkText.toLowerCase() !== "no") {
      fail(`invalid "trunk='${trunkText}'" in <vlan> - must be yes or no`);
    }
  }
  return { trunk, tags };
}
/** Which `<parameters>` each virtual port type takes (virNetDevVPortProfileCheckNoExtras). */
const VIRTUAL_PORT_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  "802.1Qbg": ["managerid", "typeid", "typeidversion", "instanceid"],
  "802.1Qbh": ["profileid"],
  openvswitch: ["interfaceid", "profileid"],
  midonet: ["interfaceid"],
};

/**
 * Parses `<virtualport>`.
 *
 * @param requireType Whether a type is required (the network's own, not a portgroup's).
 * @throws {VirtError} Code 67 or 27 with libvirt's message.
 *
 * @example
 * ```ts
 * import { parseVirtualPort } from "./parse_port_options.ts";
 * const port = parseVirtualPort({
 *   name: "virtualport",
 *   attributes: { type: "802.1Qbh" },
 *   children: [{ name: "parameters", attributes: { profileid: "p1" } }],
 * }, "/network/virtualport", true);
 * console.log(port); // { type: "802.1Qbh", profileId: "p1" }
 * ```
 */
export function parseVirtualPort(
  element: XmlElement,
  where: string,
  requireType: boolean,
): VirtualPort {
  refuseUnknown(element, where, ["parameters"], ["type"]);
  const port: VirtualPort = {};
  const typeText = element.attributes?.type;
  if (typeText !== undefined) {
    const type = VIRTUAL_PORT_TYPES.find((known) => known === typeText);
    if (type === undefined) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown virtualport type ${typeText}`, {
        where: `${where}/@type`,
      });
    }
    port.type = type;
  } else if (requireType) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing required virtualport type", { where });
  }
  const parameters = firstChild(element, "parameters");
  if (parameters === undefined) return port;
  const at = `${where}/parameters`;
  refuseUnknown(parameters, at, [], [
    "managerid",
    "typeid",
    "typeidversion",
    "instanceid",
    "interfaceid",
    "profileid",
  ]);
  const managerId = readPortNumber(
    parameters,
    "managerid",
    0xff,
    "value of managerid out of range",
    at,
  );
  if (managerId !== undefined) port.managerId = managerId;
  const typeId = readPortNumber(
    parameters,
    "typeid",
    0xffffff,
    "value for typeid out of range",
    at,
  );
  if (typeId !== undefined) port.typeId = typeId;
  const version = readPortNumber(
    parameters,
    "typeidversion",
    0xff,
    "value of typeidversion out of range",
    at,
  );
  if (version !== undefined) port.typeIdVersion = version;
  const instanceId = attributeOf(parameters, "instanceid");
  if (instanceId !== undefined) {
    port.instanceId = readPortUuid(instanceId, "instanceid", at);
  }
  const profileId = attributeOf(parameters, "profileid");
  if (profileId !== undefined) {
    if (new TextEncoder().encode(profileId).length > PROFILE_ID_MAX_BYTES) {
      throw new VirtError(ErrorCode.XML_ERROR, "profileid parameter too long", {
        where: `${at}/@profileid`,
      });
    }
    port.profileId = profileId;
  }
  const interfaceId = attributeOf(parameters, "interfaceid");
  if (interfaceId !== undefined) {
    port.interfaceId = readPortUuid(interfaceId, "interfaceid", at);
  }
  refuseExtraParameters(port, parameters, at);
  return port;
}

function readPortNumber(
  parameters: XmlElement,
  name: string,
  max: number,
  rangeMessage: string,
  where: string,
): number | undefined {
  const text = attributeOf(parameters, name);
  if (text === undefined) return undefined;
  const value = readCNumber(text);
  if (!Number.isSafeInteger(value) || value > 2 ** 32 - 1) {
    throw new VirtError(ErrorCode.XML_ERROR, `cannot parse value of ${name} parameter`, {
      where: `${where}/@${name}`,
    });
  }
  if (value > max) {
    throw new VirtError(ErrorCode.XML_ERROR, rangeMessage, { where: `${where}/@${name}` });
  }
  return value;
}

function readPortUuid(text: string, name: string, where: string): string {
  try {
    return parseUuid(text, `${where}/@${name}`);
  } catch (error) {
    if (!(error instanceof VirtError)) throw error;
    throw new VirtError(ErrorCode.XML_ERROR, `cannot parse ${name} parameter as a uuid`, {
      where: `${where}/@${name}`,
    });
  }
}

function refuseExtraParameters(port: VirtualPort, parameters: XmlElement, where: string): void {
  if (port.type === undefined) return;
  const allowed = VIRTUAL_PORT_PARAMETERS[port.type];
  for (const name of Object.keys(parameters.attributes ?? {})) {
    if (allowed.includes(name) || attributeOf(parameters, name) === undefined) continue;
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `extra ${name} unsupported in <virtualport type='${port.type}'>`,
      { where: `${where}/@${name}` },
    );
  }
}

/**
 * Parses `<bandwidth>`; an element with neither direction is no bandwidth.
 *
 * @param allowFloor Whether `floor` may be set (network ports only, not networks).
 * @throws {VirtError} Codes 27, 35 and 67 with libvirt's messages.
 *
 * @example
 * ```ts
 * import { parseBandwidth } from "./parse_port_options.ts";
 * const bandwidth = parseBandwidth({
 *   name: "bandwidth",
 *   children: [{ name: "inbound", attributes: { average: "1000" } }],
 * }, "/network/bandwidth", false);
 * console.log(bandwidth); // { inbound: { average: 1000 } }
 * ```
 */
export function parseBandwidth(
  element: XmlElement,
  where: string,
  allowFloor: boolean,
): Bandwidth | undefined {
  refuseUnknown(element, where, ["inbound", "outbound"]);
  const bandwidth: Bandwidth = {};
  for (const direction of ["inbound", "outbound"] as const) {
    const elements = childrenNamed(element, direction);
    if (elements.length > 1) {
      throw new VirtError(
        ErrorCode.XML_DETAIL,
        `Only one child <${direction}> element allowed`,
        { where: `${where}/${direction}[2]` },
      );
    }
    if (elements.length === 0) continue;
    const at = `${where}/${direction}`;
    const rate = parseRate(elements[0], at);
    if (rate.floor !== undefined && direction === "outbound") {
      throw new VirtError(
        ErrorCode.XML_DETAIL,
        "'floor' attribute allowed only in <inbound> element",
        {
          where: `${at}/@floor`,
        },
      );
    }
    if (rate.floor !== undefined && !allowFloor) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        "floor attribute is not supported for this config",
        { where: `${at}/@floor` },
      );
    }
    bandwidth[direction] = rate;
  }
  return bandwidth.inbound === undefined && bandwidth.outbound === undefined
    ? undefined
    : bandwidth;
}

function parseRate(element: XmlElement, where: string): BandwidthRate {
  refuseUnknown(element, where, [], ["average", "peak", "burst", "floor"]);
  const attributes = element.attributes ?? {};
  if (attributes.average === undefined && attributes.floor === undefined) {
    throw new VirtError(ErrorCode.XML_DETAIL, "Missing mandatory average or floor attributes", {
      where,
    });
  }
  if (
    (attributes.peak !== undefined || attributes.burst !== undefined) &&
    attributes.average === undefined
  ) {
    throw new VirtError(ErrorCode.XML_DETAIL, "'peak' and 'burst' require 'average' attribute", {
      where,
    });
  }
  const rate: BandwidthRate = {};
  for (const name of ["average", "peak", "floor", "burst"] as const) {
    const text = attributes[name];
    if (text === undefined) continue;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `could not convert bandwidth ${name} value '${text}'`,
        { where: `${where}/@${name}` },
      );
    }
    // libvirt keeps zero as "not set" and never writes it back.
    if (value > 0) rate[name] = value;
  }
  return rate;
}
