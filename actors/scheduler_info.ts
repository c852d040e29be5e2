/**
 * A domain's scheduler and its parameters as `virsh schedinfo` reads them, for libvirt's
 * procedures (src/rpc/tuning_procedures.ts) and evirt's API alike.
 *
 * A driver that applies limits through cgroups (`Driver.appliedTuning`: LXC, and QEMU for a
 * domain whose definition has cgroup limits) answers the live parameters from its groups;
 * otherwise the definition's. The scheduler has libvirt's QEMU driver's nine parameters, or as
 * many as the driver says (`Driver.schedulerParameterCount`: libvirt's LXC driver's three).
 * libvirt's test driver's scheduler (`fair`, weight 50) is answered for test domains.
 *
 * @module
 */

import type { AppliedTuning } from "./driver_protocol.ts";
import type { Host } from "./host.ts";
import { checkResourceFlags } from "../src/model/domain_resources.ts";
import { affected } from "./affected_definition.ts";
import { SCHEDULER_PARAMETERS } from "../src/model/scheduler_params.ts";

/** One parameter: libvirt's name, its typed parameter's type, its value. */
export interface SchedulerParam {
  name: string;
  type: "ullong" | "llong" | "uint";
  value: number;
}

const ullong = (name: string, value: number): SchedulerParam => ({ name, type: "ullong", value });
const llong = (name: string, value: number): SchedulerParam => ({ name, type: "llong", value });
const uint = (name: string, value: number): SchedulerParam => ({ name, type: "uint", value });

/** `VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG | VIR_TYPED_PARAM_STRING_OKAY`. */
const TUNING_FLAGS = 1 | 2 | 4;

/** Whether the domain runs on the test hypervisor (libvirt's test driver's scheduler). */
export function isTestDomain(host: Host, uuid: string): boolean {
  return host.inspect(uuid).driver?.name === "test";
}

/** How many of the `posix` scheduler's parameters the domain's driver answers. */
export function schedulerParameterCount(host: Host, uuid: string): number {
  // libvirt's QEMU driver's `posix` scheduler has all of them.
  return host.inspect(uuid).driver?.schedulerParameterCount ?? SCHEDULER_PARAMETERS.length;
}

/** The limits a running domain's driver applied, for a live query; undefined for a config one. */
export function appliedTuning(host: Host, uuid: string, flags: number): AppliedTuning | undefined {
  if ((flags & 2) !== 0) return undefined;
  const { driver, handle } = host.inspect(uuid);
  return handle === undefined ? undefined : driver?.appliedTuning?.(handle);
}

/**
 * The scheduler's parameters (libvirt's names and types) of the definition the flags pick: the
 * live ones of a driver with groups read from them, else the definition's.
 *
 * @throws {VirtError} What `affected` throws.
 */
export function schedulerParameters(
  host: Host,
  uuid: string,
  flags: number,
): SchedulerParam[] {
  const definition = affected(host, uuid, flags);
  if (isTestDomain(host, uuid)) return [uint("weight", 50)];
  const tune = definition.cputune;
  const applied = appliedTuning(host, uuid, flags);
  // A live query of a driver with groups reads them; else the definition answers.
  const params = SCHEDULER_PARAMETERS.map((row) => {
    const value = (applied === undefined ? tune?.[row.field] : applied[row.applied]) ?? 0;
    return row.type === "ullong" ? ullong(row.name, value) : llong(row.name, value);
  });
  return params.slice(0, schedulerParameterCount(host, uuid));
}

/**
 * `schedinfo` over evirt's API: the scheduler's name and its parameters (of the running
 * instance or the persistent definition, as the flags pick), as the libvirt getters answer them.
 *
 * @throws {VirtError} 8 for unknown flags; 55 for a live read of an inactive domain.
 */
export function schedulerInfo(
  host: Host,
  reference: string,
  flags: number,
): { scheduler: string; parameters: Array<{ name: string; value: number }> } {
  const { uuid } = host.lookup(reference);
  const test = isTestDomain(host, uuid);
  // The API answers strings: as virsh, a read with flags adds VIR_TYPED_PARAM_STRING_OKAY (a
  // read without is virDomainGetSchedulerParameters, which takes none).
  checkResourceFlags(
    flags === 0 ? 0 : flags | 4,
    test ? 0 : TUNING_FLAGS,
    test ? "testDomainGetSchedulerParametersFlags" : "virDomainGetSchedulerParametersFlags",
  );
  return {
    scheduler: test ? "fair" : "posix",
    parameters: schedulerParameters(host, uuid, flags & 3).map(({ name, value }) => ({
      name,
      value,
    })),
  };
}
