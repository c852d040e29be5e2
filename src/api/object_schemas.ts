/**
 * The answer schemas of storage pools, volumes, networks and snapshots, in TypeBox: each is a
 * JSON Schema the OpenAPI document lists as it is, and a type the views are checked against at
 * compile time (the bottom of this file), so the document cannot drift from what routes return.
 *
 * @module
 */

import { type Static, type TSchema, Type } from "@sinclair/typebox";
import type { PoolInfoView, PoolSummaryView, VolumeJobView, VolumeView } from "./storage_views.ts";
import type { InterfaceAddresses, NetworkLeaseView, NetworkView } from "./network_views.ts";
import type { SnapshotView } from "../model/snapshot.ts";

const poolSummary = {
  uuid: Type.String({ format: "uuid" }),
  name: Type.String(),
  type: Type.String({ description: "Pool type (dir, fs, logical, …)" }),
  state: Type.Integer({ description: "libvirt virStoragePoolState" }),
  stateName: Type.String({ description: "inactive, building, running, degraded, inaccessible" }),
  active: Type.Boolean(),
  persistent: Type.Boolean(),
  autostart: Type.Boolean(),
};

/** A pool as lists and actions answer it. */
export const PoolSummarySchema = Type.Object(poolSummary, { $id: "PoolSummary" });

/** `GET /v1/pools/{pool}`: `pool-info`. */
export const PoolInfoSchema = Type.Object({
  ...poolSummary,
  capacityBytes: Type.Integer(),
  allocationBytes: Type.Integer(),
  availableBytes: Type.Integer(),
});

/** `GET /v1/pools`. */
export const PoolListSchema = Type.Object({ pools: Type.Array(Type.Ref("PoolSummary")) });

/** A volume. */
export const VolumeSchema = Type.Object({
  pool: Type.String({ description: "The pool's name" }),
  poolUuid: Type.String({ format: "uuid" }),
  name: Type.String(),
  key: Type.String({ description: "The path, for file volumes" }),
  path: Type.String(),
  type: Type.Integer({ description: "libvirt virStorageVolType" }),
  typeName: Type.String({ description: "file, block, dir, …" }),
  format: Type.String({ description: "raw, qcow2, …" }),
  capacityBytes: Type.Integer(),
  allocationBytes: Type.Integer(),
  physicalBytes: Type.Integer({ description: "A file's length" }),
}, { $id: "Volume" });

/** `GET /v1/pools/{pool}/volumes`. */
export const VolumeListSchema = Type.Object({ volumes: Type.Array(Type.Ref("Volume")) });

/** `vol-path`. */
export const VolumePathSchema = Type.Object({ path: Type.String() });

/** What an upload wrote. */
export const VolumeTransferSchema = Type.Object({
  bytes: Type.Integer({ description: "Bytes written" }),
  volume: Type.Ref("Volume"),
});

/** The job a volume is busy with (evirt's own view; libvirt has none). */
export const VolumeJobSchema = Type.Object({
  pool: Type.String(),
  volume: Type.String(),
  job: Type.Union([
    Type.Object({
      name: Type.String({ description: "The verb running it (vol-clone, vol-wipe, …)" }),
      sinceMs: Type.Integer({ description: "When it began, ms since the epoch" }),
      bytesDone: Type.Integer(),
      bytesTotal: Type.Integer({ description: "0 when unknown" }),
      cancelled: Type.Boolean(),
    }),
    Type.Null(),
  ], { description: "Null when the volume is idle" }),
});

/** A network as lists, lookups and actions answer it. */
export const NetworkSummarySchema = Type.Object({
  uuid: Type.String({ format: "uuid" }),
  name: Type.String(),
  active: Type.Boolean(),
  persistent: Type.Boolean(),
  autostart: Type.Boolean(),
  bridge: Type.Optional(Type.String({ description: "The bridge's name, where it has one" })),
}, { $id: "NetworkSummary" });

/** A secret as lists and defines answer it (never its value). */
export const SecretSummarySchema = Type.Object({
  uuid: Type.String({ format: "uuid" }),
  ephemeral: Type.Boolean(),
  private: Type.Boolean(),
  description: Type.Optional(Type.String()),
  usage: Type.Optional(Type.Object({
    type: Type.Union(
      ["volume", "ceph", "iscsi", "tls", "vtpm"].map((type) => Type.Literal(type)),
    ),
    id: Type.String({ description: "The volume path, name or target the secret is for" }),
  })),
}, { $id: "SecretSummary" });

/** `GET /v1/secrets`. */
export const SecretListSchema = Type.Object({
  secrets: Type.Array(Type.Ref("SecretSummary")),
});

/** `GET /v1/networks`. */
export const NetworkListSchema = Type.Object({
  networks: Type.Array(Type.Ref("NetworkSummary")),
});

const ADDRESS_TYPE = Type.Union([Type.Literal("ipv4"), Type.Literal("ipv6")]);

/** `net-dhcp-leases`. */
export const NetworkLeasesSchema = Type.Object({
  leases: Type.Array(Type.Object({
    iface: Type.String({ description: "The bridge" }),
    expiryTime: Type.Integer({ description: "Seconds since the epoch; 0: never" }),
    type: ADDRESS_TYPE,
    mac: Type.String(),
    iaid: Type.Optional(Type.String()),
    ipaddr: Type.String(),
    prefix: Type.Integer(),
    hostname: Type.Optional(Type.String()),
    clientid: Type.Optional(Type.String()),
  })),
});

/** A network port: its uuid and its network's. */
export const NetworkPortRefSchema = Type.Object({
  uuid: Type.String({ description: "The port's uuid" }),
  network: Type.String({ description: "Its network's uuid" }),
});

/** `net-port-list`. */
export const NetworkPortListSchema = Type.Object({ ports: Type.Array(NetworkPortRefSchema) });

/** `domifaddr`. */
export const InterfaceAddressesSchema = Type.Object({
  interfaces: Type.Array(Type.Object({
    name: Type.String({ description: "The host-side device (tap)" }),
    hwaddr: Type.String(),
    addrs: Type.Array(Type.Object({
      type: ADDRESS_TYPE,
      addr: Type.String(),
      prefix: Type.Integer(),
    })),
  })),
});

/** One snapshot as `snapshot-info` and `snapshot-list` show it. */
export const SnapshotViewSchema = Type.Object({
  name: Type.String(),
  domain: Type.String({ description: "The domain's name" }),
  parent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
  state: Type.String({ description: "running, paused, shutoff, disk-snapshot, …" }),
  location: Type.Union([Type.Literal("internal"), Type.Literal("external")]),
  creationTimeSeconds: Type.Integer(),
  description: Type.Optional(Type.String()),
  children: Type.Integer(),
  descendants: Type.Integer(),
  metadata: Type.Literal(true, { description: "Every listed snapshot has its record" }),
}, { $id: "SnapshotView" });

/** `snapshot-list`. */
export const SnapshotListSchema = Type.Array(Type.Ref("SnapshotView"));

/** A snapshot's name (`snapshot-current --name`, `snapshot-parent`). */
export const SnapshotNameSchema = Type.Object({ name: Type.String() });

/** The schemas of this module by their name in `components.schemas`. */
export const OBJECT_SCHEMAS: Record<string, TSchema> = {
  PoolSummary: PoolSummarySchema,
  PoolInfo: PoolInfoSchema,
  PoolList: PoolListSchema,
  Volume: VolumeSchema,
  VolumeList: VolumeListSchema,
  VolumePath: VolumePathSchema,
  VolumeTransfer: VolumeTransferSchema,
  VolumeJob: VolumeJobSchema,
  NetworkSummary: NetworkSummarySchema,
  NetworkList: NetworkListSchema,
  SecretSummary: SecretSummarySchema,
  SecretList: SecretListSchema,
  NetworkLeases: NetworkLeasesSchema,
  NetworkPortRef: NetworkPortRefSchema,
  NetworkPortList: NetworkPortListSchema,
  InterfaceAddresses: InterfaceAddressesSchema,
  SnapshotView: SnapshotViewSchema,
  SnapshotList: SnapshotListSchema,
  SnapshotName: SnapshotNameSchema,
};

// The views must be what the schemas say (compile-time checks; no code runs).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _pool: Same<Static<typeof PoolSummarySchema>, PoolSummaryView> = true;
const _poolInfo: Same<Static<typeof PoolInfoSchema>, PoolInfoView> = true;
const _volume: Same<Static<typeof VolumeSchema>, VolumeView> = true;
const _volumeJob: Same<Static<typeof VolumeJobSchema>, VolumeJobView> = true;
const _network: Same<Static<typeof NetworkSummarySchema>, NetworkView> = true;
const _lease: Same<
  Static<typeof NetworkLeasesSchema>["leases"][number],
  NetworkLeaseView
> = true;
const _addresses: Same<
  Static<typeof InterfaceAddressesSchema>["interfaces"][number],
  InterfaceAddresses
> = true;
const _snapshot: Same<Static<typeof SnapshotViewSchema>, SnapshotView> = true;
void [_pool, _poolInfo, _volume, _volumeJob, _network, _lease, _addresses, _snapshot];
