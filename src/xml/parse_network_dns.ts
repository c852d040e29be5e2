/**
 * A network's `<dns>` parsed with libvirt 9.0's rules and messages (virNetworkDNSDefParseXML):
 * forwarders, host, SRV and TXT records, and the refusal of records in a disabled DNS.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { formatIp, parseIp } from "../model/ip_address.ts";
import type { DnsForwarder, DnsHost, DnsSrv, DnsTxt, NetworkDns } from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { readTristate } from "./network_xml_values.ts";
import { attributeOf, childrenNamed, refuseUnknown, textOf } from "./storage_xml_common.ts";

/** Longest SRV service name libvirt accepts (512 bytes less the RFC 2782 overhead). */
export const DNS_SRV_SERVICE_MAX_BYTES = 512 - 30;

const PROTOCOL_CHARACTERS = /^[A-Za-z0-9+/-]*$/;
const SERVICE_CHARACTERS = /^[A-Za-z0-9_+/*-]*$/;

/**
 * Parses `<dns>` of network `networkName`.
 *
 * @throws {VirtError} Codes 27, 35 and 8 with libvirt's messages.
 *
 * @example
 * ```ts
 * import { parseNetworkDns } from "./parse_network_dns.ts";
 * const dns = parseNetworkDns({
 *   name: "dns",
 *   children: [{ name: "txt", attributes: { name: "example", value: "v" } }],
 * }, "n", "/network/dns");
 * console.log(dns.txts); // [ { name: "example", value: "v" } ]
 * ```
 */
export function parseNetworkDns(
  element: XmlElement,
  networkName: string,
  where: string,
): NetworkDns {
  refuseUnknown(element, where, ["forwarder", "host", "srv", "txt"], [
    "enable",
    "forwardPlainNames",
  ]);
  const dns: NetworkDns = { forwarders: [], txts: [], srvs: [], hosts: [] };
  const enable = readTristate(element, "enable", where);
  if (enable !== undefined) dns.enable = enable;
  const plain = readTristate(element, "forwardPlainNames", where);
  if (plain !== undefined) dns.forwardPlainNames = plain;
  dns.forwarders = childrenNamed(element, "forwarder").map((forwarder, index) =>
    parseForwarder(forwarder, networkName, `${where}/forwarder[${index + 1}]`)
  );
  dns.hosts = childrenNamed(element, "host").map((host, index) =>
    parseDnsHost(host, networkName, `${where}/host[${index + 1}]`)
  );
  dns.srvs = childrenNamed(element, "srv").map((srv, index) =>
    parseSrv(srv, networkName, `${where}/srv[${index + 1}]`)
  );
  dns.txts = childrenNamed(element, "txt").map((txt, index) =>
    parseTxt(txt, networkName, `${where}/txt[${index + 1}]`)
  );
  const records = dns.forwarders.length + dns.hosts.length + dns.srvs.length + dns.txts.length;
  if (enable === "no" && records > 0) {
    throw new VirtError(ErrorCode.XML_ERROR, `Extra data in disabled network '${networkName}'`, {
      where,
    });
  }
  return dns;
}

function parseForwarder(element: XmlElement, networkName: string, where: string): DnsForwarder {
  refuseUnknown(element, where, [], ["addr", "domain"]);
  const forwarder: DnsForwarder = {};
  const domain = element.attributes?.domain;
  if (domain !== undefined) forwarder.domain = domain;
  const addr = element.attributes?.addr;
  if (addr !== undefined) {
    const address = parseIp(addr);
    if (address === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid forwarder IP address '${addr}' in network '${networkName}'`,
        { where: `${where}/@addr` },
      );
    }
    forwarder.addr = formatIp(address);
  }
  if (addr === undefined && domain === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      "Invalid forwarder element, must contain at least one of addr or domain",
      { where },
    );
  }
  const ordered: DnsForwarder = {};
  if (forwarder.domain !== undefined) ordered.domain = forwarder.domain;
  if (forwarder.addr !== undefined) ordered.addr = forwarder.addr;
  return ordered;
}

/**
 * Parses a DNS `<host>` (virNetworkDNSHostDefParseXML). `partial` (a `net-update delete`
 * pattern) lets the address or the names be left out, but not both.
 *
 * @throws {VirtError} Code 35 with libvirt's messages.
 */
export function parseDnsHost(
  element: XmlElement,
  networkName: string,
  where: string,
  partial = false,
): DnsHost {
  refuseUnknown(element, where, ["hostname"], ["ip"]);
  const detail = (message: string, at = where): never => {
    throw new VirtError(ErrorCode.XML_DETAIL, message, { where: at });
  };
  const hostnames = childrenNamed(element, "hostname").map((hostname, index) => {
    const text = textOf(hostname) ?? "";
    if (text === "") {
      detail(
        `Missing hostname in network '${networkName}' DNS HOST record`,
        `${where}/hostname[${index + 1}]`,
      );
    }
    return text;
  });
  const ipText = element.attributes?.ip;
  if (partial) {
    if (ipText === undefined && hostnames.length === 0) {
      detail(`Missing ip and hostname in network '${networkName}' DNS HOST record`);
    }
  } else {
    if (hostnames.length === 0) {
      detail(`Missing hostname in network '${networkName}' DNS HOST record`);
    }
    if (ipText === undefined) {
      detail(`Missing IP address in network '${networkName}' DNS HOST record`);
    }
  }
  if (ipText === undefined) return { ip: "", hostnames };
  const ip = parseIp(ipText);
  if (ip === undefined) {
    detail(`Invalid IP address in network '${networkName}' DNS HOST record`, `${where}/@ip`);
  }
  return { ip: formatIp(ip!), hostnames };
}

function checkLineBreaks(
  record: string,
  field: string,
  value: string | undefined,
  where: string,
): void {
  if (value !== undefined && /[\r\n]/.test(value)) {
    throw new VirtError(
      ErrorCode.XML_DETAIL,
      `invalid line break in DNS ${record} record ${field} attribute`,
      { where: `${where}/@${field}` },
    );
  }
}

/**
 * Parses a DNS `<srv>` (virNetworkDNSSrvDefParseXML). `partial` (a `net-update delete`
 * pattern) lets the service and protocol be left out (then they are empty strings).
 *
 * @throws {VirtError} Code 35 with libvirt's messages.
 */
export function parseSrv(
  element: XmlElement,
  networkName: string,
  where: string,
  partial = false,
): DnsSrv {
  refuseUnknown(element, where, [], [
    "service",
    "protocol",
    "domain",
    "target",
    "port",
    "priority",
    "weight",
  ]);
  const detail = (message: string, at = where): never => {
    throw new VirtError(ErrorCode.XML_DETAIL, message, { where: at });
  };
  const service = element.attributes?.service ?? (partial ? "" : undefined);
  if (service === undefined) {
    detail(`missing required service attribute in DNS SRV record of network '${networkName}'`);
  }
  const serviceText = service as string;
  if (new TextEncoder().encode(serviceText).length > DNS_SRV_SERVICE_MAX_BYTES) {
    detail(
      `service attribute '${serviceText}' in network '${networkName}' is too long, limit is ${DNS_SRV_SERVICE_MAX_BYTES} bytes`,
      `${where}/@service`,
    );
  }
  if (!SERVICE_CHARACTERS.test(serviceText)) {
    detail(
      `invalid character in service attribute '${serviceText}' in DNS SRV record of network '${networkName}'`,
      `${where}/@service`,
    );
  }
  const protocol = element.attributes?.protocol ?? (partial ? "" : undefined);
  if (protocol === undefined) {
    detail(
      `missing required protocol attribute in DNS SRV record '${serviceText}' of network '${networkName}'`,
    );
  }
  if (!PROTOCOL_CHARACTERS.test(protocol as string)) {
    detail(
      `invalid character in protocol attribute '${protocol}' in DNS SRV record of network '${networkName}'`,
      `${where}/@protocol`,
    );
  }
  const srv: DnsSrv = { service: serviceText, protocol: protocol as string };
  const domain = element.attributes?.domain;
  const target = element.attributes?.target;
  checkLineBreaks("SRV", "domain", domain, where);
  checkLineBreaks("SRV", "target", target, where);
  if (domain !== undefined) srv.domain = domain;
  if (target !== undefined) srv.target = target;
  const fields = [
    ["port", "invalid", 1],
    ["priority", "Invalid", 0],
    ["weight", "invalid", 0],
  ] as const;
  for (const [field, invalidWord, min] of fields) {
    const text = attributeOf(element, field);
    if (text === undefined) continue;
    const value = /^\s*\+?\d+$/.test(text) ? Number(text.trim()) : NaN;
    if (Number.isSafeInteger(value) && value <= 2 ** 32 - 1 && target === undefined) {
      detail(
        `DNS SRV ${field} attribute not permitted without target for service '${serviceText}' in network '${networkName}'`,
        `${where}/@${field}`,
      );
    }
    if (!Number.isSafeInteger(value) || value < min || value > 65535) {
      detail(
        `${invalidWord} DNS SRV ${field} attribute for service '${serviceText}' in network '${networkName}'`,
        `${where}/@${field}`,
      );
    }
    if (value > 0) srv[field] = value;
  }
  return srv;
}

/**
 * Parses a DNS `<txt>` (virNetworkDNSTxtDefParseXML). `partial` (a `net-update delete`
 * pattern) lets the value be left out (then it is an empty string).
 *
 * @throws {VirtError} Code 35 with libvirt's messages.
 */
export function parseTxt(
  element: XmlElement,
  networkName: string,
  where: string,
  partial = false,
): DnsTxt {
  refuseUnknown(element, where, [], ["name", "value"]);
  const detail = (message: string, at = where): never => {
    throw new VirtError(ErrorCode.XML_DETAIL, message, { where: at });
  };
  const name = element.attributes?.name;
  if (name === undefined) {
    detail(`missing required name attribute in DNS TXT record of network ${networkName}`);
  }
  if (/[ ,]/.test(name as string)) {
    detail(
      `prohibited character in DNS TXT record name '${name}' of network ${networkName}`,
      `${where}/@name`,
    );
  }
  const value = element.attributes?.value ?? (partial ? "" : undefined);
  if (value === undefined) {
    detail(
      `missing required value attribute in DNS TXT record named '${name}' of network ${networkName}`,
    );
  }
  checkLineBreaks("TXT", "value", value, where);
  return { name: name as string, value: value as string };
}
