/**
 * {@linkcode PoolDefinition} → pool XML exactly as libvirt 9.0 writes it
 * (virStoragePoolDefFormatBuf): element order, the `<source>` parts each type writes, live
 * figures in bytes, `<permissions>` only when something is set, no `<target>` for network
 * pools, the type's namespace last.
 *
 * @module
 */

import {
  POOL_TYPE_INFO,
  type PoolDefinition,
  type PoolFigures,
  type PoolSource,
  type PoolTypeInfo,
} from "../model/storage_pool.ts";
import {
  escapeXml,
  formatPermissions,
  formatSecretReference,
  LineBuffer,
} from "./storage_xml_common.ts";

const NO_FIGURES: PoolFigures = { capacityBytes: 0n, allocationBytes: 0n, availableBytes: 0n };

/**
 * Writes pool XML.
 *
 * @param pool The definition.
 * @param figures Live capacity, allocation and available bytes; zero when absent (an inactive
 *   pool, as libvirt writes it).
 * @returns The document, ending with a newline.
 *
 * @example
 * ```ts
 * import { formatPoolXml } from "./format_storage_pool.ts";
 * import { parsePoolXml } from "./parse_storage_pool.ts";
 * const xml = "<pool type='dir'><name>p</name><uuid>70a7eb15-6c34-ee9c-bf57-69e8e5ff3fb2</uuid>" +
 *   "<target><path>/tmp/p</path></target></pool>";
 * console.log(formatPoolXml(parsePoolXml(xml)).split("\n")[0]); // "<pool type='dir'>"
 * ```
 */
export function formatPoolXml(pool: PoolDefinition, figures: PoolFigures = NO_FIGURES): string {
  const info = POOL_TYPE_INFO[pool.type];
  const out = new LineBuffer();
  const namespace = pool.namespaceOptions !== undefined && info.namespace !== undefined
    ? ` xmlns:${info.namespace.prefix}='${info.namespace.uri}'`
    : "";
  out.open(`<pool type='${pool.type}'${namespace}>`);
  out.line(`<name>${escapeXml(pool.name)}</name>`);
  out.line(`<uuid>${pool.uuid}</uuid>`);
  out.line(`<capacity unit='bytes'>${figures.capacityBytes}</capacity>`);
  out.line(`<allocation unit='bytes'>${figures.allocationBytes}</allocation>`);
  out.line(`<available unit='bytes'>${figures.availableBytes}</available>`);
  if (pool.cow !== undefined) {
    out.open("<features>");
    out.line(`<cow state='${pool.cow ? "yes" : "no"}'/>`);
    out.close("</features>");
  }
  formatSource(out, pool.source, info);
  if (pool.targetPath !== undefined && !info.parts.network) {
    out.open("<target>");
    out.line(`<path>${escapeXml(pool.targetPath)}</path>`);
    formatPermissions(out, pool.targetPermissions);
    out.close("</target>");
  }
  if (pool.refreshAllocation !== undefined) {
    out.open("<refresh>");
    out.line(`<volume allocation='${pool.refreshAllocation}'/>`);
    out.close("</refresh>");
  }
  if (pool.namespaceOptions !== undefined && info.namespace !== undefined) {
    const { prefix, element } = info.namespace;
    out.open(`<${prefix}:${element}>`);
    for (const option of pool.namespaceOptions) {
      const value = option.value === undefined ? "" : ` value='${escapeXml(option.value)}'`;
      out.line(`<${prefix}:option name='${escapeXml(option.name)}'${value}/>`);
    }
    out.close(`</${prefix}:${element}>`);
  }
  out.close("</pool>");
  return out.text();
}

/**
 * Writes a pool's `<source>` as libvirt does (also the element of `pool-sources` answers).
 *
 * @param out Where to write.
 * @param source The source.
 * @param info The pool type's table row.
 */
export function formatSource(out: LineBuffer, source: PoolSource, info: PoolTypeInfo): void {
  const parts = info.parts;
  out.open("<source>");
  if (parts.host) {
    for (const host of source.hosts) {
      const port = host.port === undefined ? "" : ` port='${host.port}'`;
      out.line(`<host name='${escapeXml(host.name)}'${port}/>`);
    }
  }
  if (parts.device) {
    for (const device of source.devices) {
      const separator = device.partSeparator === undefined
        ? ""
        : ` part_separator='${device.partSeparator ? "yes" : "no"}'`;
      out.line(`<device path='${escapeXml(device.path)}'${separator}/>`);
    }
  }
  if (parts.dir && source.dir !== undefined) out.line(`<dir path='${escapeXml(source.dir)}'/>`);
  if (parts.adapter && source.adapter !== undefined) formatAdapter(out, source);
  if (parts.name && source.name !== undefined) out.line(`<name>${escapeXml(source.name)}</name>`);
  if (parts.initiatorIqn && source.initiatorIqn !== undefined) {
    out.open("<initiator>");
    out.line(`<iqn name='${escapeXml(source.initiatorIqn)}'/>`);
    out.close("</initiator>");
  }
  if (info.sourceFormats.length > 0 && source.format !== undefined) {
    out.line(`<format type='${source.format}'/>`);
  }
  if (source.auth !== undefined) {
    out.open(`<auth type='${source.auth.type}' username='${escapeXml(source.auth.username)}'>`);
    formatSecretReference(out, source.auth.secret);
    out.close("</auth>");
  }
  if (source.protocolVersion !== undefined && source.protocolVersion !== 0) {
    out.line(`<protocol ver='${source.protocolVersion}'/>`);
  }
  if (source.vendor !== undefined) out.line(`<vendor name='${escapeXml(source.vendor)}'/>`);
  if (source.product !== undefined) out.line(`<product name='${escapeXml(source.product)}'/>`);
  out.close("</source>");
}

function formatAdapter(out: LineBuffer, source: PoolSource): void {
  const adapter = source.adapter;
  if (adapter === undefined) return;
  if (adapter.type === "scsi_host") {
    out.line(`<adapter type='scsi_host' name='${adapter.name}'/>`);
    return;
  }
  let text = "<adapter type='fc_host'";
  if (adapter.parent !== undefined) text += ` parent='${escapeXml(adapter.parent)}'`;
  if (adapter.parentWwnn !== undefined) text += ` parent_wwnn='${escapeXml(adapter.parentWwnn)}'`;
  if (adapter.parentWwpn !== undefined) text += ` parent_wwpn='${escapeXml(adapter.parentWwpn)}'`;
  if (adapter.parentFabricWwn !== undefined) {
    text += ` parent_fabric_wwn='${escapeXml(adapter.parentFabricWwn)}'`;
  }
  if (adapter.managed !== undefined) text += ` managed='${adapter.managed ? "yes" : "no"}'`;
  out.line(`${text} wwnn='${adapter.wwnn}' wwpn='${adapter.wwpn}'/>`);
}
