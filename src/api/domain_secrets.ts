/**
 * What read-only callers must never read: the secrets a domain definition can carry (a graphics
 * console's `passwd`), and libvirt's refusal of the secure flag on read-only connections.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { graphicsWithoutPasswords } from "../xml/format_domain.ts";
import type { Role } from "./api_context.ts";

/**
 * The definition without its secrets (the same ones the XML leaves out without `secure`).
 *
 * @example
 * ```ts ignore
 * const shown = withoutSecrets(definition);
 * ```
 */
export function withoutSecrets(definition: DomainDefinition): DomainDefinition {
  if (!definition.devices.graphics.some((graphics) => graphics.passwd !== undefined)) {
    return definition;
  }
  return {
    ...definition,
    devices: {
      ...definition.devices,
      graphics: graphicsWithoutPasswords(definition.devices.graphics),
    },
  };
}

/**
 * Refuses the secure flag to a read-only caller with code 29, as libvirt's
 * `virDomainGetXMLDesc` does on a read-only connection.
 *
 * @throws {VirtError} Code 29 when `secure` is asked by a read-only caller.
 */
export function checkSecureAllowed(role: Role, secure: boolean, api: string): void {
  if (secure && role === "read-only") {
    throw new VirtError(ErrorCode.OPERATION_DENIED, `${api} with secure flag`);
  }
}
