/**
 * `parseDomainXml`: libvirt domain XML text → {@linkcode DomainDefinition}.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { DOMAIN } from "../model/domain_schema.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { decodeElement } from "./element_decode.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

/** Limits of {@linkcode parseDomainXml}: the document size in bytes and the element depth. */
export type ParseDomainOptions = XmlReadOptions;

/**
 * Parses a domain definition. This is a structural parse: it applies no defaults and makes no
 * semantic checks (see `applyDomainDefaults` and `validateDomain`), so formatting the result
 * gives the document back, with sizes in KiB and unknown content in place.
 *
 * @param text The XML document.
 * @param options Size (default 4 MiB) and depth (default 256) limits.
 * @returns The typed definition (plain JSON).
 * @throws {VirtError} Code 27 for malformed XML, a broken limit, a DOCTYPE or entity, a root
 *   other than `<domain>`, a malformed value or a missing required part; `where` says where.
 *
 * @example Reading a definition
 * ```ts
 * import { parseDomainXml } from "./parse_domain.ts";
 * const def = parseDomainXml(
 *   "<domain type='qemu'><name>demo</name><memory unit='MiB'>512</memory><os><type>hvm</type></os></domain>",
 * );
 * console.log(def.name, def.memoryKiB, def.devices.disks.length); // "demo" 524288 0
 * ```
 */
export function parseDomainXml(text: string, options: ParseDomainOptions = {}): DomainDefinition {
  const root = readXml(text, options);
  if (root.name !== "domain") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `unexpected root element <${root.name}>, expecting <domain>`,
      { where: `/${root.name}` },
    );
  }
  const definition = decodeElement(DOMAIN, root, "/domain") as unknown as DomainDefinition;
  // `<mirror>` is output only (a running block job's): libvirt ignores it on input.
  if (definition.devices.disks.some((disk) => disk.mirror !== undefined)) {
    definition.devices.disks = definition.devices.disks.map((disk) => {
      if (disk.mirror === undefined) return disk;
      const { mirror: _ignored, ...rest } = disk;
      return rest;
    });
  }
  return definition;
}
