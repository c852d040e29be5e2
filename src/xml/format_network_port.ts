/**
 * `<networkport>` XML written as libvirt 9.0 writes it (virNetworkPortDefFormatBuf).
 *
 * @module
 */

import type { NetworkPort } from "../model/network_port.ts";
import { formatBandwidth, formatVlan } from "./format_port_options.ts";
import { escapeXml, LineBuffer } from "./storage_xml_common.ts";

/**
 * Writes a network port's XML.
 *
 * @example
 * ```ts
 * import { formatNetworkPortXml } from "./format_network_port.ts";
 * const xml = formatNetworkPortXml({
 *   uuid: "aaaaaaaa-2222-3333-4444-555555555555",
 *   ownerName: "g",
 *   ownerUuid: "11111111-2222-3333-4444-555555555555",
 *   mac: "52:54:00:aa:00:01",
 *   plug: { type: "bridge", bridge: "br0" },
 * });
 * console.log(xml.split("\n").at(-3)); // "  <plug type='bridge' bridge='br0'/>"
 * ```
 */
export function formatNetworkPortXml(port: NetworkPort): string {
  const out = new LineBuffer();
  out.open("<networkport>");
  out.line(`<uuid>${port.uuid}</uuid>`);
  out.open("<owner>");
  out.line(`<name>${escapeXml(port.ownerName)}</name>`);
  out.line(`<uuid>${port.ownerUuid}</uuid>`);
  out.close("</owner>");
  if (port.group !== undefined) out.line(`<group>${escapeXml(port.group)}</group>`);
  out.line(`<mac address='${port.mac}'/>`);
  formatBandwidth(out, port.bandwidth);
  formatVlan(out, port.vlan);
  if (port.isolatedPort !== undefined) out.line(`<port isolated='${port.isolatedPort}'/>`);
  if (port.trustGuestRxFilters !== undefined) {
    out.line(`<rxfilters trustGuest='${port.trustGuestRxFilters}'/>`);
  }
  if (port.plug !== undefined) {
    const manager = port.plug.macTableManager === undefined
      ? ""
      : ` macTableManager='${port.plug.macTableManager}'`;
    out.line(
      `<plug type='${port.plug.type}' bridge='${escapeXml(port.plug.bridge)}'${manager}/>`,
    );
  }
  out.close("</networkport>");
  return out.text();
}
