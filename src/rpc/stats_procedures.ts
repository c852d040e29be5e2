/**
 * Block info and statistics procedures, answered by the same stats reader as the HTTP routes
 * (samples, never a wait on a monitor), and the console stream.
 *
 * @module
 */

import type { ListFilter } from "../../actors/host.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { STATS_GROUPS, type StatsField } from "../projections/domain_stats.ts";
import { StatsReader } from "../projections/stats_reader.ts";
import type { DiskErrorKind } from "../storage/block_figures.ts";
import { checkFlags, LIST_FLAG_FILTERS, lookupWire, wireDomain } from "./domain_lookup.ts";
import type { ProcedureTable, StreamSource } from "./procedure.ts";
import {
  DOMAIN_LIST_MAX,
  domainType,
  nonnullString,
  optionalString,
  TypedParam,
  typedParamType,
  type WireDomain,
  type WireTypedParam,
} from "./protocol.ts";
import { x } from "./xdr.ts";
import { consoleStream } from "./console_stream.ts";

/** How long a live block info query may take as a whole, in ms (the HTTP route's bound too). */
export const BLOCK_INFO_TIMEOUT_MS = 10_000;

/** `virDomainMemoryStatTags` by dommemstat's tag names. */
const MEMORY_STAT_TAGS: Readonly<Record<string, number>> = {
  swap_in: 0,
  swap_out: 1,
  major_fault: 2,
  minor_fault: 3,
  unused: 4,
  available: 5,
  actual: 6,
  rss: 7,
  usable: 8,
  last_update: 9,
  disk_caches: 10,
  hugetlb_pgalloc: 11,
  hugetlb_pgfail: 12,
};

/** List filters in `virConnectGetAllDomainStats` flags: the list flags of the low byte. */
const STATS_FILTER_FLAGS = LIST_FLAG_FILTERS.filter(([bit]) => bit < 256);
const STATS_NOWAIT = 1 << 29;
const STATS_BACKING = 1 << 30;
const STATS_ENFORCE = 2 ** 31;

/** Keys libvirt reports as signed ints, and as unsigned ints; every other number is ullong. */
const INT_KEYS = /^(state\.(state|reason)|vcpu\.\d+\.state)$/;
const UINT_KEYS = /^(.*\.count|vcpu\.(current|maximum)|block\.\d+\.backingIndex)$/;

/** `REMOTE_DOMAIN_DISK_ERRORS_MAX`: most disk errors one answer carries. */
const DISK_ERRORS_MAX = 256;

/** `virDomainDiskErrorCode` by evirt's names. */
const DISK_ERROR_CODES: Readonly<Record<DiskErrorKind, number>> = {
  "unspecified": 1,
  "no-space": 2,
};

/** Largest console chunk read at once, in bytes. */
const CONSOLE_CHUNK_BYTES = 65_536;

/** A stats field as the typed parameter libvirt sends for it. */
export function typedParam(field: StatsField): WireTypedParam {
  const { key, value } = field;
  if (typeof value === "string") return { field: key, value: { type: TypedParam.STRING, value } };
  if (!Number.isInteger(value)) return { field: key, value: { type: TypedParam.DOUBLE, value } };
  if (INT_KEYS.test(key)) return { field: key, value: { type: TypedParam.INT, value } };
  if (UINT_KEYS.test(key) && value >= 0) {
    return { field: key, value: { type: TypedParam.UINT, value } };
  }
  if (value < 0) return { field: key, value: { type: TypedParam.LLONG, value } };
  return { field: key, value: { type: TypedParam.ULLONG, value } };
}

function groupsOf(bits: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(STATS_GROUPS)) if ((bits & bit) !== 0) names.push(name);
  const unknown = bits & ~Object.values(STATS_GROUPS).reduce((all, bit) => all | bit, 0);
  if (unknown !== 0) {
    throw new VirtError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      `Stats types bits 0x${unknown.toString(16)} are not supported by this daemon`,
      { where: "stats" },
    );
  }
  return names;
}

/** The statistics procedures. */
export const STATS_PROCEDURES: ProcedureTable = {
  virDomainGetBlockInfo: {
    proc: 194,
    readOnly: true,
    args: x.struct(["dom", domainType], ["path", nonnullString], ["flags", x.uint]),
    ret: x.struct(["allocation", x.uhyper], ["capacity", x.uhyper], ["physical", x.uhyper]),
    handler: async (args: { dom: WireDomain; path: string; flags: number }, context) => {
      checkFlags(args.flags, 0, "virDomainGetBlockInfo");
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const info = await new StatsReader(host).blockInfo(
        uuid,
        args.path,
        AbortSignal.timeout(BLOCK_INFO_TIMEOUT_MS),
      );
      return {
        allocation: info.allocationBytes,
        capacity: info.capacityBytes,
        physical: info.physicalBytes,
      };
    },
  },
  virDomainGetDiskErrors: {
    proc: 263,
    readOnly: true,
    args: x.struct(["dom", domainType], ["maxerrors", x.uint], ["flags", x.uint]),
    ret: x.struct(
      ["errors", x.array(x.struct(["disk", nonnullString], ["error", x.int]), DISK_ERRORS_MAX)],
      ["nerrors", x.int],
    ),
    handler: async (args: { dom: WireDomain; maxerrors: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "virDomainGetDiskErrors");
      if (args.maxerrors > DISK_ERRORS_MAX) {
        throw new VirtError(ErrorCode.INTERNAL_ERROR, "maxerrors too large", {
          where: "maxerrors",
        });
      }
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const view = await new StatsReader(host).diskErrors(
        uuid,
        AbortSignal.timeout(BLOCK_INFO_TIMEOUT_MS),
      );
      // As libvirt: asked for no errors, the answer is how many there could be (the disks).
      if (args.maxerrors === 0) return { errors: [], nerrors: view.disks };
      const errors = view.errors.slice(0, args.maxerrors).map(({ target, error }) => ({
        disk: target,
        error: DISK_ERROR_CODES[error],
      }));
      return { errors, nerrors: errors.length };
    },
  },
  virDomainBlockStats: {
    proc: 64,
    readOnly: true,
    args: x.struct(["dom", domainType], ["path", nonnullString]),
    ret: x.struct(
      ["rd_req", x.hyper],
      ["rd_bytes", x.hyper],
      ["wr_req", x.hyper],
      ["wr_bytes", x.hyper],
      ["errs", x.hyper],
    ),
    handler: async (args: { dom: WireDomain; path: string }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const view = await new StatsReader(host).blockStats(uuid, args.path);
      const value = (name: string) => view.stats.find(([field]) => field === name)?.[1] ?? -1;
      return {
        rd_req: value("rd_operations"),
        rd_bytes: value("rd_bytes"),
        wr_req: value("wr_operations"),
        wr_bytes: value("wr_bytes"),
        // QEMU reports no error count: libvirt's "not available" is -1.
        errs: -1,
      };
    },
  },
  virDomainBlockStatsFlags: {
    proc: 243,
    readOnly: true,
    args: x.struct(
      ["dom", domainType],
      ["path", nonnullString],
      ["nparams", x.int],
      ["flags", x.uint],
    ),
    ret: x.struct(["params", x.array(typedParamType, 16)], ["nparams", x.int]),
    handler: async (
      args: { dom: WireDomain; path: string; nparams: number; flags: number },
      context,
    ) => {
      // VIR_TYPED_PARAM_STRING_OKAY (4) only says the client accepts strings.
      checkFlags(args.flags, 4, "virDomainBlockStatsFlags");
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const view = await new StatsReader(host).blockStats(uuid, args.path);
      // A call with nparams 0 asks how many there are, as libvirt's two-step protocol does.
      if (args.nparams === 0) return { params: [], nparams: view.stats.length };
      const params = view.stats.slice(0, Math.max(0, args.nparams)).map(([field, value]) => ({
        field,
        value: { type: TypedParam.LLONG, value },
      }));
      return { params, nparams: params.length };
    },
  },
  virDomainInterfaceStats: {
    proc: 65,
    readOnly: true,
    args: x.struct(["dom", domainType], ["device", nonnullString]),
    ret: x.struct(
      ...["rx_bytes", "rx_packets", "rx_errs", "rx_drop", "tx_bytes", "tx_packets", "tx_errs"]
        .map((name) => [name, x.hyper] as const),
      ["tx_drop", x.hyper],
    ),
    handler: async (args: { dom: WireDomain; device: string }, context) => {
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const view = await new StatsReader(host).interfaceStats(uuid, args.device);
      return {
        rx_bytes: view.rxBytes,
        rx_packets: view.rxPackets,
        rx_errs: view.rxErrors,
        rx_drop: view.rxDrops,
        tx_bytes: view.txBytes,
        tx_packets: view.txPackets,
        tx_errs: view.txErrors,
        tx_drop: view.txDrops,
      };
    },
  },
  virDomainMemoryStats: {
    proc: 159,
    readOnly: true,
    args: x.struct(["dom", domainType], ["maxStats", x.uint], ["flags", x.uint]),
    ret: x.struct(["stats", x.array(x.struct(["tag", x.int], ["val", x.uhyper]), 1024)]),
    handler: async (args: { dom: WireDomain; maxStats: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "virDomainMemoryStats");
      if (args.maxStats > 1024) {
        throw new VirtError(ErrorCode.INVALID_ARG, "maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX");
      }
      const { host } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const view = await new StatsReader(host).memoryStats(uuid);
      const stats = view.stats.filter(([tag]) => tag in MEMORY_STAT_TAGS)
        .slice(0, args.maxStats)
        .map(([tag, value]) => ({ tag: MEMORY_STAT_TAGS[tag], val: value }));
      return { stats };
    },
  },
  virDomainGetVcpus: {
    proc: 20,
    readOnly: true,
    args: x.struct(["dom", domainType], ["maxinfo", x.int], ["maplen", x.int]),
    ret: x.struct(
      [
        "info",
        x.array(
          x.struct(["number", x.uint], ["state", x.int], ["cpu_time", x.uhyper], ["cpu", x.int]),
          16_384,
        ),
      ],
      ["cpumaps", x.opaque(8_388_608)],
    ),
    handler: async (args: { dom: WireDomain; maxinfo: number; maplen: number }, context) => {
      checkBounds(args.maxinfo, args.maplen);
      const target = context.target();
      const { uuid, active } = lookupWire(target.host, args.dom);
      if (!active) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          "cannot retrieve vcpu information for inactive domain",
        );
      }
      const view = await new StatsReader(target.host).vcpus(uuid, hostCpus(target));
      const vcpus = view.vcpus.slice(0, args.maxinfo);
      return {
        info: vcpus.map((vcpu) => ({
          number: vcpu.number,
          state: vcpu.state ?? 0,
          cpu_time: vcpu.cpuTimeNs ?? 0,
          cpu: vcpu.cpu ?? -1,
        })),
        cpumaps: cpumaps(vcpus.map((vcpu) => vcpu.affinity), args.maplen),
      };
    },
  },
  virDomainGetVcpuPinInfo: {
    proc: 230,
    readOnly: true,
    args: x.struct(
      ["dom", domainType],
      ["ncpumaps", x.int],
      ["maplen", x.int],
      ["flags", x.uint],
    ),
    ret: x.struct(["cpumaps", x.opaque(8_388_608)], ["num", x.int]),
    handler: async (
      args: { dom: WireDomain; ncpumaps: number; maplen: number; flags: number },
      context,
    ) => {
      checkFlags(args.flags, 1 | 2, "virDomainGetVcpuPinInfo");
      checkBounds(args.ncpumaps, args.maplen);
      const target = context.target();
      const { uuid } = lookupWire(target.host, args.dom);
      const view = await new StatsReader(target.host).vcpus(uuid, hostCpus(target));
      const vcpus = view.vcpus.slice(0, args.ncpumaps);
      return {
        cpumaps: cpumaps(vcpus.map((vcpu) => vcpu.affinity), args.maplen),
        num: vcpus.length,
      };
    },
  },
  virConnectGetAllDomainStats: {
    proc: 344,
    readOnly: true,
    args: x.struct(
      ["doms", x.array(domainType, DOMAIN_LIST_MAX)],
      ["stats", x.uint],
      ["flags", x.uint],
    ),
    ret: x.struct([
      "retStats",
      x.array(
        x.struct(["dom", domainType], ["params", x.array(typedParamType, 262_144)]),
        DOMAIN_LIST_MAX,
      ),
    ]),
    handler: async (args: { doms: WireDomain[]; stats: number; flags: number }, context) => {
      const { host } = context.target();
      const filter: ListFilter = {};
      for (const [bit, name] of STATS_FILTER_FLAGS) {
        if ((args.flags & bit) !== 0) filter[name] = true;
      }
      checkFlags(
        args.flags,
        0xff | STATS_NOWAIT | STATS_BACKING | STATS_ENFORCE,
        "virConnectGetAllDomainStats",
      );
      const records = await new StatsReader(host).domainStats({
        groups: groupsOf(args.stats),
        ...(args.doms.length > 0
          ? { domains: args.doms.map((dom) => lookupWire(host, dom).uuid) }
          : { filter }),
        nowait: (args.flags & STATS_NOWAIT) !== 0,
        backing: (args.flags & STATS_BACKING) !== 0,
        enforce: (args.flags & STATS_ENFORCE) !== 0,
      });
      return {
        retStats: records.map((record) => ({
          dom: wireDomain(host.lookup(record.uuid)),
          params: record.stats.map(typedParam),
        })),
      };
    },
  },
  virDomainOpenConsole: {
    proc: 201,
    readOnly: false,
    args: x.struct(["dom", domainType], ["dev_name", optionalString], ["flags", x.uint]),
    ret: x.void,
    handler: async (
      args: { dom: WireDomain; dev_name: string | null; flags: number },
      context,
    ) => {
      // VIR_DOMAIN_CONSOLE_FORCE 1, VIR_DOMAIN_CONSOLE_SAFE 2.
      checkFlags(args.flags, CONSOLE_FORCE | 2, "virDomainOpenConsole");
      const { host, consoles } = context.target();
      const { uuid } = lookupWire(host, args.dom);
      const path = host.consolePath(uuid, args.dev_name ?? undefined);
      if (consoles !== undefined) {
        // The service's consoles: one writer at a time, shared with the web console.
        const force = (args.flags & CONSOLE_FORCE) !== 0;
        context.startStream(await consoleStream(consoles, uuid, path, force));
        return;
      }
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true, write: true });
      } catch (error) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `cannot open console '${path}': ${(error as Error).message}`,
        );
      }
      context.startStream(fileStream(file));
    },
  },
};

/** `VIR_DOMAIN_CONSOLE_FORCE`: end another console session rather than be refused. */
const CONSOLE_FORCE = 1;

/** A pty as a stream source (a target without shared consoles: `test:///default`). */
function fileStream(file: Deno.FsFile): StreamSource {
  let closed = false;
  return {
    async read() {
      const buffer = new Uint8Array(CONSOLE_CHUNK_BYTES);
      try {
        const count = await file.read(buffer);
        return count === null ? null : buffer.subarray(0, count);
      } catch (error) {
        // A pty whose other side closed reads EIO: that is its end, not a failure.
        if (closed || error instanceof Deno.errors.Interrupted) return null;
        if ((error as { code?: string }).code === "EIO") return null;
        throw error;
      }
    },
    async write(bytes) {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        file.close();
      } catch {
        // Already closed by a failed read.
      }
    },
  };
}

function hostCpus(target: { nodeInfo(): { cpus: number } }): number {
  return Math.max(1, target.nodeInfo().cpus);
}

function checkBounds(count: number, maplen: number): void {
  if (count < 0 || count > 16_384) {
    throw new VirtError(ErrorCode.RPC, "maxinfo > REMOTE_VCPUINFO_MAX");
  }
  if (maplen < 0 || count * maplen > 8_388_608) {
    throw new VirtError(ErrorCode.RPC, "maxinfo * maplen > REMOTE_CPUMAPS_MAX");
  }
}

/** Affinity maps packed as libvirt's cpumaps: `maplen` bytes per vCPU, bit n = host CPU n. */
function cpumaps(affinities: boolean[][], maplen: number): Uint8Array {
  const maps = new Uint8Array(affinities.length * maplen);
  affinities.forEach((affinity, vcpu) => {
    affinity.forEach((allowed, cpu) => {
      if (allowed && cpu < maplen * 8) maps[vcpu * maplen + (cpu >> 3)] |= 1 << (cpu & 7);
    });
  });
  return maps;
}
