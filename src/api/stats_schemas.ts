/**
 * The answer schemas of a domain's disks, interfaces, memory, vCPUs and statistics records, in
 * TypeBox: the OpenAPI document lists them as they are, and the projections' views are checked
 * against them at compile time (the bottom of this file).
 *
 * @module
 */

import { type Static, type TSchema, Type } from "@sinclair/typebox";
import type { BlockListView } from "../projections/block_list.ts";
import type { BlockStatsView } from "../projections/block_stats.ts";
import type { InterfaceStatsView } from "../projections/interface_stats.ts";
import type { MemoryStatsView } from "../projections/memory_stats.ts";
import type {
  BlockInfoView,
  DiskErrorsView,
  DomainStatsRecord,
} from "../projections/stats_reader.ts";
import type { VcpusView } from "../projections/vcpu_info.ts";

/** How fresh the samples behind an answer are, as every statistics answer says. */
const freshness = {
  sampleAgeMs: Type.Union([Type.Integer(), Type.Null()], {
    description: "Age of the samples, ms; null when there are none",
  }),
  stale: Type.Boolean({ description: "The last sampling failed: the figures are old" }),
  staleReason: Type.Optional(Type.String()),
};

/** `[name, value]` pairs in libvirt's order. */
const pairs = (description: string) =>
  Type.Array(Type.Tuple([Type.String(), Type.Number()]), { description });

/** `domblklist`. */
export const BlockListSchema = Type.Object({
  disks: Type.Array(Type.Object({
    type: Type.String({ description: "file, block, network, …" }),
    device: Type.String({ description: "disk, cdrom, floppy, lun" }),
    target: Type.String(),
    source: Type.Union([Type.String(), Type.Null()]),
    format: Type.Optional(Type.String()),
  })),
});

/** `domblkinfo`: the block-info contract's three figures. */
export const BlockInfoSchema = Type.Object({
  target: Type.String(),
  capacityBytes: Type.Integer(),
  allocationBytes: Type.Integer(),
  physicalBytes: Type.Integer(),
});

/** `domblkerror`: `virDomainGetDiskErrors`. */
export const DiskErrorsSchema = Type.Object({
  disks: Type.Integer({ description: "How many disks the running domain has" }),
  errors: Type.Array(Type.Object({
    target: Type.String(),
    error: Type.Union([Type.Literal("unspecified"), Type.Literal("no-space")]),
  })),
});

/** `domblkstat`. */
export const BlockStatsSchema = Type.Object({
  device: Type.String({ description: "The disk as asked; empty for the sum over every disk" }),
  stats: pairs("[field, value]: rd_operations, rd_bytes, wr_operations, wr_bytes, …"),
  ...freshness,
});

/** `domifstat`. */
export const InterfaceStatsSchema = Type.Object({
  interface: Type.String({ description: "The interface as asked (device name or MAC)" }),
  name: Type.String({ description: "Its host-side device" }),
  rxBytes: Type.Integer(),
  rxPackets: Type.Integer(),
  rxErrors: Type.Integer(),
  rxDrops: Type.Integer(),
  txBytes: Type.Integer(),
  txPackets: Type.Integer(),
  txErrors: Type.Integer(),
  txDrops: Type.Integer(),
  ...freshness,
});

/** `dommemstat`. */
export const MemoryStatsSchema = Type.Object({
  stats: pairs("[tag, value]: actual, swap_in, …, rss (KiB)"),
  ...freshness,
});

/** `vcpuinfo`. */
export const VcpusSchema = Type.Object({
  vcpus: Type.Array(Type.Object({
    number: Type.Integer(),
    state: Type.Union([Type.Integer(), Type.Null()], { description: "virVcpuState" }),
    stateName: Type.Union([Type.String(), Type.Null()]),
    cpuTimeNs: Type.Union([Type.Integer(), Type.Null()]),
    cpu: Type.Union([Type.Integer(), Type.Null()]),
    affinity: Type.Array(Type.Boolean(), { description: "By host CPU number" }),
  })),
  ...freshness,
});

/** One domain's `domstats` record. */
export const StatsRecordSchema = Type.Object({
  uuid: Type.String({ format: "uuid" }),
  name: Type.String(),
  ...freshness,
  stats: Type.Array(
    Type.Object({ key: Type.String(), value: Type.Union([Type.Number(), Type.String()]) }),
    { description: "libvirt's keys in order, e.g. {key: 'block.0.allocation', value: 106954752}" },
  ),
}, { $id: "StatsRecord" });

/** `domstats` over several domains. */
export const StatsRecordsSchema = Type.Object({ records: Type.Array(Type.Ref("StatsRecord")) });

/** The schemas of this module by their name in `components.schemas`. */
export const STATS_SCHEMAS: Record<string, TSchema> = {
  BlockList: BlockListSchema,
  BlockInfo: BlockInfoSchema,
  DiskErrors: DiskErrorsSchema,
  BlockStats: BlockStatsSchema,
  InterfaceStats: InterfaceStatsSchema,
  MemoryStats: MemoryStatsSchema,
  Vcpus: VcpusSchema,
  StatsRecord: StatsRecordSchema,
  StatsRecords: StatsRecordsSchema,
};

// The views must be what the schemas say (compile-time checks; no code runs).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _list: Same<Static<typeof BlockListSchema>, BlockListView> = true;
const _info: Same<Static<typeof BlockInfoSchema>, BlockInfoView> = true;
const _errors: Same<Static<typeof DiskErrorsSchema>, DiskErrorsView> = true;
const _block: Same<Static<typeof BlockStatsSchema>, BlockStatsView> = true;
const _interface: Same<Static<typeof InterfaceStatsSchema>, InterfaceStatsView> = true;
const _memory: Same<Static<typeof MemoryStatsSchema>, MemoryStatsView> = true;
const _vcpus: Same<Static<typeof VcpusSchema>, VcpusView> = true;
const _record: Same<Static<typeof StatsRecordSchema>, DomainStatsRecord> = true;
void [_list, _info, _errors, _block, _interface, _memory, _vcpus, _record];
