/**
 * Block job procedures: `virDomainBlockCommit` (290), `virDomainBlockPull` (240),
 * `virDomainBlockRebase` (266: a pull, or with `VIR_DOMAIN_BLOCK_REBASE_COPY` a copy to the path
 * in `base`, as libvirt's QEMU driver reads it), `virDomainBlockCopy` (345: the destination as
 * disk XML, bandwidth, granularity and buffer size as typed parameters),
 * `virDomainGetBlockJobInfo` (238), `virDomainBlockJobAbort` (237) and
 * `virDomainBlockJobSetSpeed` (239).
 *
 * @module
 */

import { blockJobInfo, type CopyDestination } from "../../actors/block_job_commands.ts";
import { BANDWIDTH_MIB_MAX, BlockRebaseFlag } from "../model/block_jobs.ts";
import type { Disk } from "../model/domain.ts";
import { checkResourceFlags } from "../model/domain_resources.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { parseDeviceXml } from "../xml/parse_device.ts";
import { lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import {
  domainType,
  nonnullString,
  optionalString,
  TypedParam,
  typedParamType,
  type WireDomain,
  type WireTypedParam,
} from "./protocol.ts";
import { x } from "./xdr.ts";

/** `REMOTE_DOMAIN_BLOCK_COPY_PARAMETERS_MAX`. */
const BLOCK_COPY_PARAMETERS_MAX = 16;

type Context = Parameters<ProcedureTable[string]["handler"]>[1];

/** What the flags of a rebase copy mean for `virDomainBlockCopy`'s flags. */
const REBASE_COPY_FLAGS = BlockRebaseFlag.SHALLOW | BlockRebaseFlag.REUSE_EXT;

async function pull(
  context: Context,
  dom: WireDomain,
  request: { disk: string; base: string | null; bandwidth: bigint; flags: number },
  api: string,
): Promise<void> {
  const { host } = context.target();
  const { uuid } = lookupWire(host, dom);
  await host.command("blockjob", uuid, {
    action: "pull",
    api,
    disk: request.disk,
    ...(request.base === null ? {} : { base: request.base }),
    bandwidth: request.bandwidth,
    flags: request.flags,
  });
}

/** `virDomainBlockRebase` with the copy flag: libvirt's conversion to a copy's arguments. */
async function rebaseCopy(
  context: Context,
  args: { dom: WireDomain; path: string; base: string | null; bandwidth: bigint; flags: number },
): Promise<void> {
  const known = 0x7f;
  if ((args.flags & ~known) !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `unsupported flags (0x${
        (args.flags & ~known).toString(16)
      }) in function qemuDomainBlockRebase`,
      { where: "flags", bare: true },
    );
  }
  const bytes = (args.flags & BlockRebaseFlag.BANDWIDTH_BYTES) !== 0;
  if (!bytes && args.bandwidth > BANDWIDTH_MIB_MAX) {
    throw new VirtError(ErrorCode.OVERFLOW, `bandwidth must be less than ${BANDWIDTH_MIB_MAX}`, {
      where: "bandwidth",
    });
  }
  if ((args.flags & BlockRebaseFlag.RELATIVE) !== 0) {
    throw new VirtError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "Relative backing during copy not supported yet",
      { where: "flags" },
    );
  }
  const destination: CopyDestination = {
    path: args.base ?? "",
    type: (args.flags & BlockRebaseFlag.COPY_DEV) !== 0 ? "block" : "file",
    ...((args.flags & BlockRebaseFlag.COPY_RAW) !== 0 ? { format: "raw" } : {}),
  };
  const { host } = context.target();
  const { uuid } = lookupWire(host, args.dom);
  await host.command("blockjob", uuid, {
    action: "copy",
    api: "virDomainBlockRebase",
    disk: args.path,
    destination,
    bandwidthBytes: bytes ? args.bandwidth : args.bandwidth << 20n,
    flags: args.flags & REBASE_COPY_FLAGS,
  });
}

/**
 * The destination of `virDomainBlockCopy`'s disk XML: its source and format. libvirt reads only
 * the source of it (virsh sends no `<target>`), so a placeholder target is given to the device
 * parser, which wants one, when the document has none.
 */
function copyDestination(xml: string): CopyDestination {
  const withTarget = /<target[\s/>]/.test(xml)
    ? xml
    : xml.replace(/<\/disk>\s*$/, "<target dev='vdz'/></disk>");
  const parsed = parseDeviceXml(withTarget);
  if (parsed.list !== "disks") {
    throw new VirtError(ErrorCode.XML_ERROR, "the destination must be a <disk> element", {
      where: "destxml",
    });
  }
  const disk = parsed.device as Disk;
  const block = disk.type === "block";
  const path = block ? disk.source?.dev : disk.source?.file;
  if (path === undefined || path === "") {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "the destination needs a source path", {
      where: "destxml/source",
    });
  }
  const format = disk.driver?.type;
  return { path, type: block ? "block" : "file", ...(format === undefined ? {} : { format }) };
}

/** `virDomainBlockCopy`'s typed parameters, checked as libvirt checks them. */
function copyParameters(params: WireTypedParam[]) {
  const expected: Record<string, number> = {
    bandwidth: TypedParam.ULLONG,
    granularity: TypedParam.UINT,
    "buf-size": TypedParam.ULLONG,
  };
  let bandwidthBytes = 0n;
  let granularityBytes: number | undefined;
  let bufferBytes: bigint | undefined;
  for (const param of params) {
    const type = expected[param.field];
    if (type === undefined) {
      throw new VirtError(ErrorCode.INVALID_ARG, `parameter '${param.field}' not supported`, {
        where: param.field,
      });
    }
    if (param.value.type !== type) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `invalid type '${param.value.type}' for parameter '${param.field}', expected '${type}'`,
        { where: param.field },
      );
    }
    const value = param.value.value;
    if (param.field === "bandwidth") bandwidthBytes = BigInt(value);
    if (param.field === "buf-size") bufferBytes = BigInt(value);
    if (param.field === "granularity") {
      const granularity = Number(value);
      if (granularity !== 0 && (granularity & (granularity - 1)) !== 0) {
        throw new VirtError(ErrorCode.INVALID_ARG, "granularity must be power of 2", {
          where: "granularity",
        });
      }
      granularityBytes = granularity;
    }
  }
  return {
    bandwidthBytes,
    ...(granularityBytes === undefined || granularityBytes === 0 ? {} : { granularityBytes }),
    ...(bufferBytes === undefined || bufferBytes === 0n ? {} : { bufferBytes }),
  };
}

/** The procedures. */
export const BLOCK_JOB_PROCEDURES: ProcedureTable = {
  virDomainBlockCommit: {
    proc: 290,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["disk", nonnullString],
      ["base", optionalString],
      ["top", optionalString],
      ["bandwidth", x.uhyper],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: {
        dom: WireDomain;
        disk: string;
        base: string | null;
        top: string | null;
        bandwidth: bigint;
        flags: number;
      },
      context,
    ) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      await host.command("blockjob", uuid, {
        action: "commit",
        disk: args.disk,
        ...(args.base === null ? {} : { base: args.base }),
        ...(args.top === null ? {} : { top: args.top }),
        bandwidth: args.bandwidth,
        flags: args.flags,
      });
    },
  },
  virDomainBlockPull: {
    proc: 240,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["path", nonnullString],
      ["bandwidth", x.uhyper],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; path: string; bandwidth: bigint; flags: number },
      context,
    ) => {
      // virDomainBlockPull takes only the bandwidth-in-bytes flag.
      checkResourceFlags(args.flags, BlockRebaseFlag.BANDWIDTH_BYTES, "qemuDomainBlockPull");
      await pull(context, args.dom, { disk: args.path, base: null, ...args }, "virDomainBlockPull");
    },
  },
  virDomainBlockRebase: {
    proc: 266,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["path", nonnullString],
      ["base", optionalString],
      ["bandwidth", x.uhyper],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: {
        dom: WireDomain;
        path: string;
        base: string | null;
        bandwidth: bigint;
        flags: number;
      },
      context,
    ) => {
      if ((args.flags & BlockRebaseFlag.COPY) !== 0) return await rebaseCopy(context, args);
      await pull(context, args.dom, { disk: args.path, ...args }, "virDomainBlockRebase");
    },
  },
  virDomainBlockCopy: {
    proc: 345,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["path", nonnullString],
      ["destxml", nonnullString],
      ["params", x.array(typedParamType, BLOCK_COPY_PARAMETERS_MAX)],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: {
        dom: WireDomain;
        path: string;
        destxml: string;
        params: WireTypedParam[];
        flags: number;
      },
      context,
    ) => {
      const parameters = copyParameters(args.params);
      const destination = copyDestination(args.destxml);
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      await host.command("blockjob", uuid, {
        action: "copy",
        disk: args.path,
        destination,
        flags: args.flags,
        ...parameters,
      });
    },
  },
  virDomainGetBlockJobInfo: {
    proc: 238,
    readOnly: true,
    args: x.struct(["dom", domainType], ["path", nonnullString], ["flags", x.uint]),
    ret: x.struct(
      ["found", x.int],
      ["type", x.int],
      ["bandwidth", x.uhyper],
      ["cur", x.uhyper],
      ["end", x.uhyper],
    ),
    handler: async (args: { dom: WireDomain; path: string; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const info = await blockJobInfo(
        host.inspect(uuid),
        host.context(uuid),
        args.path,
        args.flags,
        AbortSignal.timeout(30_000),
      );
      return { ...info, found: info.found ? 1 : 0 };
    },
  },
  virDomainBlockJobAbort: {
    proc: 237,
    readOnly: false,
    args: x.struct(["dom", domainType], ["path", nonnullString], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { dom: WireDomain; path: string; flags: number }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      await host.endBlockJob(uuid, { disk: args.path, flags: args.flags });
    },
  },
  virDomainBlockJobSetSpeed: {
    proc: 239,
    readOnly: false,
    args: x.struct(
      ["dom", domainType],
      ["path", nonnullString],
      ["bandwidth", x.uhyper],
      ["flags", x.uint],
    ),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; path: string; bandwidth: bigint; flags: number },
      context,
    ) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      await host.command("blockjob", uuid, {
        action: "speed",
        disk: args.path,
        bandwidth: args.bandwidth,
        flags: args.flags,
      });
    },
  },
};
