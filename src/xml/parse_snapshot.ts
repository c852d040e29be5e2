/**
 * `parseSnapshotXml`: a `<domainsnapshot>` document → {@linkcode SnapshotDefinition}, with
 * libvirt 9.0's rules (virDomainSnapshotDefParse): a user's document (what `snapshot-create`
 * takes) names at most a name, a description, memory and disks; a redefinition (what the
 * service stores and `--redefine` takes) also carries the state, the creation time, the
 * parent and the domain.
 *
 * @module
 */

import { DOMAIN } from "../model/domain_schema.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  SNAPSHOT_DISK_TYPES,
  SNAPSHOT_LOCATIONS,
  SNAPSHOT_STATES,
  type SnapshotDefinition,
  type SnapshotDisk,
  type SnapshotDiskType,
  type SnapshotLocation,
  type SnapshotState,
} from "../model/snapshot.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { STORAGE_FORMATS } from "../model/storage_pool.ts";
import { decodeElement } from "./element_decode.ts";
import {
  attributeOf,
  childrenNamed,
  childText,
  elementsOf,
  firstChild,
  parseSize,
  refuseUnknown,
  textOf,
} from "./storage_xml_common.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

/** How a document is read (libvirt's VIR_DOMAIN_SNAPSHOT_PARSE_* flags). */
export interface ParseSnapshotOptions extends XmlReadOptions {
  /** A stored or redefined snapshot: name, creation time and state are required and read. */
  redefine?: boolean;
  /** The service's own record: `<active>` (whether it is the current snapshot) is read. */
  internal?: boolean;
  /** The snapshot is taken of a shut-off domain or of disks only (no memory allowed). */
  offline?: boolean;
}

/** A parsed document and, for an internal record, whether it was the current snapshot. */
export interface ParsedSnapshot {
  definition: SnapshotDefinition;
  /** `<active>1</active>`; read only with `internal`. */
  current: boolean;
}

/** The top-level elements a `<domainsnapshot>` may hold (domainsnapshot.rng). */
const TOP_ELEMENTS = [
  "name",
  "description",
  "state",
  "creationTime",
  "memory",
  "disks",
  "active",
  "domain",
  "inactiveDomain",
  "parent",
  "cookie",
] as const;

/**
 * Parses a snapshot document.
 *
 * @param text The XML.
 * @param options The parse mode and the reader's limits.
 * @throws {VirtError} 27 for malformed XML, a wrong root, a bad value or a missing required part;
 *   67 for an unknown element or an unknown disk driver; 1 for a disk without a name.
 *
 * @example
 * ```ts
 * import { parseSnapshotXml } from "./parse_snapshot.ts";
 * const { definition } = parseSnapshotXml("<domainsnapshot><name>s1</name></domainsnapshot>");
 * console.log(definition.name); // "s1"
 * ```
 */
export function parseSnapshotXml(text: string, options: ParseSnapshotOptions = {}): ParsedSnapshot {
  const root = readXml(text, options);
  if (root.name !== "domainsnapshot") {
    throw new VirtError(ErrorCode.XML_ERROR, "domainsnapshot", { where: `/${root.name}` });
  }
  return parseSnapshotElement(root, options);
}

/** Parses the `<domainsnapshot>` element `root` (see {@linkcode parseSnapshotXml}). */
export function parseSnapshotElement(
  root: XmlElement,
  options: ParseSnapshotOptions = {},
): ParsedSnapshot {
  const where = "/domainsnapshot";
  refuseUnknown(root, where, TOP_ELEMENTS);
  const definition: SnapshotDefinition = { disks: [] };
  const name = childText(root, "name");
  if (name !== undefined) definition.name = name;
  else if (options.redefine === true) {
    throw new VirtError(ErrorCode.XML_ERROR, "a redefined snapshot must have a name", {
      where: `${where}/name`,
    });
  }
  const description = childText(root, "description");
  if (description !== undefined) definition.description = description;
  let offline = options.offline === true;
  if (options.redefine === true) {
    offline = readRedefined(root, definition, where);
  }
  readMemory(root, definition, offline, options.redefine === true, where);
  const disks = firstChild(root, "disks");
  if (disks !== undefined) {
    elementsOf(disks).forEach((disk, index) => {
      definition.disks.push(parseDisk(disk, `${where}/disks/${disk.name}[${index + 1}]`));
    });
  }
  let current = false;
  if (options.internal === true) {
    const active = childText(root, "active");
    if (active === undefined || !/^-?\d+$/.test(active.trim())) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "Could not find 'active' element", {
        where: `${where}/active`,
      });
    }
    current = Number(active) !== 0;
  }
  const cookie = firstChild(root, "cookie");
  if (!offline && cookie !== undefined) definition.cookie = cookie;
  return { definition, current };
}

/** Reads what only a redefinition carries; returns whether the snapshot is offline. */
function readRedefined(root: XmlElement, definition: SnapshotDefinition, where: string): boolean {
  const created = childText(root, "creationTime");
  if (created === undefined || !/^-?\d+$/.test(created.trim())) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "missing creationTime from existing snapshot", {
      where: `${where}/creationTime`,
    });
  }
  definition.creationTimeSeconds = Number(created.trim());
  const parent = childText(firstChild(root, "parent"), "name");
  if (parent !== undefined) definition.parent = parent;
  const state = childText(root, "state");
  if (state === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing state from existing snapshot", {
      where: `${where}/state`,
    });
  }
  if (!(SNAPSHOT_STATES as readonly string[]).includes(state)) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `Invalid state '${state}' in domain snapshot XML`,
      { where: `${where}/state` },
    );
  }
  definition.state = state as SnapshotState;
  // Older snapshots carry only <domain><uuid>: no definition then, as libvirt.
  const domain = firstChild(root, "domain");
  if (attributeOf(domain, "type") !== undefined && domain !== undefined) {
    definition.domain = decodeDomain(domain, `${where}/domain`);
  }
  const inactive = firstChild(root, "inactiveDomain");
  if (inactive !== undefined) {
    definition.inactiveDomain = decodeDomain(inactive, `${where}/inactiveDomain`);
  }
  return state === "shutoff" || state === "disk-snapshot";
}

function decodeDomain(element: XmlElement, where: string): DomainDefinition {
  return decodeElement(
    DOMAIN,
    { ...element, name: "domain" },
    where,
  ) as unknown as DomainDefinition;
}

function readMemory(
  root: XmlElement,
  definition: SnapshotDefinition,
  offline: boolean,
  redefine: boolean,
  where: string,
): void {
  const memory = firstChild(root, "memory");
  let location: SnapshotLocation | undefined;
  if (memory !== undefined) {
    refuseUnknown(memory, `${where}/memory`, [], ["snapshot", "file"]);
    const file = attributeOf(memory, "file");
    if (file !== undefined) definition.memoryFile = file;
    location = readLocation(memory, "memory", `${where}/memory/@snapshot`);
    if (location === "manual") {
      throw new VirtError(ErrorCode.XML_ERROR, "'manual' memory snapshot mode not supported", {
        where: `${where}/memory/@snapshot`,
      });
    }
  }
  if (location === undefined) {
    if (definition.memoryFile !== undefined) location = "external";
    else if (redefine) location = offline ? "no" : "internal";
  }
  if (definition.memoryFile !== undefined && location !== "external") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `memory filename '${definition.memoryFile}' requires external snapshot`,
      { where: `${where}/memory/@file` },
    );
  }
  if (definition.memoryFile === undefined && location === "external") {
    throw new VirtError(ErrorCode.XML_ERROR, "external memory snapshots require a filename", {
      where: `${where}/memory/@file`,
    });
  }
  if (offline && location !== undefined && location !== "no") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      "memory state cannot be saved with offline or disk-only snapshot",
      { where: `${where}/memory` },
    );
  }
  if (definition.memoryFile !== undefined && !definition.memoryFile.startsWith("/")) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `memory snapshot file path (${definition.memoryFile}) must be absolute`,
      { where: `${where}/memory/@file` },
    );
  }
  if (location !== undefined) definition.memory = location;
}

/** `snapshot='…'` of `element`: absent → undefined; `default` or anything unknown → error 27. */
function readLocation(
  element: XmlElement,
  elementName: string,
  where: string,
): SnapshotLocation | undefined {
  const value = element.attributes?.snapshot;
  if (value === undefined) return undefined;
  if (!(SNAPSHOT_LOCATIONS as readonly string[]).includes(value)) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'snapshot' in element '${elementName}': '${value}'.`,
      { where },
    );
  }
  return value as SnapshotLocation;
}

/** The source attribute that holds the image's path, per storage type. */
const PATH_ATTRIBUTE: Readonly<Record<SnapshotDiskType, string>> = {
  file: "file",
  block: "dev",
  network: "name",
  nvme: "namespace",
  vhostuser: "path",
};

function parseDisk(element: XmlElement, where: string): SnapshotDisk {
  if (element.name !== "disk") {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `element '${element.name}' is not supported here`,
      {
        where,
      },
    );
  }
  refuseUnknown(element, where, ["source", "driver"], ["name", "snapshot", "type"]);
  const name = attributeOf(element, "name");
  if (name === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "missing name from disk snapshot element", {
      where: `${where}/@name`,
    });
  }
  const disk: SnapshotDisk = { name, type: "file" };
  const location = readLocation(element, "disk", `${where}/@snapshot`);
  const type = element.attributes?.type;
  if (type !== undefined) {
    if (type === "dir" || type === "volume") {
      throw new VirtError(ErrorCode.XML_ERROR, `unsupported disk snapshot type '${type}'`, {
        where: `${where}/@type`,
      });
    }
    if (!(SNAPSHOT_DISK_TYPES as readonly string[]).includes(type)) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'type' in element 'disk': '${type}'.`,
        { where: `${where}/@type` },
      );
    }
    disk.type = type as SnapshotDiskType;
  }
  const source = firstChild(element, "source");
  if (source !== undefined) readSource(source, disk, `${where}/source`);
  readDriver(firstChild(element, "driver"), disk, `${where}/driver`);
  if (
    disk.path !== undefined && (disk.type === "file" || disk.type === "block") &&
    !disk.path.startsWith("/")
  ) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `disk snapshot image path '${disk.path}' must be absolute`,
      { where: `${where}/source` },
    );
  }
  if (location !== undefined) disk.snapshot = location;
  else if (disk.path !== undefined || disk.format !== undefined) disk.snapshot = "external";
  return disk;
}

function readSource(source: XmlElement, disk: SnapshotDisk, where: string): void {
  if (source.attributes?.startupPolicy !== undefined) {
    // domainsnapshot.rng refuses it (libvirt's schema test keeps such a document as invalid):
    // a startup policy belongs to the domain's disk, not to a new overlay.
    throw new VirtError(
      ErrorCode.XML_ERROR,
      "a disk snapshot's source takes no 'startupPolicy'",
      { where: `${where}/@startupPolicy` },
    );
  }
  const path = attributeOf(source, PATH_ATTRIBUTE[disk.type]);
  if (path !== undefined) disk.path = path;
  const hasContent = Object.keys(source.attributes ?? {}).length > 0 ||
    elementsOf(source).length > 0;
  if (hasContent) disk.source = source;
}

function readDriver(driver: XmlElement | undefined, disk: SnapshotDisk, where: string): void {
  if (driver === undefined) return;
  refuseUnknown(driver, where, ["metadata_cache"], ["type", "name"]);
  const format = attributeOf(driver, "type");
  if (format !== undefined) {
    if (!STORAGE_FORMATS.has(format)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `unknown disk snapshot driver '${format}'`,
        { where: `${where}/@type` },
      );
    }
    disk.format = format;
  }
  const cache = firstChild(driver, "metadata_cache");
  if (cache === undefined) return;
  for (const maxSize of childrenNamed(cache, "max_size").slice(0, 1)) {
    const text = textOf(maxSize)?.trim() ?? "";
    const bytes = parseSize(text, attributeOf(maxSize, "unit"), `${where}/metadata_cache/max_size`);
    if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new VirtError(ErrorCode.XML_ERROR, `metadata cache size '${text}' is too large`, {
        where: `${where}/metadata_cache/max_size`,
      });
    }
    // A number, not a bigint: the definition is stored as JSON in the log.
    disk.metadataCacheMaxBytes = Number(bytes);
  }
}
