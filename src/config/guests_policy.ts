/**
 * What happens to the host's guests when they are stopped and started as a whole, in
 * libvirt-guests' words (`/etc/default/libvirt-guests`), read from the environment:
 *
 * | variable | libvirt-guests | meaning | default |
 * | --- | --- | --- | --- |
 * | `EVIRT_ON_BOOT` | `ON_BOOT` | `start`: the guests listed at the last stop are started at the service's start (a managed save image is restored); `ignore`: the list is dropped | `ignore` |
 * | `EVIRT_ON_SHUTDOWN` | `ON_SHUTDOWN` | what `evirt host shutdown-guests` does to each running guest: `suspend` (managed save; persistent guests only) or `shutdown` (ACPI) | `shutdown` |
 * | `EVIRT_PARALLEL_SHUTDOWN` | `PARALLEL_SHUTDOWN` | guests shut down at once; 0 or 1: one after the other | `0` |
 * | `EVIRT_SHUTDOWN_TIMEOUT` | `SHUTDOWN_TIMEOUT` | seconds a guest (one after the other) or all of them (in parallel) may take to shut down | `300` |
 * | `EVIRT_START_DELAY` | `START_DELAY` | seconds between two guests' starts | `0` |
 * | `EVIRT_BYPASS_CACHE` | `BYPASS_CACHE` | `1`: save and restore past the file system cache | `0` |
 * | `EVIRT_SYNC_TIME` | `SYNC_TIME` | `1`: the guest agent sets the guest's clock after its start | `0` |
 *
 * One value libvirt-guests takes is refused: `SHUTDOWN_TIMEOUT=0` (no timeout at all; evirt
 * bounds every wait). `BYPASS_CACHE=1` saves and restores with O_DIRECT (`--bypass-cache`).
 *
 * The policy acts only when asked (`evirt host shutdown-guests`, the systemd unit's `ExecStop`
 * when installed with it) and at the service's start: a plain SIGTERM or SIGKILL of the service
 * never touches a running guest.
 *
 * @module
 */

import { ConfigError } from "./config.ts";

/** `ON_BOOT`'s values. */
export const ON_BOOT_VALUES = ["start", "ignore"] as const;
/** `ON_SHUTDOWN`'s values. */
export const ON_SHUTDOWN_VALUES = ["suspend", "shutdown"] as const;

/** Longest `SHUTDOWN_TIMEOUT` and `START_DELAY`, in seconds: a day. */
export const GUESTS_SECONDS_MAX = 86_400;
/** Most guests shut down at once. */
export const PARALLEL_SHUTDOWN_MAX = 1024;

/** The settings as configured. */
export interface GuestsPolicy {
  /** `ON_BOOT`. */
  onBoot: (typeof ON_BOOT_VALUES)[number];
  /** `ON_SHUTDOWN`. */
  onShutdown: (typeof ON_SHUTDOWN_VALUES)[number];
  /** `PARALLEL_SHUTDOWN`: 0 and 1 shut down one guest after the other. */
  parallelShutdown: number;
  /** `SHUTDOWN_TIMEOUT`, in seconds (at least 1). */
  shutdownTimeoutSeconds: number;
  /** `START_DELAY`, in seconds. */
  startDelaySeconds: number;
  /** `BYPASS_CACHE`: managed saves written and read past the page cache. */
  bypassCache: boolean;
  /** `SYNC_TIME`. */
  syncTime: boolean;
}

/** libvirt-guests' defaults. */
export const GUESTS_POLICY_DEFAULT: GuestsPolicy = {
  onBoot: "ignore",
  onShutdown: "shutdown",
  parallelShutdown: 0,
  shutdownTimeoutSeconds: 300,
  startDelaySeconds: 0,
  bypassCache: false,
  syncTime: false,
};

/**
 * Reads the policy from `env`.
 *
 * @throws {ConfigError} When a variable has an invalid value; the message names it.
 *
 * @example
 * ```ts
 * import { loadGuestsPolicy } from "./guests_policy.ts";
 * const policy = loadGuestsPolicy({ EVIRT_ON_SHUTDOWN: "suspend", EVIRT_ON_BOOT: "start" });
 * console.log(policy.onShutdown, policy.onBoot, policy.shutdownTimeoutSeconds); // "suspend" "start" 300
 * ```
 */
export function loadGuestsPolicy(env: Record<string, string | undefined>): GuestsPolicy {
  const defaults = GUESTS_POLICY_DEFAULT;
  const onBoot = word(env, "EVIRT_ON_BOOT", ON_BOOT_VALUES, defaults.onBoot);
  const onShutdown = word(env, "EVIRT_ON_SHUTDOWN", ON_SHUTDOWN_VALUES, defaults.onShutdown);
  const parallelShutdown = count(
    env,
    "EVIRT_PARALLEL_SHUTDOWN",
    0,
    PARALLEL_SHUTDOWN_MAX,
    defaults.parallelShutdown,
  );
  const shutdownTimeoutSeconds = count(
    env,
    "EVIRT_SHUTDOWN_TIMEOUT",
    1,
    GUESTS_SECONDS_MAX,
    defaults.shutdownTimeoutSeconds,
    "evirt bounds every wait: libvirt-guests' 0 (no timeout) is not offered",
  );
  const startDelaySeconds = count(
    env,
    "EVIRT_START_DELAY",
    0,
    GUESTS_SECONDS_MAX,
    defaults.startDelaySeconds,
  );
  const bypassCache = flag(env, "EVIRT_BYPASS_CACHE");
  return {
    onBoot,
    onShutdown,
    parallelShutdown,
    shutdownTimeoutSeconds,
    startDelaySeconds,
    bypassCache,
    syncTime: flag(env, "EVIRT_SYNC_TIME"),
  };
}

function word<T extends string>(
  env: Record<string, string | undefined>,
  variable: string,
  values: readonly T[],
  fallback: T,
): T {
  const text = env[variable];
  if (text === undefined || text === "") return fallback;
  if (!(values as readonly string[]).includes(text)) {
    throw new ConfigError(variable, `must be ${values.join(" or ")}, got '${text}'`);
  }
  return text as T;
}

function count(
  env: Record<string, string | undefined>,
  variable: string,
  min: number,
  max: number,
  fallback: number,
  why?: string,
): number {
  const text = env[variable];
  if (text === undefined || text === "") return fallback;
  const value = /^[0-9]{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new ConfigError(
      variable,
      `must be an integer from ${min} to ${max}, got '${text}'${
        why === undefined ? "" : ` (${why})`
      }`,
    );
  }
  return value;
}

/** libvirt-guests' test: anything but `0` is on; here `0` or `1`. */
function flag(env: Record<string, string | undefined>, variable: string): boolean {
  const text = env[variable];
  if (text === undefined || text === "") return false;
  if (text !== "0" && text !== "1") {
    throw new ConfigError(variable, `must be 0 or 1, got '${text}'`);
  }
  return text === "1";
}
