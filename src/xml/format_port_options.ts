/**
 * The port options a network and its portgroups share, written as libvirt 9.0 writes them:
 * `<vlan>` (virNetDevVlanFormat), `<virtualport>` (virNetDevVPortProfileFormat) and
 * `<bandwidth>` (virNetDevBandwidthFormat).
 *
 * @module
 */

import type { Bandwidth, BandwidthRate, VirtualPort, Vlan } from "../model/network.ts";
import { escapeXml, type LineBuffer } from "./storage_xml_common.ts";

/**
 * Writes `<vlan>`.
 *
 * @example
 * ```ts
 * import { formatVlan } from "./format_port_options.ts";
 * import { LineBuffer } from "./storage_xml_common.ts";
 * const out = new LineBuffer();
 * formatVlan(out, { trunk: false, tags: [{ id: 42 }] });
 * console.log(out.text()); // "<vlan>\n  <tag id='42'/>\n</vlan>\n"
 * ```
 */
export function formatVlan(out: LineBuffer, vlan: Vlan | undefined): void {
  if (vlan === undefined || vlan.tags.length === 0) return;
  out.open(`<vlan${vlan.trunk ? " trunk='yes'" : ""}>`);
  for (const tag of vlan.tags) {
    const native = tag.nativeMode === undefined ? "" : ` nativeMode='${tag.nativeMode}'`;
    out.line(`<tag id='${tag.id}'${native}/>`);
  }
  out.close("</vlan>");
}

/**
 * Writes `<virtualport>` with the parameters its type takes (all of them for an untyped one).
 *
 * @example
 * ```ts
 * import { formatVirtualPort } from "./format_port_options.ts";
 * import { LineBuffer } from "./storage_xml_common.ts";
 * const out = new LineBuffer();
 * formatVirtualPort(out, { type: "802.1Qbh", profileId: "p" });
 * console.log(out.text()); // "<virtualport type='802.1Qbh'>\n  <parameters profileid='p'/>\n</virtualport>\n"
 * ```
 */
export function formatVirtualPort(out: LineBuffer, port: VirtualPort | undefined): void {
  if (port === undefined) return;
  const type = port.type;
  const qbg = type === undefined || type === "802.1Qbg";
  const withInterface = type === undefined || type === "openvswitch" || type === "midonet";
  const withProfile = type === undefined || type === "openvswitch" || type === "802.1Qbh";
  let attributes = "";
  if (qbg && port.managerId !== undefined) attributes += ` managerid='${port.managerId}'`;
  if (qbg && port.typeId !== undefined) attributes += ` typeid='${port.typeId}'`;
  if (qbg && port.typeIdVersion !== undefined) {
    attributes += ` typeidversion='${port.typeIdVersion}'`;
  }
  if (qbg && port.instanceId !== undefined) attributes += ` instanceid='${port.instanceId}'`;
  if (withInterface && port.interfaceId !== undefined) {
    attributes += ` interfaceid='${port.interfaceId}'`;
  }
  if (withProfile && port.profileId !== undefined) {
    attributes += ` profileid='${escapeXml(port.profileId)}'`;
  }
  const start = type === undefined ? "<virtualport" : `<virtualport type='${type}'`;
  if (attributes === "") {
    out.line(`${start}/>`);
    return;
  }
  out.open(`${start}>`);
  out.line(`<parameters${attributes}/>`);
  out.close("</virtualport>");
}

/**
 * Writes `<bandwidth>`.
 *
 * @example
 * ```ts
 * import { formatBandwidth } from "./format_port_options.ts";
 * import { LineBuffer } from "./storage_xml_common.ts";
 * const out = new LineBuffer();
 * formatBandwidth(out, { inbound: { average: 1000, burst: 10 } });
 * console.log(out.text()); // "<bandwidth>\n  <inbound average='1000' burst='10'/>\n</bandwidth>\n"
 * ```
 */
export function formatBandwidth(out: LineBuffer, bandwidth: Bandwidth | undefined): void {
  if (bandwidth === undefined) return;
  out.open("<bandwidth>");
  formatRate(out, "inbound", bandwidth.inbound);
  formatRate(out, "outbound", bandwidth.outbound);
  out.close("</bandwidth>");
}

function formatRate(out: LineBuffer, name: string, rate: BandwidthRate | undefined): void {
  if (rate === undefined || (rate.average === undefined && rate.floor === undefined)) return;
  let line = `<${name}`;
  for (const field of ["average", "peak", "floor", "burst"] as const) {
    const value = rate[field];
    if (value !== undefined && value > 0) line += ` ${field}='${value}'`;
  }
  out.line(`${line}/>`);
}
