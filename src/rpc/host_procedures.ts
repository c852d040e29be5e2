/**
 * Host procedures beyond the connection's identity: the node's CPU times and memory figures
 * (`virsh nodecpustats`, `nodememstats`), the vCPU limit of a hypervisor type (`maxvcpus`) and
 * the CPU models of an architecture (`cpu-models`), each answered as libvirt's QEMU driver does.
 *
 * @module
 */

import { LIBVIRT_ARCHES } from "../model/architectures.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { type NodeStat, readCpuStats, readMemoryStats } from "../projections/node_stats.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { nonnullString, optionalString } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `REMOTE_NODE_CPU_STATS_MAX` and `REMOTE_NODE_MEMORY_STATS_MAX`. */
const NODE_STATS_MAX = 16;
/** The CPU times libvirt reports: kernel, user, idle, iowait. */
const CPU_STATS_FIELDS = 4;
/** `REMOTE_CONNECT_CPU_MODELS_MAX`. */
const CPU_MODELS_MAX = 8192;

/** libvirt's answer for `virConnectGetMaxVcpus` of type `qemu` (or none): a fixed 16. */
const QEMU_MAX_VCPUS = 16;
/** libvirt's test driver's answer. */
const TEST_MAX_VCPUS = 32;

const nodeStatsRet = x.struct(
  ["params", x.array(x.struct(["field", nonnullString], ["value", x.uhyper]), NODE_STATS_MAX)],
  ["nparams", x.int],
);

/**
 * libvirt's two-step typed answer: asked for 0 parameters, the count; else up to that many.
 */
function statsAnswer(stats: NodeStat[], nparams: number) {
  if (nparams < 0 || nparams > NODE_STATS_MAX) {
    throw new VirtError(ErrorCode.RPC, `nparams must be between 0 and ${NODE_STATS_MAX}`, {
      where: "nparams",
    });
  }
  if (nparams === 0) return { params: [], nparams: stats.length };
  const params = stats.slice(0, nparams);
  return { params, nparams: params.length };
}

/** The host procedures. */
export const HOST_PROCEDURES: ProcedureTable = {
  virNodeGetCPUStats: {
    proc: 227,
    readOnly: true,
    args: x.struct(["cpuNum", x.int], ["nparams", x.int], ["flags", x.uint]),
    ret: nodeStatsRet,
    handler: (args: { cpuNum: number; nparams: number; flags: number }, context) => {
      context.target();
      checkFlags(args.flags, 0, "virNodeGetCPUStats");
      // Asked for the count, libvirt answers it without looking at the CPU number.
      if (args.nparams === 0) return { params: [], nparams: CPU_STATS_FIELDS };
      return statsAnswer(readCpuStats(args.cpuNum), args.nparams);
    },
  },
  virNodeGetMemoryStats: {
    proc: 228,
    readOnly: true,
    args: x.struct(["nparams", x.int], ["cellNum", x.int], ["flags", x.uint]),
    ret: nodeStatsRet,
    handler: (args: { nparams: number; cellNum: number; flags: number }, context) => {
      context.target();
      checkFlags(args.flags, 0, "virNodeGetMemoryStats");
      return statsAnswer(readMemoryStats(args.cellNum), args.nparams);
    },
  },
  virConnectGetMaxVcpus: {
    proc: 5,
    readOnly: true,
    args: x.struct(["type", optionalString]),
    ret: x.struct(["max_vcpus", x.int]),
    handler: (args: { type: string | null }, context) => {
      const target = context.target();
      if (target.hypervisorType === "Test") return { max_vcpus: TEST_MAX_VCPUS };
      const type = args.type?.toLowerCase() ?? "qemu";
      if (type === "qemu") return { max_vcpus: QEMU_MAX_VCPUS };
      if (type === "kvm") {
        // libvirt asks KVM itself (an ioctl on /dev/kvm), which evirt cannot do.
        try {
          Deno.statSync("/dev/kvm");
        } catch {
          throw new VirtError(
            ErrorCode.SYSTEM_ERROR,
            "Unable to open /dev/kvm: No such file or directory",
          );
        }
        throw new VirtError(
          ErrorCode.NO_SUPPORT,
          "evirt cannot ask KVM for its vCPU limit; see the domain capabilities' <vcpu max>",
        );
      }
      throw new VirtError(ErrorCode.INVALID_ARG, `unknown type '${args.type}'`, {
        where: "type",
      });
    },
  },
  virConnectGetCPUModelNames: {
    proc: 312,
    readOnly: true,
    args: x.struct(["arch", nonnullString], ["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["models", x.array(nonnullString, CPU_MODELS_MAX)], ["ret", x.int]),
    handler: async (args: { arch: string; need_results: number; flags: number }, context) => {
      const { host } = context.target();
      checkFlags(args.flags, 0, "virConnectGetCPUModelNames");
      if (!LIBVIRT_ARCHES.has(args.arch)) {
        throw new VirtError(ErrorCode.INVALID_ARG, `cannot find architecture ${args.arch}`, {
          where: "arch",
        });
      }
      const models = await cpuModelNames(host.drivers, args.arch);
      return {
        models: args.need_results ? models.slice(0, CPU_MODELS_MAX) : [],
        ret: models.length,
      };
    },
  },
};

/**
 * The CPU models the first driver with domain capabilities offers for `arch` (the QEMU
 * driver: its emulator's models); none when no emulator serves the architecture.
 */
async function cpuModelNames(
  drivers: readonly {
    domainCapabilities?: (query: { arch: string; virttype: string }) => Promise<
      { cpu: { models: readonly { name: string }[] } }
    >;
  }[],
  arch: string,
): Promise<string[]> {
  const driver = drivers.find((candidate) => candidate.domainCapabilities !== undefined);
  if (driver === undefined) return [];
  try {
    const caps = await driver.domainCapabilities!({ arch, virttype: "qemu" });
    return caps.cpu.models.map((model) => model.name);
  } catch (error) {
    if (error instanceof VirtError && error.code === ErrorCode.CONFIG_UNSUPPORTED) return [];
    throw error;
  }
}
