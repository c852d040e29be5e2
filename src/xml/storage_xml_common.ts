/**
 * Pieces shared by the pool and volume XML parsers and formatters: reading children the way
 * libvirt's XPath lookups do (first match, text of all descendants), refusing elements evirt
 * does not know, permissions, sizes with units, UUIDs, path sanitising, and a line buffer that
 * writes the way libvirt's virBuffer does (two-space indent, `'` quotes, escaped text).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { SecretReference, StoragePermissions } from "../model/storage_pool.ts";
import { unitBytes } from "../model/units.ts";
import type { XmlElement } from "../model/xml_extra.ts";

/** Largest size libvirt accepts for a capacity or allocation (off_t is signed). */
export const STORAGE_SIZE_MAX_BYTES = 2n ** 63n - 1n;

/** The element children of `element`, in order. */
export function elementsOf(element: XmlElement): XmlElement[] {
  return (element.children ?? []).filter((child): child is XmlElement => typeof child !== "string");
}

/** The first child element named `name`, as libvirt's `./name` XPath finds it. */
export function firstChild(element: XmlElement | undefined, name: string): XmlElement | undefined {
  if (element === undefined) return undefined;
  return elementsOf(element).find((child) => child.name === name);
}

/** Every child element named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return elementsOf(element).filter((child) => child.name === name);
}

/** The text of an element and its descendants (XPath `string()`), or undefined when absent. */
export function textOf(element: XmlElement | undefined): string | undefined {
  if (element === undefined) return undefined;
  let text = "";
  for (const child of element.children ?? []) {
    text += typeof child === "string" ? child : textOf(child) ?? "";
  }
  return text;
}

/** The text of the first child `name` (XPath `string(./name)`); an empty text counts as absent. */
export function childText(element: XmlElement | undefined, name: string): string | undefined {
  const text = textOf(firstChild(element, name));
  return text === undefined || text === "" ? undefined : text;
}

/** An attribute; an empty value counts as absent, as in libvirt's XPath string lookups. */
export function attributeOf(element: XmlElement | undefined, name: string): string | undefined {
  const value = element?.attributes?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Refuses a child element (or attribute) that `allowed` does not list: evirt never drops what
 * a user wrote without saying so.
 *
 * @throws {VirtError} Code 67 naming the element and where it is.
 */
export function refuseUnknown(
  element: XmlElement,
  where: string,
  allowedElements: readonly string[],
  allowedAttributes: readonly string[] = [],
): void {
  for (const child of elementsOf(element)) {
    if (!allowedElements.includes(child.name)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `element '${child.name}' is not supported here`,
        { where: `${where}/${child.name}` },
      );
    }
  }
  for (const name of Object.keys(element.attributes ?? {})) {
    if (name.startsWith("xmlns")) continue;
    if (!allowedAttributes.includes(name)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `attribute '${name}' is not supported here`,
        { where: `${where}/@${name}` },
      );
    }
  }
}

/**
 * libvirt's path clean-up (virFileSanitizePath): repeated `/` become one and a trailing `/`
 * goes, but a leading `//` (and only exactly two) stays, as POSIX allows.
 *
 * @example
 * ```ts
 * import { sanitizePath } from "./storage_xml_common.ts";
 * console.log(sanitizePath("///var/////lib//")); // "/var/lib"
 * ```
 */
export function sanitizePath(path: string): string {
  let start = 0;
  let prefix = "";
  if (path.startsWith("//") && path.charAt(2) !== "/") {
    prefix = "//";
    start = 2;
  }
  let clean = prefix + path.slice(start).replace(/\/+/g, "/");
  if (clean.length > 1 && clean.endsWith("/") && clean !== "//") clean = clean.slice(0, -1);
  return clean;
}

const OWNER_MAX = 2 ** 32 - 1;

function readId(text: string, what: "owner" | "group", where: string): number | undefined {
  const trimmed = text.trim();
  const value = /^-?\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(value) || (value !== -1 && (value < 0 || value > OWNER_MAX))) {
    throw new VirtError(ErrorCode.XML_ERROR, `malformed ${what} element`, { where });
  }
  return value === -1 ? undefined : value;
}

/**
 * Reads `<permissions>` (absent: everything unset) as libvirt does: an octal mode within
 * 0777, a decimal owner and group where `-1` means unset, and a label.
 *
 * @throws {VirtError} Code 27 for a malformed mode, owner or group.
 */
export function parsePermissions(
  element: XmlElement | undefined,
  where: string,
): StoragePermissions {
  if (element === undefined) return {};
  refuseUnknown(element, where, ["mode", "owner", "group", "label"]);
  const permissions: StoragePermissions = {};
  const mode = childText(element, "mode");
  if (mode !== undefined) {
    const match = /^\s*\+?([0-7]+)$/.exec(mode);
    const value = match === null ? NaN : parseInt(match[1], 8);
    if (!(value >= 0 && value <= 0o777)) {
      throw new VirtError(ErrorCode.XML_ERROR, "malformed octal mode", { where: `${where}/mode` });
    }
    permissions.mode = value;
  }
  const ownerElement = firstChild(element, "owner");
  if (ownerElement !== undefined) {
    const owner = readId(textOf(ownerElement) ?? "", "owner", `${where}/owner`);
    if (owner !== undefined) permissions.owner = owner;
  }
  const groupElement = firstChild(element, "group");
  if (groupElement !== undefined) {
    const group = readId(textOf(groupElement) ?? "", "group", `${where}/group`);
    if (group !== undefined) permissions.group = group;
  }
  const label = childText(element, "label");
  if (label !== undefined) permissions.label = label;
  return permissions;
}

/** Writes `<permissions>` when anything in it is set, as libvirt does. */
export function formatPermissions(out: LineBuffer, permissions: StoragePermissions): void {
  const { mode, owner, group, label } = permissions;
  if (mode === undefined && owner === undefined && group === undefined && label === undefined) {
    return;
  }
  out.open("<permissions>");
  if (mode !== undefined) out.line(`<mode>0${mode.toString(8)}</mode>`);
  // libvirt prints ids as C ints.
  if (owner !== undefined) out.line(`<owner>${owner | 0}</owner>`);
  if (group !== undefined) out.line(`<group>${group | 0}</group>`);
  if (label !== undefined) out.line(`<label>${escapeXml(label)}</label>`);
  out.close("</permissions>");
}

/**
 * A size with an optional unit (libvirt's virStorageSize): a non-negative decimal, scaled,
 * at most 2^63 - 1 bytes.
 *
 * @throws {VirtError} Code 27 for a malformed number, 8 for an unknown unit, 82 on overflow.
 */
export function parseSize(text: string, unit: string | undefined, where: string): bigint {
  const trimmed = text.trim();
  if (!/^\+?\d+$/.test(trimmed)) {
    throw new VirtError(ErrorCode.XML_ERROR, "malformed capacity element", { where });
  }
  const value = BigInt(trimmed.replace("+", ""));
  const scale = unit === undefined ? 1n : unitBytes(unit);
  if (scale === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `unknown suffix '${unit}'`, { where });
  }
  if (value > STORAGE_SIZE_MAX_BYTES / scale) {
    throw new VirtError(ErrorCode.OVERFLOW, `value too large: ${value}${unit ?? ""}`, { where });
  }
  return value * scale;
}

/**
 * A UUID as libvirt reads it (32 hex digits, `-` allowed between pairs, spaces around),
 * written back lower-case and dashed.
 *
 * @throws {VirtError} Code 27 `malformed uuid element`.
 */
export function parseUuid(text: string, where: string): string {
  const digits = text.trim().replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(digits) || /--/.test(text) || /^\s*-/.test(text)) {
    throw new VirtError(ErrorCode.XML_ERROR, "malformed uuid element", { where });
  }
  const hex = digits.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/**
 * A `<secret type? uuid|usage>` reference.
 *
 * @throws {VirtError} Code 27 when it has neither uuid nor usage, or both.
 */
export function parseSecretReference(element: XmlElement, where: string): SecretReference {
  refuseUnknown(element, where, [], ["type", "uuid", "usage"]);
  const type = attributeOf(element, "type");
  const uuid = attributeOf(element, "uuid");
  const usage = attributeOf(element, "usage");
  if (uuid !== undefined && usage !== undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "either secret uuid or usage expected", { where });
  }
  const typed = type === undefined ? {} : { type };
  if (uuid !== undefined) return { ...typed, uuid: parseUuid(uuid, `${where}/@uuid`) };
  if (usage !== undefined) return { ...typed, usage };
  throw new VirtError(ErrorCode.XML_ERROR, "missing auth secret uuid or usage attribute", {
    where,
  });
}

/** Writes a `<secret>` reference on one line. */
export function formatSecretReference(out: LineBuffer, secret: SecretReference): void {
  const type = secret.type === undefined ? "" : ` type='${escapeXml(secret.type)}'`;
  const key = "uuid" in secret ? ` uuid='${secret.uuid}'` : ` usage='${escapeXml(secret.usage)}'`;
  out.line(`<secret${type}${key}/>`);
}

/** Escapes text or an attribute value as libvirt's virBufferEscapeString does. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>'"]/g, (character) => ESCAPES[character]);
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "'": "&apos;",
  '"': "&quot;",
};

/**
 * Lines with libvirt's two-space indentation.
 *
 * @example
 * ```ts
 * import { LineBuffer } from "./storage_xml_common.ts";
 * const out = new LineBuffer();
 * out.open("<a>");
 * out.line("<b/>");
 * out.close("</a>");
 * console.log(out.text()); // "<a>\n  <b/>\n</a>\n"
 * ```
 */
export class LineBuffer {
  #text = "";
  #indent = "";

  /** Writes one line at the current indentation. */
  line(text: string): void {
    this.#text += this.#indent + text + "\n";
  }

  /** Writes a line and indents what follows. */
  open(text: string): void {
    this.line(text);
    this.#indent += "  ";
  }

  /** Outdents, then writes a line. */
  close(text: string): void {
    this.#indent = this.#indent.slice(2);
    this.line(text);
  }

  /** Everything written. */
  text(): string {
    return this.#text;
  }
}
