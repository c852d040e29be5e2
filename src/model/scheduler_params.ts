/**
 * `virsh schedinfo --set` (`virDomainSetSchedulerParameters[Flags]`) as libvirt 9.0's QEMU driver
 * checks it: the parameters `virTypedParamsValidate` takes (names and types), the CFS period
 * and quota ranges (`SCHED_RANGE_CHECK`), and the definition with `<cputune>` changed.
 *
 * Each parameter is one `<cputune>` element: `cpu_shares` `<shares>`, `vcpu_period`/`vcpu_quota`
 * `<period>`/`<quota>`, and `<global_*>`, `<emulator_*>`, `<iothread_*>` by their names.
 *
 * @module
 */

import type { DomainDefinition } from "./domain.ts";
import type { AppliedTuning } from "./domain_resources.ts";
import { ErrorCode, VirtError } from "./errors.ts";
import { validateTypedParams } from "./typed_params.ts";

/** One `name=value` of `schedinfo --set`, with the typed parameter's type name. */
export interface SchedulerSetting {
  /** libvirt's field name (`cpu_shares`, …). */
  name: string;
  /** The value (a number; libvirt's `ullong`/`llong`). */
  value: number;
  /** libvirt's type name (`ullong`, `llong`, …); absent: the expected one. */
  type?: string;
}

/**
 * The parameters libvirt's QEMU driver takes, in the order its getter lists them: each with its
 * libvirt type, its `<cputune>` field and the key of a running instance's applied tuning (what
 * its groups say). The one table the setter's checks, the definition's change, recovery and the
 * getters read.
 */
export const SCHEDULER_PARAMETERS = [
  { name: "cpu_shares", type: "ullong", field: "shares", applied: "cpuShares" },
  { name: "vcpu_period", type: "ullong", field: "period", applied: "cpuPeriodUs" },
  { name: "vcpu_quota", type: "llong", field: "quota", applied: "cpuQuotaUs" },
  {
    name: "emulator_period",
    type: "ullong",
    field: "emulatorPeriod",
    applied: "emulatorPeriodUs",
  },
  { name: "emulator_quota", type: "llong", field: "emulatorQuota", applied: "emulatorQuotaUs" },
  { name: "global_period", type: "ullong", field: "globalPeriod", applied: "globalPeriodUs" },
  { name: "global_quota", type: "llong", field: "globalQuota", applied: "globalQuotaUs" },
  {
    name: "iothread_period",
    type: "ullong",
    field: "iothreadPeriod",
    applied: "iothreadPeriodUs",
  },
  { name: "iothread_quota", type: "llong", field: "iothreadQuota", applied: "iothreadQuotaUs" },
] as const satisfies ReadonlyArray<{
  name: string;
  type: "ullong" | "llong";
  field: keyof NonNullable<DomainDefinition["cputune"]>;
  applied: keyof AppliedTuning;
}>;

const SCHEDULER_TYPES: ReadonlyMap<string, string> = new Map(
  SCHEDULER_PARAMETERS.map((row) => [row.name, row.type]),
);

/** libvirt's `QEMU_SCHED_MIN_PERIOD`/`MAX_PERIOD` (µs). */
const PERIOD_RANGE = [1000, 1_000_000] as const;
/**
 * libvirt's `QEMU_SCHED_MIN_QUOTA`/`MAX_QUOTA` (µs). The maximum is above the integers a
 * number holds exactly; a value past those is refused before (see `checkSchedulerSettings`).
 */
const QUOTA_RANGE = [1000, 18_446_744_073_709_551n] as const;

/** The `<cputune>` field of each parameter. */
const CPUTUNE_FIELDS: ReadonlyMap<string, SchedulerRow["field"]> = new Map(
  SCHEDULER_PARAMETERS.map((row) => [row.name, row.field]),
);

/** One row of {@linkcode SCHEDULER_PARAMETERS}. */
export type SchedulerRow = typeof SCHEDULER_PARAMETERS[number];

/** A parameter's name. */
export type SchedulerParameter = SchedulerRow["name"];

/**
 * Checks the settings as `virTypedParamsValidate` walks them (sorted by name), then each value
 * against libvirt's range.
 *
 * @throws {VirtError} ARGUMENT_UNSUPPORTED (74) for an unknown name; INVALID_ARG (8) for a name
 *   given twice, a wrong type or a value out of range.
 */
export function checkSchedulerSettings(settings: readonly SchedulerSetting[]): void {
  validateTypedParams(settings, SCHEDULER_TYPES);
  // The driver's walk, in the caller's order: ranges first, as libvirt checks each in turn.
  for (const { name, value } of settings) {
    // evirt holds values as numbers: one past 2^53 cannot be kept exactly, so it is refused.
    if (!Number.isSafeInteger(value) || (expectedType(name) === "ullong" && value < 0)) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `value of '${name}' is not an integer evirt can hold exactly`,
        { where: name },
      );
    }
    if (name.endsWith("_period") || name.endsWith("_quota")) {
      const [min, max] = name.endsWith("_period") ? PERIOD_RANGE : QUOTA_RANGE;
      if ((value > 0 && value < min) || BigInt(value) > BigInt(max)) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          `value of '${name}' is out of range [${min}, ${max}]`,
          { where: name },
        );
      }
    }
  }
}

function expectedType(name: string): string | undefined {
  return SCHEDULER_PARAMETERS.find((row) => row.name === name)?.type;
}

/**
 * `definition` with the settings in `<cputune>`. As libvirt, a zero period or quota given live
 * leaves that one as it was (`live`), while the persistent definition takes it as given.
 */
export function withSchedulerSettings(
  definition: DomainDefinition,
  settings: readonly SchedulerSetting[],
  live: boolean,
): DomainDefinition {
  const cputune = {
    ...(definition.cputune ?? {
      vcpupins: [],
      iothreadpins: [],
      vcpuscheds: [],
      iothreadscheds: [],
      cachetunes: [],
      memorytunes: [],
    }),
  };
  for (const { name, value } of settings) {
    const field = CPUTUNE_FIELDS.get(name);
    if (field === undefined || (live && value === 0 && name !== "cpu_shares")) continue;
    cputune[field] = value;
  }
  return { ...definition, cputune };
}

/**
 * `schedinfo --set`'s text, `name=value[,name=value…]`, as settings (each an integer).
 *
 * @throws {VirtError} INVALID_ARG (8) for an empty list, a part without `=` or a value that is
 *   not an integer.
 *
 * @example
 * ```ts
 * import { schedulerSettingsOf } from "./scheduler_params.ts";
 * console.log(schedulerSettingsOf("cpu_shares=512,vcpu_quota=-1"));
 * // [{ name: "cpu_shares", value: 512 }, { name: "vcpu_quota", value: -1 }]
 * ```
 */
export function schedulerSettingsOf(text: string): SchedulerSetting[] {
  const parts = text.split(",").filter((part) => part !== "");
  if (parts.length === 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, "set must give name=value", { where: "set" });
  }
  return parts.map((part) => {
    const at = part.indexOf("=");
    const name = part.slice(0, at);
    const value = part.slice(at + 1);
    if (at <= 0 || !/^-?\d+$/.test(value)) {
      throw new VirtError(ErrorCode.INVALID_ARG, `invalid scheduler option: ${part}`, {
        where: "set",
      });
    }
    return { name, value: Number(value) };
  });
}

/**
 * The refusal of a live scheduler change for an instance that has no group: evirt makes one only
 * for a definition with limits (libvirt always makes one).
 */
export function noCgroupError(): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_INVALID,
    "the domain has no cgroup: it was started without <cputune>, <memtune> or <blkiotune> limits",
  );
}
