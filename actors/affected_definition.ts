/**
 * Which definition a `VIR_DOMAIN_AFFECT_*` read of a domain looks at (libvirt's procedures and
 * evirt's API read the same way).
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { AFFECT_CONFIG, AFFECT_LIVE } from "../src/model/domain_resources.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { Host } from "./host.ts";

/**
 * Which definition a `VIR_DOMAIN_AFFECT_*` read looks at, as libvirt decides: the live one when
 * asked or by default while active, else the persistent one.
 *
 * @throws {VirtError} INVALID_ARG (8) for both flags; OPERATION_INVALID (55) for a live read
 *   of an inactive domain.
 */
export function affected(host: Host, uuid: string, flags: number): DomainDefinition {
  if ((flags & AFFECT_LIVE) !== 0 && (flags & AFFECT_CONFIG) !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "flags 'affect live' and 'affect config' are mutually exclusive",
      { where: "flags" },
    );
  }
  const inspection = host.inspect(uuid);
  const active = inspection.summary.active;
  if ((flags & AFFECT_LIVE) !== 0 && !active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if ((flags & AFFECT_CONFIG) !== 0 && inspection.persistentDefinition === null) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "transient domains do not have any persistent config",
    );
  }
  const live = (flags & AFFECT_CONFIG) === 0 && active;
  return live ? inspection.definition : inspection.persistentDefinition ?? inspection.definition;
}
