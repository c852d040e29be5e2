/**
 * `formatSnapshotXml`: {@linkcode SnapshotDefinition} → `<domainsnapshot>` text, in libvirt
 * 9.0's order and layout (virDomainSnapshotDefFormat).
 *
 * @module
 */

import type { SnapshotDefinition, SnapshotDisk } from "../model/snapshot.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { formatDomainXml } from "./format_domain.ts";
import { escapeXml, LineBuffer } from "./storage_xml_common.ts";
import { writeXml } from "./xml_writer.ts";

/** How a snapshot is written (libvirt's VIR_DOMAIN_SNAPSHOT_FORMAT_* flags). */
export interface FormatSnapshotOptions {
  /** The domain's uuid, written as `<domain><uuid>` when the snapshot holds no definition. */
  uuid?: string;
  /** Keep secrets (graphics passwords) in the captured definitions. */
  secure?: boolean;
  /** The service's own record: `<active>` says whether it is the current snapshot. */
  internal?: boolean;
  /** With `internal`: this is the current snapshot. */
  current?: boolean;
}

/**
 * Writes a snapshot document.
 *
 * @example
 * ```ts
 * import { formatSnapshotXml } from "./format_snapshot.ts";
 * console.log(formatSnapshotXml({ name: "s1", creationTimeSeconds: 5, disks: [] }));
 * // <domainsnapshot>
 * //   <name>s1</name>
 * //   <creationTime>5</creationTime>
 * // </domainsnapshot>
 * ```
 */
export function formatSnapshotXml(
  def: SnapshotDefinition,
  options: FormatSnapshotOptions = {},
): string {
  const out = new LineBuffer();
  out.open("<domainsnapshot>");
  if (def.name !== undefined) out.line(`<name>${escapeXml(def.name)}</name>`);
  if (def.description !== undefined) {
    out.line(`<description>${escapeXml(def.description)}</description>`);
  }
  if (def.state !== undefined) out.line(`<state>${def.state}</state>`);
  if (def.parent !== undefined) {
    out.open("<parent>");
    out.line(`<name>${escapeXml(def.parent)}</name>`);
    out.close("</parent>");
  }
  if (def.creationTimeSeconds !== undefined && def.creationTimeSeconds !== 0) {
    out.line(`<creationTime>${def.creationTimeSeconds}</creationTime>`);
  }
  if (def.memory !== undefined) {
    const file = def.memoryFile === undefined ? "" : ` file='${escapeXml(def.memoryFile)}'`;
    out.line(`<memory snapshot='${def.memory}'${file}/>`);
  }
  if (def.disks.length > 0) {
    out.open("<disks>");
    for (const disk of def.disks) writeLines(out, diskElement(disk));
    out.close("</disks>");
  }
  const domainOptions = { inactive: true, secure: options.secure === true };
  if (def.domain !== undefined) {
    writeText(out, formatDomainXml(def.domain, domainOptions));
  } else if (options.uuid !== undefined) {
    out.open("<domain>");
    out.line(`<uuid>${escapeXml(options.uuid)}</uuid>`);
    out.close("</domain>");
  }
  if (def.inactiveDomain !== undefined) {
    const text = formatDomainXml(def.inactiveDomain, domainOptions);
    writeText(
      out,
      text.replace(/^<domain/, "<inactiveDomain").replace(/<\/domain>\n$/, "</inactiveDomain>\n"),
    );
  }
  if (def.cookie !== undefined) writeLines(out, def.cookie);
  if (options.internal === true) out.line(`<active>${options.current === true ? 1 : 0}</active>`);
  out.close("</domainsnapshot>");
  return out.text();
}

/** The `<disk>` element of one disk choice, as libvirt writes it. */
function diskElement(disk: SnapshotDisk): XmlElement {
  const attributes: Record<string, string> = { name: disk.name };
  if (disk.snapshot !== undefined) attributes.snapshot = disk.snapshot;
  const children: XmlElement[] = [];
  if (disk.path !== undefined || disk.format !== undefined) {
    attributes.type = disk.type;
    const driver: XmlElement = { name: "driver" };
    if (disk.format !== undefined) driver.attributes = { type: disk.format };
    if (disk.metadataCacheMaxBytes !== undefined) {
      driver.children = [{
        name: "metadata_cache",
        children: [{
          name: "max_size",
          attributes: { unit: "bytes" },
          children: [String(disk.metadataCacheMaxBytes)],
        }],
      }];
    }
    if (driver.attributes !== undefined || driver.children !== undefined) children.push(driver);
    const source = disk.source ?? sourceOf(disk);
    if (source !== undefined) children.push(source);
  }
  return { name: "disk", attributes, ...(children.length > 0 ? { children } : {}) };
}

/** A `<source>` naming only the path, for a disk whose source was not written by a user. */
function sourceOf(disk: SnapshotDisk): XmlElement | undefined {
  if (disk.path === undefined) return undefined;
  const attribute = disk.type === "block" ? "dev" : disk.type === "network" ? "name" : "file";
  return { name: "source", attributes: { [attribute]: disk.path } };
}

function writeLines(out: LineBuffer, element: XmlElement): void {
  writeText(out, writeXml(element));
}

/** Writes already formatted lines at the buffer's current indentation. */
function writeText(out: LineBuffer, text: string): void {
  for (const line of text.replace(/\n$/, "").split("\n")) out.line(line);
}
