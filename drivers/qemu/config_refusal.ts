/**
 * Refusals of configurations the QEMU driver cannot express: code 67 (CONFIG_UNSUPPORTED) with
 * the element or attribute named in `where`, so nothing a user wrote is ever silently dropped.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { XmlExtra } from "../../src/model/domain.ts";

/**
 * A refusal: code 67 naming `where`.
 *
 * @param where The element or attribute path, e.g. `/domain/devices/disk[2]/driver/@io`.
 * @param message libvirt-style lower-case text saying what is not supported.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { refuseConfig } from "./config_refusal.ts";
 * const error = refuseConfig("/domain/devices/hostdev[1]", "host devices are not supported");
 * console.log(error.code, error.where); // 67 "/domain/devices/hostdev[1]"
 * ```
 */
export function refuseConfig(where: string, message: string): VirtError {
  return new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

/** What of an element's {@linkcode XmlExtra} the caller handles itself and so accepts. */
export interface ExtraAllowance {
  /** Attribute names accepted (e.g. namespace declarations). */
  attributes?: (name: string) => boolean;
  /** Child element names accepted. */
  elements?: (name: string) => boolean;
}

/**
 * Throws a refusal for the first part of `extra` (what the typed model did not take) that the
 * driver does not handle: an unknown attribute, child element, text or leftover of a flattened
 * child.
 *
 * @param extra The element's extra content, or undefined for none.
 * @param where The element's path.
 * @param allowance What the caller handles itself.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the unsupported part.
 *
 * @example
 * ```ts
 * import { refuseExtra } from "./config_refusal.ts";
 * try {
 *   refuseExtra({ elements: [{ element: { name: "iotune" } }] }, "/domain/devices/disk[1]");
 * } catch (error) {
 *   console.log((error as Error).message); // "element 'iotune' is not supported by the qemu driver"
 * }
 * ```
 */
export function refuseExtra(
  extra: XmlExtra | undefined,
  where: string,
  allowance: ExtraAllowance = {},
): void {
  if (extra === undefined) return;
  for (const name of Object.keys(extra.attributes ?? {})) {
    if (name.startsWith("xmlns:") || name === "xmlns") continue;
    if (allowance.attributes?.(name)) continue;
    throw refuseConfig(
      `${where}/@${name}`,
      `attribute '${name}' is not supported by the qemu driver`,
    );
  }
  for (const placed of extra.elements ?? []) {
    const name = placed.element.name;
    if (allowance.elements?.(name)) continue;
    throw refuseConfig(
      `${where}/${name}`,
      `element '${name}' is not supported by the qemu driver`,
    );
  }
  if (extra.text !== undefined && extra.text.trim() !== "") {
    throw refuseConfig(where, `text content of '${where}' is not supported by the qemu driver`);
  }
  for (const [child, leftover] of Object.entries(extra.children ?? {})) {
    refuseExtra(leftover, `${where}/${child}`);
  }
}
