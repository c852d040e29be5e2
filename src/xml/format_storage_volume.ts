/**
 * {@linkcode VolumeDefinition} → volume XML exactly as libvirt 9.0 writes it
 * (virStorageVolDefFormat): type, name, key, sizes in bytes, `<physical>` when known, the
 * target (format only where the pool has volume formats), then the backing store.
 *
 * @module
 */

import { POOL_TYPE_INFO, type PoolType, type StoragePermissions } from "../model/storage_pool.ts";
import type {
  VolumeDefinition,
  VolumeEncryption,
  VolumeTimestamps,
} from "../model/storage_volume.ts";
import {
  escapeXml,
  formatPermissions,
  formatSecretReference,
  LineBuffer,
} from "./storage_xml_common.ts";

/**
 * Writes volume XML for a volume of a pool of type `poolType`.
 *
 * @returns The document, ending with a newline.
 *
 * @example
 * ```ts
 * import { formatVolumeXml } from "./format_storage_volume.ts";
 * import { parseVolumeXml } from "./parse_storage_volume.ts";
 * const volume = parseVolumeXml("<volume><name>a</name><capacity>1</capacity></volume>", "dir");
 * console.log(formatVolumeXml(volume, "dir").split("\n")[0]); // "<volume type='file'>"
 * ```
 */
export function formatVolumeXml(volume: VolumeDefinition, poolType: PoolType): string {
  const hasFormats = POOL_TYPE_INFO[poolType].volumeFormats.length > 0;
  const out = new LineBuffer();
  out.open(`<volume type='${volume.type}'>`);
  out.line(`<name>${escapeXml(volume.name)}</name>`);
  if (volume.key !== undefined) out.line(`<key>${escapeXml(volume.key)}</key>`);
  out.line(`<capacity unit='bytes'>${volume.capacityBytes}</capacity>`);
  out.line(`<allocation unit='bytes'>${volume.allocationBytes}</allocation>`);
  if (volume.physicalBytes !== undefined && volume.physicalBytes > 0n) {
    out.line(`<physical unit='bytes'>${volume.physicalBytes}</physical>`);
  }
  out.open("<target>");
  formatLocation(out, volume.path, hasFormats ? volume.format : undefined, volume.permissions);
  formatTimestamps(out, volume.timestamps);
  if (volume.encryption !== undefined) formatEncryption(out, volume.encryption);
  if (volume.compat !== undefined) out.line(`<compat>${escapeXml(volume.compat)}</compat>`);
  if (volume.clusterSizeBytes > 0n) {
    out.line(`<clusterSize unit='B'>${volume.clusterSizeBytes}</clusterSize>`);
  }
  if (volume.features !== undefined) {
    if (volume.features.length === 0) {
      out.line("<features/>");
    } else {
      out.open("<features>");
      for (const feature of volume.features) out.line(`<${feature}/>`);
      out.close("</features>");
    }
  }
  out.close("</target>");
  const backing = volume.backingStore;
  if (backing !== undefined) {
    out.open("<backingStore>");
    formatLocation(out, backing.path, hasFormats ? backing.format : undefined, backing.permissions);
    formatTimestamps(out, backing.timestamps);
    out.close("</backingStore>");
  }
  out.close("</volume>");
  return out.text();
}

function formatLocation(
  out: LineBuffer,
  path: string | undefined,
  format: string | undefined,
  permissions: StoragePermissions,
): void {
  if (path !== undefined) out.line(`<path>${escapeXml(path)}</path>`);
  if (format !== undefined) out.line(`<format type='${format}'/>`);
  formatPermissions(out, permissions);
}

function formatTimestamps(out: LineBuffer, timestamps: VolumeTimestamps | undefined): void {
  if (timestamps === undefined) return;
  out.open("<timestamps>");
  out.line(`<atime>${timestamps.atime}</atime>`);
  out.line(`<mtime>${timestamps.mtime}</mtime>`);
  out.line(`<ctime>${timestamps.ctime}</ctime>`);
  out.line(`<btime>${timestamps.btime}</btime>`);
  out.close("</timestamps>");
}

function formatEncryption(out: LineBuffer, encryption: VolumeEncryption): void {
  const engine = encryption.engine === undefined ? "" : ` engine='${encryption.engine}'`;
  out.open(`<encryption format='${encryption.format}'${engine}>`);
  for (const secret of encryption.secrets) formatSecretReference(out, secret);
  const cipher = encryption.cipher;
  if (encryption.format === "luks" && cipher !== undefined) {
    let text = `<cipher name='${escapeXml(cipher.name)}' size='${cipher.size}'`;
    if (cipher.mode !== undefined) text += ` mode='${escapeXml(cipher.mode)}'`;
    if (cipher.hash !== undefined) text += ` hash='${escapeXml(cipher.hash)}'`;
    out.line(text + "/>");
    const ivgen = encryption.ivgen;
    if (ivgen !== undefined) {
      const hash = ivgen.hash === undefined ? "" : ` hash='${escapeXml(ivgen.hash)}'`;
      out.line(`<ivgen name='${escapeXml(ivgen.name)}'${hash}/>`);
    }
  }
  out.close("</encryption>");
}
