/**
 * The domain-name part of `validateDomain`: the names libvirt 9.0's QEMU driver defines.
 *
 * libvirt's rules, in its order (checked against libvirt 9.0's `virDomainDefineXML`):
 *
 * - empty: `missing name information` (21, `NO_NAME`);
 * - a `/`: `name a/b cannot contain '/'` (27);
 * - a newline: `invalid char in name: ⏎` (35, `XML_DETAIL`); evirt refuses every other
 *   character XML 1.0 cannot carry the same way, since such a name (possible in the JSON form)
 *   could never be written back as XML;
 * - `.` and `..`: libvirt fails while making the domain's files (38, `Invalid argument`);
 * - longer than {@linkcode DOMAIN_NAME_MAX_BYTES}: libvirt fails writing its config file
 *   `NAME.xml.new` (38, `File name too long`). Drivers may store the name in longer file
 *   names still and refuse more at define (the QEMU driver's per-domain logs).
 *
 * A name of spaces only is accepted, as libvirt accepts it.
 *
 * @module
 */

import { ErrorCode } from "../model/errors.ts";
import { XML_FORBIDDEN_CHARACTERS } from "../model/xml_extra.ts";
import { invalid } from "./validation_failure.ts";

/** Longest file name Linux accepts (NAME_MAX), in bytes. */
export const FILE_NAME_MAX_BYTES = 255;

/**
 * Longest domain name, in UTF-8 bytes: libvirt stores a domain's configuration as
 * `NAME.xml.new` before renaming it, so its longest name is 255 − 8 bytes.
 */
export const DOMAIN_NAME_MAX_BYTES = FILE_NAME_MAX_BYTES - ".xml.new".length;

const NAME_WHERE = "/domain/name";
const encoder = new TextEncoder();

/**
 * Checks a domain name as libvirt does at define (see the module notes).
 *
 * @param name The name.
 * @throws {VirtError} Code 21, 27, 35 or 38 with `where` `/domain/name`.
 *
 * @example Refusing a name with a slash
 * ```ts
 * import { validateDomainName } from "./validate_name.ts";
 * try {
 *   validateDomainName("a/b");
 * } catch (error) {
 *   console.log((error as Error).message); // "name a/b cannot contain '/'"
 * }
 * ```
 */
export function validateDomainName(name: string): void {
  if (name === "") {
    throw invalid(ErrorCode.NO_NAME, "missing name information", NAME_WHERE);
  }
  // Long names are refused by length below; the messages before quote at most this much.
  const shown = name.length > DOMAIN_NAME_MAX_BYTES ? `${name.slice(0, 64)}…` : name;
  if (name.includes("/")) {
    throw invalid(ErrorCode.XML_ERROR, `name ${shown} cannot contain '/'`, NAME_WHERE);
  }
  const illegal = name.includes("\n") ? "\n" : XML_FORBIDDEN_CHARACTERS.exec(name)?.[0];
  if (illegal !== undefined) {
    throw invalid(ErrorCode.XML_DETAIL, `invalid char in name: ${illegal}`, NAME_WHERE);
  }
  if (name === "." || name === "..") {
    throw invalid(
      ErrorCode.SYSTEM_ERROR,
      `name '${name}' cannot be used as a file name: Invalid argument`,
      NAME_WHERE,
    );
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: count exactly only near the limit.
  const long = name.length > DOMAIN_NAME_MAX_BYTES ||
    (name.length * 3 > DOMAIN_NAME_MAX_BYTES &&
      encoder.encode(name).length > DOMAIN_NAME_MAX_BYTES);
  if (long) {
    throw invalid(
      ErrorCode.SYSTEM_ERROR,
      `name '${shown}' is longer than ${DOMAIN_NAME_MAX_BYTES} bytes and cannot be used as a file name: File name too long`,
      NAME_WHERE,
    );
  }
}
