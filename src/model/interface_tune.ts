/**
 * `domiftune`'s parameters (virDomainGetInterfaceParameters / virDomainSetInterfaceParameters)
 * as libvirt 9.0 reads and merges them: seven unsigned ints, `inbound.*` and `outbound.*`
 * (KiB/s and KiB, as in `<bandwidth>`), read as 0 where unset; a set changes only the fields it
 * names, and a direction whose average ends at 0 (and, inbound, whose floor too) is removed.
 *
 * @module
 */

import type { NetInterface } from "./domain.ts";
import { ErrorCode, VirtError } from "./errors.ts";
import type { Bandwidth, BandwidthRate } from "./network.ts";

/** The parameters in libvirt's order (VIR_DOMAIN_BANDWIDTH_*). */
export const INTERFACE_TUNE_PARAMETERS = [
  "inbound.average",
  "inbound.peak",
  "inbound.burst",
  "inbound.floor",
  "outbound.average",
  "outbound.peak",
  "outbound.burst",
] as const;

/** One parameter's name. */
export type InterfaceTuneParameter = typeof INTERFACE_TUNE_PARAMETERS[number];

/** `REMOTE_DOMAIN_INTERFACE_PARAMETERS_MAX`. */
export const INTERFACE_PARAMETERS_MAX = 16;

/** Largest value of a parameter (an unsigned int). */
const UINT_MAX = 0xffff_ffff;

/**
 * The seven parameters of `bandwidth`, 0 where unset.
 *
 * @example
 * ```ts
 * import { interfaceTuneOf } from "./interface_tune.ts";
 * console.log(interfaceTuneOf({ inbound: { average: 100 } })[0]); // { name: "inbound.average", value: 100 }
 * ```
 */
export function interfaceTuneOf(
  bandwidth: Bandwidth | undefined,
): { name: InterfaceTuneParameter; value: number }[] {
  return INTERFACE_TUNE_PARAMETERS.map((name) => {
    const [direction, field] = name.split(".") as [keyof Bandwidth, keyof BandwidthRate];
    return { name, value: bandwidth?.[direction]?.[field] ?? 0 };
  });
}

/**
 * `bandwidth` with `settings` applied as libvirt's qemuDomainSetInterfaceParameters applies
 * them: a direction any setting names is replaced by what the settings give it (0 meaning
 * unset), and dropped when that has no average (inbound: nor floor); a direction none names
 * is kept. Undefined when nothing is left.
 *
 * @throws {VirtError} Code 8 for a parameter libvirt does not know or a value out of range.
 *
 * @example
 * ```ts
 * import { withInterfaceTune } from "./interface_tune.ts";
 * console.log(withInterfaceTune({ inbound: { average: 100 } }, [{ name: "inbound.average", value: 0 }])); // undefined
 * ```
 */
export function withInterfaceTune(
  bandwidth: Bandwidth | undefined,
  settings: readonly { name: string; value: number }[],
): Bandwidth | undefined {
  const next: Bandwidth = structuredClone(bandwidth ?? {});
  const given = new Map<string, number>();
  for (const { name, value } of settings) {
    if (!(INTERFACE_TUNE_PARAMETERS as readonly string[]).includes(name)) {
      throw new VirtError(ErrorCode.INVALID_ARG, `parameter '${name}' not supported`, {
        where: name,
      });
    }
    if (!Number.isSafeInteger(value) || value < 0 || value > UINT_MAX) {
      throw new VirtError(ErrorCode.INVALID_ARG, `invalid value '${value}' of ${name}`, {
        where: name,
      });
    }
    given.set(name, value);
  }
  for (const direction of ["inbound", "outbound"] as const) {
    if (![...given.keys()].some((name) => name.startsWith(`${direction}.`))) continue;
    const rate: BandwidthRate = {};
    for (const field of ["average", "peak", "floor", "burst"] as const) {
      const value = given.get(`${direction}.${field}`) ?? 0;
      if (value !== 0) rate[field] = value;
    }
    if (rate.average === undefined && rate.floor === undefined) delete next[direction];
    else next[direction] = rate;
  }
  return next.inbound === undefined && next.outbound === undefined ? undefined : next;
}

/**
 * The index of the interface `device` names — its host-side device (`<target dev>`) or its
 * MAC address — as libvirt's virDomainNetFind.
 *
 * @throws {VirtError} Code 8 `'…' is not a known interface`.
 */
export function interfaceIndexOf(interfaces: readonly NetInterface[], device: string): number {
  const mac = device.toLowerCase();
  const byMac = interfaces.findIndex((nic) => nic.mac?.toLowerCase() === mac);
  const index = byMac >= 0 ? byMac : interfaces.findIndex((nic) => nic.target?.dev === device);
  if (index < 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `'${device}' is not a known interface`, {
      where: "device",
    });
  }
  return index;
}

/**
 * virsh's `--inbound`/`--outbound` text (`average[,peak[,burst[,floor]]]`) as the parameters
 * virsh sends: the average always, the others where not 0.
 *
 * @throws {VirtError} Code 8 for a malformed rate, a floor on outbound, or a peak or burst
 *   without an average (virsh's words).
 *
 * @example
 * ```ts
 * import { rateSettings } from "./interface_tune.ts";
 * console.log(rateSettings("inbound", "100,0,20")); // [{ name: "inbound.average", value: 100 }, { name: "inbound.burst", value: 20 }]
 * ```
 */
export function rateSettings(
  direction: "inbound" | "outbound",
  text: string,
): { name: InterfaceTuneParameter; value: number }[] {
  const parts = text.split(",");
  const fields = direction === "inbound"
    ? ["average", "peak", "burst", "floor"] as const
    : ["average", "peak", "burst"] as const;
  if (parts.length > fields.length || parts.some((part) => !/^\d*$/.test(part))) {
    throw new VirtError(ErrorCode.INVALID_ARG, `malformed ${direction} rate '${text}'`, {
      where: direction,
    });
  }
  const values = fields.map((_, index) => Number(parts[index] || "0"));
  for (const value of values) {
    if (!Number.isSafeInteger(value) || value > UINT_MAX) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `${direction} rate larger than maximum ${UINT_MAX}`,
        { where: direction },
      );
    }
  }
  const [average, peak, burst, floor = 0] = values;
  if (average === 0 && (peak !== 0 || burst !== 0) && floor === 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      direction === "inbound"
        ? "either inbound average or floor is mandatory"
        : "outbound average is mandatory",
      { where: direction },
    );
  }
  const settings: { name: InterfaceTuneParameter; value: number }[] = [
    { name: `${direction}.average`, value: average },
  ];
  if (peak !== 0) settings.push({ name: `${direction}.peak`, value: peak });
  if (burst !== 0) settings.push({ name: `${direction}.burst`, value: burst });
  if (direction === "inbound" && floor !== 0) {
    settings.push({ name: "inbound.floor", value: floor });
  }
  return settings;
}
