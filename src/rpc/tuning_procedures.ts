/**
 * A domain's tuning as `virsh schedinfo`, `memtune`, `blkiotune` and `numatune` read it: the
 * scheduler and its parameters, memory limits, block I/O weights and NUMA memory policy, of the
 * live definition or the persistent one (`--live`, `--config`).
 *
 * A driver that applies limits through cgroups (`Driver.appliedTuning`: LXC, and QEMU for a
 * domain whose definition has cgroup limits) answers the live scheduler and memory parameters
 * from its groups; otherwise what a definition says is what is in effect, and a domain without
 * limits answers libvirt's defaults: nothing limited. The scheduler has libvirt's QEMU driver's
 * nine parameters, or as many as the driver says (`Driver.schedulerParameterCount`: libvirt's
 * LXC driver's three). libvirt's test driver's scheduler (`fair`, weight 50) is answered for
 * test domains.
 *
 * @module
 */

import type { AppliedTuning } from "../../actors/driver_protocol.ts";
import type { Host } from "../../actors/host.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { affected } from "./domain_query_procedures.ts";
import { checkResourceFlags } from "../model/domain_resources.ts";
import { checkFlags, lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  domainType,
  nonnullString,
  TypedParam,
  typedParamType,
  type WireDomain,
  type WireTypedParam,
} from "./protocol.ts";
import { x } from "./xdr.ts";
import {
  appliedTuning,
  isTestDomain,
  schedulerParameterCount,
  schedulerParameters,
} from "../../actors/scheduler_info.ts";
import { TYPE_NAMES } from "./perf_procedures.ts";

/** `REMOTE_DOMAIN_*_PARAMETERS_MAX`. */
const PARAMETERS_MAX = 16;
/** `VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG | VIR_TYPED_PARAM_STRING_OKAY`. */
const TUNING_FLAGS = 1 | 2 | 4;
/** `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`: no limit. */
const MEMORY_UNLIMITED = 9_007_199_254_740_991;
/** `virDomainNumatuneMemMode` values by name. */
const NUMA_MODES: Readonly<Record<string, number>> = {
  strict: 0,
  preferred: 1,
  interleave: 2,
  restrictive: 3,
};

const ullong = (field: string, value: number): WireTypedParam => ({
  field,
  value: { type: TypedParam.ULLONG, value },
});
const llong = (field: string, value: number): WireTypedParam => ({
  field,
  value: { type: TypedParam.LLONG, value },
});
const uint = (field: string, value: number): WireTypedParam => ({
  field,
  value: { type: TypedParam.UINT, value },
});
const string = (field: string, value: string): WireTypedParam => ({
  field,
  value: { type: TypedParam.STRING, value },
});

/** The scheduler's parameters as libvirt's typed parameters. */
function schedulerParams(host: Host, uuid: string, flags: number): WireTypedParam[] {
  return schedulerParameters(host, uuid, flags).map(({ name, type, value }) =>
    type === "uint"
      ? uint(name, value)
      : type === "llong"
      ? llong(name, value)
      : ullong(name, value)
  );
}

function memoryParams(
  definition: DomainDefinition,
  applied?: AppliedTuning,
): WireTypedParam[] {
  const tune = applied ?? definition.memtune;
  return [
    ullong("hard_limit", tune?.hardLimitKiB ?? MEMORY_UNLIMITED),
    ullong("soft_limit", tune?.softLimitKiB ?? MEMORY_UNLIMITED),
    ullong("swap_hard_limit", tune?.swapHardLimitKiB ?? MEMORY_UNLIMITED),
  ];
}

function blkioParams(definition: DomainDefinition): WireTypedParam[] {
  return [
    uint("weight", definition.blkiotune?.weight ?? 0),
    ...[
      "device_weight",
      "device_read_iops_sec",
      "device_write_iops_sec",
      "device_read_bytes_sec",
      "device_write_bytes_sec",
    ].map((name) => string(name, "")),
  ];
}

function numaParams(definition: DomainDefinition): WireTypedParam[] {
  const memory = definition.numatune?.memory;
  return [
    {
      field: "numa_mode",
      value: { type: TypedParam.INT, value: NUMA_MODES[memory?.mode ?? "strict"] ?? 0 },
    },
    string("numa_nodeset", memory?.nodeset ?? ""),
  ];
}

/**
 * libvirt's two-step answer: asked for 0 parameters, the count; else up to that many.
 *
 * @throws {VirtError} RPC (39) for a count outside the protocol's bound.
 */
function countedAnswer(params: WireTypedParam[], nparams: number) {
  if (nparams < 0 || nparams > PARAMETERS_MAX) {
    throw new VirtError(ErrorCode.RPC, "nparams too large", { where: "nparams" });
  }
  if (nparams === 0) return { params: [], nparams: params.length };
  const given = params.slice(0, nparams);
  return { params: given, nparams: given.length };
}

const countedRet = x.struct(
  ["params", x.array(typedParamType, PARAMETERS_MAX)],
  ["nparams", x.int],
);
const countedArgs = x.struct(["dom", domainType], ["nparams", x.int], ["flags", x.uint]);

type CountedArgs = { dom: WireDomain; nparams: number; flags: number };

/** A counted typed-parameter getter of one domain's definition (and its applied limits). */
function countedRead(
  proc: number,
  api: string,
  read: (definition: DomainDefinition, applied?: AppliedTuning) => WireTypedParam[],
) {
  return {
    proc,
    readOnly: true,
    args: countedArgs,
    ret: countedRet,
    handler: (args: CountedArgs, context: { target(): { host: Host } }) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      checkFlags(args.flags, TUNING_FLAGS, api);
      // libvirt's test driver answers the count without looking at the domain's state.
      if (args.nparams === 0 && isTestDomain(host, uuid)) {
        return countedAnswer(read(host.inspect(uuid).definition), 0);
      }
      const definition = affected(host, uuid, args.flags & 3);
      return countedAnswer(
        read(definition, appliedTuning(host, uuid, args.flags & 3)),
        args.nparams,
      );
    },
  };
}

const setArgs = x.struct(
  ["dom", domainType],
  ["params", x.array(typedParamType, PARAMETERS_MAX)],
);
const setFlagsArgs = x.struct(
  ["dom", domainType],
  ["params", x.array(typedParamType, PARAMETERS_MAX)],
  ["flags", x.uint],
);

/** `schedinfo --set` as a job of the domain's actor (actors/sched_commands.ts). */
function setScheduler(api: string) {
  return async (
    args: { dom: WireDomain; params: WireTypedParam[]; flags?: number },
    context: { target(): { host: Host } },
  ) => {
    const { host } = context.target();
    if (args.params.length === 0) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `nparams in ${api} must be greater than zero`,
        { where: "params" },
      );
    }
    const { uuid } = lookupWire(host, args.dom);
    const settings = args.params.map((param) => ({
      name: param.field,
      value: Number(param.value.value),
      type: TYPE_NAMES[param.value.type] ?? String(param.value.type),
    }));
    await host.command("schedinfo", uuid, { settings, flags: args.flags ?? 0 });
  };
}

/** The tuning procedures. */
export const TUNING_PROCEDURES: ProcedureTable = {
  virDomainGetSchedulerType: {
    proc: 56,
    readOnly: true,
    args: x.struct(["dom", domainType]),
    ret: x.struct(["type", nonnullString], ["nparams", x.int]),
    handler: (args: { dom: WireDomain }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      if (isTestDomain(host, uuid)) return { type: "fair", nparams: 1 };
      return { type: "posix", nparams: schedulerParameterCount(host, uuid) };
    },
  },
  virDomainGetSchedulerParameters: {
    proc: 57,
    readOnly: true,
    args: x.struct(["dom", domainType], ["nparams", x.int]),
    ret: x.struct(["params", x.array(typedParamType, PARAMETERS_MAX)]),
    handler: (args: { dom: WireDomain; nparams: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      return { params: countedAnswer(schedulerParams(host, uuid, 0), args.nparams).params };
    },
  },
  virDomainGetSchedulerParametersFlags: {
    proc: 223,
    readOnly: true,
    args: countedArgs,
    ret: x.struct(["params", x.array(typedParamType, PARAMETERS_MAX)]),
    handler: (args: CountedArgs, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      // libvirt's test driver takes no flags here; virCheckFlags' text is printed bare.
      checkResourceFlags(
        args.flags,
        isTestDomain(host, uuid) ? 0 : TUNING_FLAGS,
        isTestDomain(host, uuid)
          ? "testDomainGetSchedulerParametersFlags"
          : "virDomainGetSchedulerParametersFlags",
      );
      const params = schedulerParams(host, uuid, args.flags & 3);
      return { params: countedAnswer(params, args.nparams).params };
    },
  },
  virDomainSetSchedulerParameters: {
    proc: 58,
    readOnly: false,
    args: setArgs,
    ret: x.void,
    handler: setScheduler("virDomainSetSchedulerParameters"),
  },
  virDomainSetSchedulerParametersFlags: {
    proc: 219,
    readOnly: false,
    args: setFlagsArgs,
    ret: x.void,
    handler: setScheduler("virDomainSetSchedulerParametersFlags"),
  },
  virDomainGetMemoryParameters: countedRead(198, "virDomainGetMemoryParameters", memoryParams),
  virDomainGetBlkioParameters: countedRead(206, "virDomainGetBlkioParameters", blkioParams),
  virDomainGetNumaParameters: countedRead(255, "virDomainGetNumaParameters", numaParams),
};
