/**
 * A domain's vCPUs as `virDomainGetVcpus` / `virsh vcpuinfo` report them: for a running domain
 * from the driver's samples (number, state, CPU time, host CPU, affinity); for an inactive one
 * only the numbers and the configured affinity.
 *
 * @module
 */

import type { InstanceSamples } from "../../actors/driver_protocol.ts";
import { parseCpuSet } from "../model/cpu_set.ts";
import type { DomainDefinition } from "../model/domain.ts";

/** One vCPU of `GET /v1/domains/{ref}/vcpus`. */
export interface VcpuInfo {
  /** The vCPU's number. */
  number: number;
  /** `virVcpuState` (0 offline, 1 running, 2 blocked); null for an inactive domain. */
  state: number | null;
  /** virsh's name of the state; null for an inactive domain. */
  stateName: string | null;
  /** CPU time, in ns; null for an inactive domain. */
  cpuTimeNs: number | null;
  /** The host CPU it last ran on; null for an inactive domain. */
  cpu: number | null;
  /** Whether it may run on each host CPU, by CPU number. */
  affinity: boolean[];
}

/** The answer of `GET /v1/domains/{ref}/vcpus`. */
export interface VcpusView {
  vcpus: VcpuInfo[];
  /** How old the samples are, in ms (null: none, e.g. an inactive domain). */
  sampleAgeMs: number | null;
  /** Whether the last sampling failed (the figures are older than an interval). */
  stale: boolean;
  /** Why the samples are stale. */
  staleReason?: string;
}

/** virsh's names of `virVcpuState`. */
const VCPU_STATE_NAMES = ["offline", "running", "blocked"];

/**
 * The vCPUs of a domain.
 *
 * @param definition The definition in effect.
 * @param samples The driver's samples when the domain is running; undefined when inactive.
 * @param hostCpus How many host CPUs an affinity map covers.
 * @returns One entry per vCPU: the sampled ones when running, else the configured ones.
 *
 * @example An inactive domain pinned by `<vcpu cpuset>`
 * ```ts
 * import { vcpuInfo } from "./vcpu_info.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const definition = { type: "test", name: "a", memoryKiB: 1, vcpus: 1, vcpu: { cpuset: "1" },
 *   os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * console.log(vcpuInfo(definition, undefined, 2)[0].affinity); // [false, true]
 * ```
 */
export function vcpuInfo(
  definition: DomainDefinition,
  samples: InstanceSamples | undefined,
  hostCpus: number,
): VcpuInfo[] {
  if (!Number.isSafeInteger(hostCpus) || hostCpus < 1) {
    throw new TypeError(`Cannot map vCPUs: hostCpus must be >= 1, received ${hostCpus}`);
  }
  const map = (cpus: Iterable<number>) => {
    const allowed = new Set(cpus);
    return Array.from({ length: hostCpus }, (_, cpu) => allowed.has(cpu));
  };
  if (samples !== undefined) {
    return (samples.vcpus ?? []).map((vcpu) => ({
      number: vcpu.number,
      state: vcpu.state,
      stateName: VCPU_STATE_NAMES[vcpu.state] ?? "no state",
      cpuTimeNs: vcpu.timeNs,
      cpu: vcpu.hostCpu,
      affinity: map(vcpu.affinity),
    }));
  }
  const count = definition.vcpu?.current ?? Math.max(1, definition.vcpus);
  const every = Array.from({ length: hostCpus }, (_, cpu) => cpu);
  return Array.from({ length: count }, (_, number) => {
    const pin = definition.cputune?.vcpupins.find((each) => each.vcpu === number)?.cpuset ??
      definition.vcpu?.cpuset;
    return {
      number,
      state: null,
      stateName: null,
      cpuTimeNs: null,
      cpu: null,
      affinity: map(pin === undefined ? every : parseCpuSet(pin)),
    };
  });
}
