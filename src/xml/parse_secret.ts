/**
 * `<secret>` XML parsed with libvirt 9.0's rules and messages (virSecretDefParse, `secret.rng`):
 * `ephemeral` and `private` (yes/no), an optional uuid (one is made when absent), a
 * description, and a usage of type volume, ceph, iscsi, tls or vtpm with its one child.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { SecretDefinition, SecretUsage } from "../model/secret.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { attributeOf, childText, firstChild, refuseUnknown } from "./storage_xml_common.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

const ROOT = "/secret";

/** The child naming each usage type's object, and libvirt's message when it is missing. */
const USAGE_CHILDREN: Readonly<Record<SecretUsage["type"], { child: string; missing: string }>> = {
  volume: { child: "volume", missing: "volume usage specified, but volume path is missing" },
  ceph: { child: "name", missing: "Ceph usage specified, but name is missing" },
  iscsi: { child: "target", missing: "iSCSI usage specified, but target is missing" },
  tls: { child: "name", missing: "TLS usage specified, but name is missing" },
  vtpm: { child: "name", missing: "vTPM usage specified, but name is missing" },
};

/**
 * Parses a `<secret>` document.
 *
 * @param text The XML.
 * @param makeUuid Makes the uuid of a document without one.
 * @throws {VirtError} libvirt's code and message for the first problem, with where it is.
 *
 * @example
 * ```ts
 * import { parseSecretXml } from "./parse_secret.ts";
 * const secret = parseSecretXml(
 *   "<secret private='yes'><usage type='ceph'><name>admin</name></usage></secret>",
 *   () => "e78d4b51-a2af-485f-b0f5-afca709a80f4",
 * );
 * console.log(secret.private, secret.usage); // true { type: "ceph", id: "admin" }
 * ```
 */
export function parseSecretXml(
  text: string,
  makeUuid: () => string = () => crypto.randomUUID(),
  options: XmlReadOptions = {},
): SecretDefinition {
  const root = readXml(text, options);
  if (root.name !== "secret") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `expecting root element of 'secret', not '${root.name}'`,
      { where: `/${root.name}` },
    );
  }
  refuseUnknown(root, ROOT, ["uuid", "description", "usage"], ["ephemeral", "private"]);
  const uuidText = childText(root, "uuid");
  const definition: SecretDefinition = {
    uuid: uuidText === undefined ? makeUuid() : secretUuid(uuidText),
    ephemeral: yesNo(root, "ephemeral"),
    private: yesNo(root, "private"),
  };
  const description = childText(root, "description");
  if (description !== undefined) definition.description = description;
  const usage = firstChild(root, "usage");
  if (usage !== undefined) definition.usage = parseUsage(usage);
  return definition;
}

/** A uuid as libvirt's secret parser takes it (virUUIDParse), written lower-case and dashed. */
function secretUuid(text: string): string {
  const digits = text.trim().replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(digits)) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "malformed uuid element", {
      where: `${ROOT}/uuid`,
    });
  }
  const hex = digits.toLowerCase();
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
    .join("-");
}

function yesNo(root: XmlElement, name: "ephemeral" | "private"): boolean {
  const value = attributeOf(root, name);
  if (value === undefined || value === "no") return false;
  if (value === "yes") return true;
  throw new VirtError(ErrorCode.XML_ERROR, `invalid value of '${name}'`, {
    where: `${ROOT}/@${name}`,
  });
}

function parseUsage(usage: XmlElement): SecretUsage {
  const where = `${ROOT}/usage`;
  const type = attributeOf(usage, "type");
  if (type === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "unknown secret usage type", { where });
  }
  if (!Object.hasOwn(USAGE_CHILDREN, type)) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown secret usage type ${type}`, {
      where: `${where}/@type`,
    });
  }
  const { child, missing } = USAGE_CHILDREN[type as SecretUsage["type"]];
  refuseUnknown(usage, where, [child], ["type"]);
  const id = childText(usage, child);
  if (id === undefined || id === "") {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, missing, { where: `${where}/${child}` });
  }
  return { type: type as SecretUsage["type"], id };
}

/**
 * The name of the element holding a usage type's object (`volume`, `name` or `target`).
 *
 * @example
 * ```ts
 * import { usageChildName } from "./parse_secret.ts";
 * console.log(usageChildName("iscsi")); // "target"
 * ```
 */
export function usageChildName(type: SecretUsage["type"]): string {
  return USAGE_CHILDREN[type].child;
}
