/**
 * The QEMU confinement settings, read from the environment (qemu.conf's `user`, `group` and
 * `dynamic_ownership`):
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `EVIRT_QEMU_USER` | user QEMU runs as: a name, or `+UID` | `libvirt-qemu` where it exists, else `evirt-qemu` (created as a system user) |
 * | `EVIRT_QEMU_GROUP` | its group: a name, or `+GID` | the group named as the user, else the user's primary group |
 * | `EVIRT_QEMU_DYNAMIC_OWNERSHIP` | `1`: files a guest uses are given to that user at start and given back at stop; `0`: left alone | `1` |
 *
 * They apply when the service runs as root; an unprivileged service runs QEMU as itself
 * (libvirt's session mode). A domain's `<seclabel>` overrides them (`drivers/qemu/dac_policy.ts`).
 *
 * @module
 */

import { ConfigError } from "./config.ts";

/** The settings as configured (names not yet resolved). */
export interface QemuConfinementConfig {
  /** `EVIRT_QEMU_USER`, or null for the default. */
  user: string | null;
  /** `EVIRT_QEMU_GROUP`, or null for the default. */
  group: string | null;
  /** `EVIRT_QEMU_DYNAMIC_OWNERSHIP`. */
  dynamicOwnership: boolean;
}

/** A user or group as qemu.conf takes it: a name, or `+ID`. */
const ACCOUNT_PATTERN = /^(\+[0-9]{1,10}|[a-z_][a-z0-9_.-]{0,31}\$?)$/i;

/**
 * Reads the settings from `env`.
 *
 * @throws {ConfigError} When a variable has an invalid value; the message names it.
 *
 * @example
 * ```ts
 * import { loadQemuConfinement } from "./qemu_confinement.ts";
 * console.log(loadQemuConfinement({ EVIRT_QEMU_USER: "+107" }));
 * // { user: "+107", group: null, dynamicOwnership: true }
 * ```
 */
export function loadQemuConfinement(
  env: Record<string, string | undefined>,
): QemuConfinementConfig {
  const account = (variable: string): string | null => {
    const text = env[variable];
    if (text === undefined || text === "") return null;
    if (!ACCOUNT_PATTERN.test(text)) {
      throw new ConfigError(variable, `must be a user or group name or +ID, got '${text}'`);
    }
    return text;
  };
  const ownership = env.EVIRT_QEMU_DYNAMIC_OWNERSHIP;
  if (ownership !== undefined && ownership !== "" && ownership !== "0" && ownership !== "1") {
    throw new ConfigError("EVIRT_QEMU_DYNAMIC_OWNERSHIP", `must be 0 or 1, got '${ownership}'`);
  }
  return {
    user: account("EVIRT_QEMU_USER"),
    group: account("EVIRT_QEMU_GROUP"),
    dynamicOwnership: ownership !== "0",
  };
}
