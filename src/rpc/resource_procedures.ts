/**
 * Procedures that change a domain's resources: `virDomainSetMemory` (31),
 * `virDomainSetMaxMemory` (30), `virDomainSetMemoryFlags` (204), `virDomainSetVcpus` (32),
 * `virDomainSetVcpusFlags` (199) and `virDomainBlockResize` (251). The flagless calls mean what
 * libvirt's drivers make of them: `SetMemory` and `SetVcpus` act on the running instance,
 * `SetMaxMemory` on the current definition's maximum.
 *
 * @module
 */

import { AFFECT_LIVE, MAXIMUM } from "../model/domain_resources.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, nonnullString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** A memory size off the wire, in KiB. */
function memoryKiB(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.OVERFLOW, `input too large: ${value}`, { where: "memory" });
  }
  return Number(value);
}

type MemoryArgs = { dom: WireDomain; memory: bigint; flags?: number };
type VcpuArgs = { dom: WireDomain; nvcpus: number; flags?: number };

function memoryProcedure(proc: number, api: string, withFlags: boolean, fixed: number) {
  return {
    proc,
    readOnly: false,
    args: withFlags
      ? x.struct(["dom", domainType], ["memory", x.uhyper], ["flags", x.uint])
      : x.struct(["dom", domainType], ["memory", x.uhyper]),
    ret: x.void,
    handler: async (
      args: MemoryArgs,
      context: Parameters<ProcedureTable[string]["handler"]>[1],
    ) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const flags = (args.flags ?? 0) | fixed;
      await host.command("setmem", uuid, { memoryKiB: memoryKiB(args.memory), flags, api });
    },
  };
}

function vcpuProcedure(proc: number, api: string, withFlags: boolean) {
  return {
    proc,
    readOnly: false,
    args: withFlags
      ? x.struct(["dom", domainType], ["nvcpus", x.uint], ["flags", x.uint])
      : x.struct(["dom", domainType], ["nvcpus", x.uint]),
    ret: x.void,
    handler: async (args: VcpuArgs, context: Parameters<ProcedureTable[string]["handler"]>[1]) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const flags = withFlags ? args.flags ?? 0 : AFFECT_LIVE;
      await host.command("setvcpus", uuid, { count: args.nvcpus, flags, api });
    },
  };
}

/** The procedures. */
export const RESOURCE_PROCEDURES: ProcedureTable = {
  virDomainSetMemory: memoryProcedure(31, "virDomainSetMemory", false, AFFECT_LIVE),
  virDomainSetMaxMemory: memoryProcedure(30, "virDomainSetMaxMemory", false, MAXIMUM),
  virDomainSetMemoryFlags: memoryProcedure(204, "virDomainSetMemoryFlags", true, 0),
  virDomainSetVcpus: vcpuProcedure(32, "virDomainSetVcpus", false),
  virDomainSetVcpusFlags: vcpuProcedure(199, "virDomainSetVcpusFlags", true),
  virDomainBlockResize: {
    proc: 251,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["disk", nonnullString],
      ["size", x.uhyper],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; disk: string; size: bigint; flags: number },
      context,
    ) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      await host.command("blockresize", uuid, {
        disk: args.disk,
        size: args.size,
        flags: args.flags,
      });
    },
  },
};
