/**
 * `virNetworkUpdate` on a definition: one command (modify, delete, add-last, add-first) on one
 * section (DHCP hosts and ranges, DNS hosts, TXT and SRV records, forward interfaces,
 * portgroups) with one XML element, with libvirt 9.0's matching rules, codes and messages
 * (virNetworkDefUpdateSection and its helpers). The definition given is never changed: the
 * result is a new one, checked by a format/parse round trip as libvirt checks its copy.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { effectivePrefix, parseIp, sameIp } from "../model/ip_address.ts";
import { parseMac } from "../model/mac_address.ts";
import type { DhcpHost, NetworkDefinition, NetworkIp } from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { formatNetworkXml } from "./format_network.ts";
import { parseNetworkXml, parsePortGroup } from "./parse_network.ts";
import { parseDnsHost, parseSrv, parseTxt } from "./parse_network_dns.ts";
import { parseHost, parseRange } from "./parse_network_ip.ts";
import { attributeOf } from "./storage_xml_common.ts";
import { readXml } from "./xml_reader.ts";
import {
  NETWORK_UPDATE_COMMANDS,
  NETWORK_UPDATE_SECTIONS,
  type NetworkUpdate,
} from "../model/network_update.ts";

/** Largest XML element an update takes, in bytes (the network XML's limit). */
export const NETWORK_UPDATE_XML_MAX_BYTES = 1024 * 1024;

/**
 * The definition after `update`.
 *
 * @param definition The definition updated (not changed).
 * @param update The command, section, parent index and element.
 * @returns A new definition.
 * @throws {VirtError} libvirt's: code 84 for a section or command it cannot update, 27/35 for a
 *   bad element, 55 for an entry that is missing (delete, modify) or already there (add).
 *
 * @example
 * ```ts ignore
 * const next = applyNetworkUpdate(definition, {
 *   command: 3, section: 4, parentIndex: -1,
 *   xml: "<host mac='52:54:00:00:00:02' ip='192.168.122.2'/>",
 * });
 * ```
 */
export function applyNetworkUpdate(
  definition: NetworkDefinition,
  update: NetworkUpdate,
): NetworkDefinition {
  const element = readXml(update.xml, { maxBytes: NETWORK_UPDATE_XML_MAX_BYTES });
  const next = structuredClone(definition);
  const editor = SECTION_EDITORS[update.section];
  if (editor === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      "can't update unrecognized section of network",
    );
  }
  editor(next, update.command, update.parentIndex, element);
  // As libvirt's copy of the result: what cannot be written and read back is refused.
  return parseNetworkXml(formatNetworkXml(next, { inactive: false }), {
    maxBytes: 16 * NETWORK_UPDATE_XML_MAX_BYTES,
  });
}

type SectionEditor = (
  definition: NetworkDefinition,
  command: number,
  parentIndex: number,
  element: XmlElement,
) => void;

const COMMAND = NETWORK_UPDATE_COMMANDS;

function unsupported(section: string): SectionEditor {
  return (definition) => {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `can't update '${section}' section of network '${definition.name}'`,
    );
  };
}

function unknownCommand(command: number): never {
  throw new VirtError(
    ErrorCode.OPERATION_UNSUPPORTED,
    `unrecognized network update command code ${command}`,
  );
}

function checkElementName(definition: NetworkDefinition, element: XmlElement, name: string): void {
  if (element.name !== name) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `unexpected element <${element.name}>, expecting <${name}>, while updating network '${definition.name}'`,
      { where: `/${element.name}` },
    );
  }
}

function invalid(message: string): never {
  throw new VirtError(ErrorCode.OPERATION_INVALID, message);
}

function isAdd(command: number): boolean {
  return command === COMMAND["add-first"] || command === COMMAND["add-last"];
}

/** Inserts `item` first or last, as the add command says. */
function insert<T>(list: T[], item: T, command: number): void {
  if (command === COMMAND["add-first"]) list.unshift(item);
  else list.push(item);
}

/**
 * An add (refused when `matches` is not empty) or a delete (of the one entry `matches` names;
 * refused for none, and for several when `several` is given) on `list`.
 */
function addOrDelete<T>(
  list: T[],
  item: T,
  command: number,
  matches: readonly number[],
  messages: { exists: string; missing: string; several?: string },
): void {
  if (isAdd(command)) {
    if (matches.length > 0) invalid(messages.exists);
    insert(list, item, command);
  } else if (command === COMMAND.delete) {
    if (matches.length === 0) invalid(messages.missing);
    if (matches.length > 1 && messages.several !== undefined) invalid(messages.several);
    list.splice(matches[0], 1);
  } else {
    unknownCommand(command);
  }
}

/** The refusal of `modify` for a section whose entries can only be added or deleted. */
function refuseModify(command: number, entries: string): void {
  if (command === COMMAND.modify) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `${entries} cannot be modified, only added or deleted`,
    );
  }
}

/** The indexes of the entries of `list` that `matches` accepts. */
function indexesOf<T>(list: readonly T[], matches: (entry: T) => boolean): number[] {
  return list.flatMap((entry, index) => matches(entry) ? [index] : []);
}

/** The `<ip>` whose DHCP an update works on (virNetworkIPDefByIndex). */
function ipByIndex(definition: NetworkDefinition, parentIndex: number): NetworkIp {
  if (parentIndex >= 0) {
    const ip = definition.ips[parentIndex];
    if (ip === undefined) {
      invalid(
        `couldn't update dhcp host entry - no <ip> element found at index ${parentIndex} in network '${definition.name}'`,
      );
    }
    return ip;
  }
  const withDhcp = definition.ips.find((ip) =>
    (ip.dhcp?.ranges.length ?? 0) > 0 || (ip.dhcp?.hosts.length ?? 0) > 0
  );
  const family = (ip: NetworkIp) => parseIp(ip.address)?.family;
  const chosen = withDhcp ?? definition.ips.find((ip) => family(ip) === "ipv4") ??
    definition.ips.find((ip) => family(ip) === "ipv6");
  if (chosen === undefined) {
    invalid(
      `couldn't update dhcp host entry - no <ip> element found in network '${definition.name}'`,
    );
  }
  return chosen;
}

function dhcpOf(ip: NetworkIp) {
  ip.dhcp ??= { ranges: [], hosts: [] };
  return ip.dhcp;
}

function sameMac(first: string | undefined, second: string | undefined): boolean {
  if (first === undefined || second === undefined) return false;
  const a = parseMac(first);
  const b = parseMac(second);
  return a !== undefined && b !== undefined && a.every((byte, index) => byte === b[index]);
}

function sameAddress(first: string | undefined, second: string | undefined): boolean {
  const a = first === undefined || first === "" ? undefined : parseIp(first);
  const b = second === undefined || second === "" ? undefined : parseIp(second);
  return a !== undefined && b !== undefined && sameIp(a, b);
}

/** How libvirt prints a host in its messages: `(null)` for what is absent. */
function nullable(value: string | undefined): string {
  return value ?? "(null)";
}

const updateDhcpHost: SectionEditor = (definition, command, parentIndex, element) => {
  checkElementName(definition, element, "host");
  const ip = ipByIndex(definition, parentIndex);
  const address = parseIp(ip.address);
  if (address === undefined) throw new Error(`network ${definition.name} has a bad <ip>`);
  const hosts = dhcpOf(ip).hosts;
  const where = "/host";
  if (command === COMMAND.modify) {
    const host = parseHost(element, address, definition.name, where);
    const index = hosts.findIndex((each) =>
      sameMac(host.mac, each.mac) || sameAddress(host.ip, each.ip) ||
      (host.name !== undefined && host.name === each.name)
    );
    if (index < 0) {
      invalid(
        `couldn't locate an existing dhcp host entry with "mac='${host.mac ?? "unknown"}'" "name='${
          nullable(host.name)
        }'" "ip='${host.ip ?? "unknown"}'" in network '${definition.name}'`,
      );
    }
    hosts[index] = host;
  } else if (isAdd(command)) {
    const host = parseHost(element, address, definition.name, where);
    if (
      hosts.some((each) =>
        sameMac(host.mac, each.mac) || (host.name !== undefined && host.name === each.name) ||
        sameAddress(host.ip, each.ip)
      )
    ) {
      invalid(
        `there is an existing dhcp host entry in network '${definition.name}' that matches "<host mac='${
          host.mac ?? "unknown"
        }' name='${nullable(host.name)}' ip='${host.ip ?? "unknown"}'/>"`,
      );
    }
    insert(hosts, host, command);
  } else if (command === COMMAND.delete) {
    const pattern = parseHost(element, address, definition.name, where, true);
    const index = hosts.findIndex((each) => hostMatches(pattern, each));
    if (index < 0) {
      invalid(`couldn't locate a matching dhcp host entry in network '${definition.name}'`);
    }
    hosts.splice(index, 1);
  } else {
    unknownCommand(command);
  }
};

/** A delete pattern: every attribute given must match (a MAC where the entry has one). */
function hostMatches(pattern: DhcpHost, host: DhcpHost): boolean {
  return (pattern.mac === undefined || host.mac === undefined || sameMac(pattern.mac, host.mac)) &&
    (pattern.name === undefined || pattern.name === host.name) &&
    (pattern.ip === undefined || sameAddress(pattern.ip, host.ip));
}

const updateDhcpRange: SectionEditor = (definition, command, parentIndex, element) => {
  checkElementName(definition, element, "range");
  const ip = ipByIndex(definition, parentIndex);
  refuseModify(command, "dhcp ranges");
  const address = parseIp(ip.address);
  if (address === undefined) throw new Error(`network ${definition.name} has a bad <ip>`);
  const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
  const prefix = effectivePrefix(address, netmask, ip.prefix);
  const range = parseRange(element, address, prefix, definition.name, "/range");
  const ranges = dhcpOf(ip).ranges;
  const matches = indexesOf(
    ranges,
    (each) => sameAddress(each.start, range.start) && sameAddress(each.end, range.end),
  );
  addOrDelete(ranges, range, command, matches.slice(0, 1), {
    exists:
      `there is an existing dhcp range entry in network '${definition.name}' that matches "<range start='${range.start}' end='${range.end}'/>"`,
    missing: `couldn't locate a matching dhcp range entry in network '${definition.name}'`,
  });
};

const updateForwardInterface: SectionEditor = (definition, command, _parentIndex, element) => {
  checkElementName(definition, element, "interface");
  refuseModify(command, "forward interface entries");
  const dev = attributeOf(element, "dev");
  if (dev === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing dev attribute in <interface> element", {
      where: "/interface/@dev",
    });
  }
  // An isolated network has no <forward> to keep interfaces in: libvirt accepts the add and
  // its format/parse check drops it, so it is accepted here with no effect too.
  const interfaces = definition.forward?.interfaces ?? [];
  addOrDelete(interfaces, dev, command, indexesOf(interfaces, (each) => each === dev), {
    exists:
      `there is an existing interface entry in network '${definition.name}' that matches "<interface dev='${dev}'>"`,
    missing:
      `couldn't find an interface entry in network '${definition.name}' matching <interface dev='${dev}'>`,
  });
};

const updatePortGroup: SectionEditor = (definition, command, _parentIndex, element) => {
  checkElementName(definition, element, "portgroup");
  const group = parsePortGroup(element, "/portgroup");
  const groups = definition.portGroups;
  const index = groups.findIndex((each) => each.name === group.name);
  const defaultIndex = groups.findIndex((each) => each.isDefault);
  if (index < 0 && (command === COMMAND.modify || command === COMMAND.delete)) {
    invalid(
      `couldn't find a portgroup entry in network '${definition.name}' matching <portgroup name='${group.name}'>`,
    );
  }
  if (index >= 0 && isAdd(command)) {
    invalid(
      `there is an existing portgroup entry in network '${definition.name}' that matches "<portgroup name='${group.name}'>"`,
    );
  }
  if (
    command !== COMMAND.delete && group.isDefault && defaultIndex >= 0 && defaultIndex !== index
  ) {
    invalid(
      `a different portgroup entry in network '${definition.name}' is already set as the default. Only one default is allowed.`,
    );
  }
  if (command === COMMAND.modify) groups[index] = group;
  else if (isAdd(command)) insert(groups, group, command);
  else if (command === COMMAND.delete) groups.splice(index, 1);
  else unknownCommand(command);
};

const updateDnsHost: SectionEditor = (definition, command, _parentIndex, element) => {
  refuseModify(command, "DNS HOST records");
  checkElementName(definition, element, "host");
  const adding = isAdd(command);
  const host = parseDnsHost(element, definition.name, "/host", !adding);
  // Adding checks the address only: several addresses may carry one name.
  const matches = indexesOf(definition.dns.hosts, (each) =>
    sameAddress(host.ip, each.ip) ||
    (!adding && host.hostnames.some((name) => each.hostnames.includes(name))));
  const network = definition.name;
  addOrDelete(definition.dns.hosts, host, command, matches, {
    exists:
      `there is already at least one DNS HOST record with a matching field in network ${network}`,
    missing: `couldn't locate a matching DNS HOST record in network ${network}`,
    several: `multiple matching DNS HOST records were found in network ${network}`,
  });
};

const updateDnsSrv: SectionEditor = (definition, command, _parentIndex, element) => {
  refuseModify(command, "DNS SRV records");
  checkElementName(definition, element, "srv");
  const srv = parseSrv(element, definition.name, "/srv", !isAdd(command));
  const given = (value: string | undefined) => value !== undefined && value !== "";
  const matches = indexesOf(
    definition.dns.srvs,
    (each) =>
      (!given(srv.domain) || srv.domain === each.domain) &&
      (!given(srv.service) || srv.service === each.service) &&
      (!given(srv.protocol) || srv.protocol === each.protocol) &&
      (!given(srv.target) || srv.target === each.target),
  );
  const network = definition.name;
  addOrDelete(definition.dns.srvs, srv, command, matches, {
    exists:
      `there is already at least one DNS SRV record matching all specified fields in network ${network}`,
    missing: `couldn't locate a matching DNS SRV record in network ${network}`,
    several:
      `multiple DNS SRV records matching all specified fields were found in network ${network}`,
  });
};

const updateDnsTxt: SectionEditor = (definition, command, _parentIndex, element) => {
  refuseModify(command, "DNS TXT records");
  checkElementName(definition, element, "txt");
  const txt = parseTxt(element, definition.name, "/txt", !isAdd(command));
  const matches = indexesOf(definition.dns.txts, (each) => each.name === txt.name);
  addOrDelete(definition.dns.txts, txt, command, matches, {
    exists:
      `there is already a DNS TXT record with name '${txt.name}' in network ${definition.name}`,
    missing: `couldn't locate a matching DNS TXT record in network ${definition.name}`,
  });
};

const SECTION_EDITORS: Readonly<Record<number, SectionEditor>> = {
  [NETWORK_UPDATE_SECTIONS.bridge]: unsupported("bridge"),
  [NETWORK_UPDATE_SECTIONS.domain]: unsupported("domain"),
  [NETWORK_UPDATE_SECTIONS.ip]: unsupported("ip"),
  [NETWORK_UPDATE_SECTIONS["ip-dhcp-host"]]: updateDhcpHost,
  [NETWORK_UPDATE_SECTIONS["ip-dhcp-range"]]: updateDhcpRange,
  [NETWORK_UPDATE_SECTIONS.forward]: unsupported("forward"),
  [NETWORK_UPDATE_SECTIONS["forward-interface"]]: updateForwardInterface,
  [NETWORK_UPDATE_SECTIONS["forward-pf"]]: unsupported("forward pf"),
  [NETWORK_UPDATE_SECTIONS.portgroup]: updatePortGroup,
  [NETWORK_UPDATE_SECTIONS["dns-host"]]: updateDnsHost,
  [NETWORK_UPDATE_SECTIONS["dns-txt"]]: updateDnsTxt,
  [NETWORK_UPDATE_SECTIONS["dns-srv"]]: updateDnsSrv,
};
