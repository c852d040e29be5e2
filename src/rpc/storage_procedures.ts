/**
 * Storage pool and volume procedures of libvirt's remote program: lists, lookups, define and
 * create, the pool lifecycle, info and XML, and the volume calls `virsh vol-*` makes. Each
 * handler calls the same pool commands the rest of evirt uses. A pool travels as
 * `remote_nonnull_storage_pool` (name, uuid), a volume as `remote_nonnull_storage_vol`
 * (pool name, volume name, key = path).
 *
 * @module
 */

import type { PoolSummary, StoragePools } from "../../actors/storage_pools.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { VolumeRecord } from "../model/storage_facts.ts";
import type { PoolType } from "../model/storage_pool.ts";
import { POOL_TYPES_WITH_BACKEND } from "../storage/pool_backend.ts";
import { formatPoolCapabilities } from "../xml/format_pool_capabilities.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { CallContext, Procedure, ProcedureTable } from "./procedure.ts";
import { nonnullString, uuidBytes, uuidText, uuidType } from "./protocol.ts";
import { activeNames, matchesStateFlags } from "./object_list.ts";
import { x, type XdrType } from "./xdr.ts";

/** `REMOTE_STORAGE_POOL_LIST_MAX`, `REMOTE_STORAGE_VOL_LIST_MAX`. */
export const STORAGE_POOL_LIST_MAX = 16_384;
export const STORAGE_VOL_LIST_MAX = 16_384;

/** `remote_nonnull_storage_pool`. */
const poolType: XdrType = x.struct(["name", nonnullString], ["uuid", uuidType]);
/** `remote_nonnull_storage_vol`. */
export const volumeType: XdrType = x.struct(
  ["pool", nonnullString],
  ["name", nonnullString],
  ["key", nonnullString],
);

interface WirePool {
  name: string;
  uuid: Uint8Array;
}

export interface WireVolume {
  pool: string;
  name: string;
  key: string;
}

const poolArgs = x.struct(["pool", poolType]);
const poolFlagsArgs = x.struct(["pool", poolType], ["flags", x.uint]);
const poolRet = x.struct(["pool", poolType]);
const volumeArgs = x.struct(["vol", volumeType]);
const volumeFlagsArgs = x.struct(["vol", volumeType], ["flags", x.uint]);
const volumeRet = x.struct(["vol", volumeType]);

/** The pool type filters, from `VIR_CONNECT_LIST_STORAGE_POOLS_DIR` (64) on, by type. */
const LIST_TYPE_FLAGS: ReadonlyArray<[number, string]> = [
  [64, "dir"],
  [128, "fs"],
  [256, "netfs"],
  [512, "logical"],
  [1024, "disk"],
  [2048, "iscsi"],
  [4096, "scsi"],
  [8192, "mpath"],
  [16384, "rbd"],
  [32768, "sheepdog"],
  [65536, "gluster"],
  [131072, "zfs"],
  [262144, "vstorage"],
  [524288, "iscsi-direct"],
];
const LIST_FLAGS_ALL = 0xfffff;

/** `VIR_STORAGE_XML_INACTIVE`. */
const XML_INACTIVE = 1;

export function storageOf(context: CallContext, api: string): StoragePools {
  const storage = context.target().storage;
  if (storage === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, api);
  }
  return storage;
}

function wirePool(summary: PoolSummary): WirePool {
  return { name: summary.name, uuid: uuidBytes(summary.uuid) };
}

/** The pool a wire handle names, by uuid (the handle's identity), as libvirt looks it up. */
function poolOf(storage: StoragePools, pool: WirePool): PoolSummary {
  return storage.summary(storage.byUuid(uuidText(pool.uuid)));
}

function wireVolume(poolName: string, volume: VolumeRecord): WireVolume {
  return { pool: poolName, name: volume.name, key: volume.path };
}

export function volumeOf(
  storage: StoragePools,
  volume: WireVolume,
): { uuid: string; name: string } {
  const pool = storage.summary(storage.byName(volume.pool));
  storage.commands.volume(pool.uuid, volume.name);
  return { uuid: pool.uuid, name: volume.name };
}

function matches(summary: PoolSummary, flags: number): boolean {
  if (!matchesStateFlags(summary, flags)) return false;
  const types = LIST_TYPE_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, type]) => type);
  return types.length === 0 || types.includes(summary.type);
}

function names(storage: StoragePools, active: boolean, max: number): string[] {
  return activeNames(storage.list(), active, max, STORAGE_POOL_LIST_MAX);
}

/** A pool action: look the pool up, check flags, act. */
function poolAction(
  proc: number,
  api: string,
  allowedFlags: number,
  act: (storage: StoragePools, uuid: string, flags: number) => Promise<void>,
  args: XdrType = poolFlagsArgs,
): Procedure {
  return {
    proc,
    readOnly: false,
    args,
    ret: x.void,
    handler: async (call: { pool: WirePool; flags?: number }, context) => {
      const flags = call.flags ?? 0;
      checkFlags(flags, allowedFlags, api);
      const storage = storageOf(context, api);
      await act(storage, poolOf(storage, call.pool).uuid, flags);
    },
  };
}

/** The pool types evirt has a backend for. */
const SUPPORTED_POOL_TYPES: ReadonlySet<PoolType> = POOL_TYPES_WITH_BACKEND;

/** The pool procedures. */
const POOL_PROCEDURES: ProcedureTable = {
  virConnectGetStoragePoolCapabilities: {
    proc: 403,
    readOnly: true,
    args: x.struct(["flags", x.uint]),
    ret: x.struct(["capabilities", nonnullString]),
    handler: (args: { flags: number }, context) => {
      checkFlags(args.flags, 0, "virConnectGetStoragePoolCapabilities");
      storageOf(context, "virConnectGetStoragePoolCapabilities");
      return { capabilities: formatPoolCapabilities(SUPPORTED_POOL_TYPES) };
    },
  },
  virConnectListAllStoragePools: {
    proc: 281,
    readOnly: true,
    args: x.struct(["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["pools", x.array(poolType, STORAGE_POOL_LIST_MAX)], ["ret", x.uint]),
    handler: (args: { need_results: number; flags: number }, context) => {
      checkFlags(args.flags, LIST_FLAGS_ALL, "virConnectListAllStoragePools");
      const storage = storageOf(context, "virConnectListAllStoragePools");
      const pools = storage.list().filter((pool) => matches(pool, args.flags));
      return { pools: args.need_results ? pools.map(wirePool) : [], ret: pools.length };
    },
  },
  virConnectNumOfStoragePools: {
    proc: 71,
    readOnly: true,
    args: x.void,
    ret: x.struct(["num", x.int]),
    handler: (_args, context) => ({
      num: storageOf(context, "virConnectNumOfStoragePools").list().filter((pool) => pool.active)
        .length,
    }),
  },
  virConnectListStoragePools: {
    proc: 72,
    readOnly: true,
    args: x.struct(["maxnames", x.int]),
    ret: x.struct(["names", x.array(nonnullString, STORAGE_POOL_LIST_MAX)]),
    handler: (args: { maxnames: number }, context) => ({
      names: names(storageOf(context, "virConnectListStoragePools"), true, args.maxnames),
    }),
  },
  virConnectNumOfDefinedStoragePools: {
    proc: 73,
    readOnly: true,
    args: x.void,
    ret: x.struct(["num", x.int]),
    handler: (_args, context) => ({
      num:
        storageOf(context, "virConnectNumOfDefinedStoragePools").list().filter((pool) =>
          !pool.active
        ).length,
    }),
  },
  virConnectListDefinedStoragePools: {
    proc: 74,
    readOnly: true,
    args: x.struct(["maxnames", x.int]),
    ret: x.struct(["names", x.array(nonnullString, STORAGE_POOL_LIST_MAX)]),
    handler: (args: { maxnames: number }, context) => ({
      names: names(storageOf(context, "virConnectListDefinedStoragePools"), false, args.maxnames),
    }),
  },
  virStoragePoolLookupByName: {
    proc: 84,
    readOnly: true,
    args: x.struct(["name", nonnullString]),
    ret: poolRet,
    handler: (args: { name: string }, context) => {
      const storage = storageOf(context, "virStoragePoolLookupByName");
      return { pool: wirePool(storage.summary(storage.byName(args.name))) };
    },
  },
  virStoragePoolLookupByUUID: {
    proc: 85,
    readOnly: true,
    args: x.struct(["uuid", uuidType]),
    ret: poolRet,
    handler: (args: { uuid: Uint8Array }, context) => {
      const storage = storageOf(context, "virStoragePoolLookupByUUID");
      return { pool: wirePool(storage.summary(storage.byUuid(uuidText(args.uuid)))) };
    },
  },
  virStoragePoolLookupByVolume: {
    proc: 86,
    readOnly: true,
    args: volumeArgs,
    ret: poolRet,
    handler: (args: { vol: WireVolume }, context) => {
      const storage = storageOf(context, "virStoragePoolLookupByVolume");
      const { uuid } = volumeOf(storage, args.vol);
      return { pool: wirePool(storage.summary(storage.byUuid(uuid))) };
    },
  },
  virStoragePoolLookupByTargetPath: {
    proc: 391,
    readOnly: true,
    args: x.struct(["path", nonnullString]),
    ret: poolRet,
    handler: (args: { path: string }, context) => {
      const storage = storageOf(context, "virStoragePoolLookupByTargetPath");
      const actor = storage.actors().find((candidate) =>
        candidate.snapshot.context.definition?.targetPath === args.path
      );
      if (actor === undefined) {
        throw new VirtError(
          ErrorCode.NO_STORAGE_POOL,
          `no storage pool with matching target path '${args.path}'`,
        );
      }
      return { pool: wirePool(storage.summary(actor)) };
    },
  },
  virStoragePoolDefineXML: {
    proc: 77,
    readOnly: false,
    args: x.struct(["xml", nonnullString], ["flags", x.uint]),
    ret: poolRet,
    handler: async (args: { xml: string; flags: number }, context) => {
      // VIR_STORAGE_POOL_DEFINE_VALIDATE (1): evirt's parser refuses what the schema would.
      checkFlags(args.flags, 1, "virStoragePoolDefineXML");
      const storage = storageOf(context, "virStoragePoolDefineXML");
      return { pool: wirePool(await storage.define(args.xml)) };
    },
  },
  virStoragePoolCreateXML: {
    proc: 76,
    readOnly: false,
    args: x.struct(["xml", nonnullString], ["flags", x.uint]),
    ret: poolRet,
    handler: async (args: { xml: string; flags: number }, context) => {
      checkFlags(args.flags, 1 | 2 | 4, "virStoragePoolCreateXML");
      const storage = storageOf(context, "virStoragePoolCreateXML");
      return { pool: wirePool(await storage.create(args.xml, args.flags !== 0)) };
    },
  },
  virStoragePoolCreate: poolAction(
    78,
    "virStoragePoolCreate",
    1 | 2 | 4,
    (storage, uuid, flags) => storage.commands.start(uuid, flags),
  ),
  virStoragePoolBuild: poolAction(
    79,
    "virStoragePoolBuild",
    1 | 2 | 4 | 8,
    (storage, uuid, flags) => storage.commands.build(uuid, flags),
  ),
  virStoragePoolDestroy: poolAction(
    80,
    "virStoragePoolDestroy",
    0,
    (storage, uuid) => storage.commands.destroy(uuid),
    poolArgs,
  ),
  virStoragePoolDelete: poolAction(
    81,
    "virStoragePoolDelete",
    0,
    (storage, uuid, flags) => storage.commands.delete(uuid, flags),
  ),
  virStoragePoolUndefine: poolAction(
    82,
    "virStoragePoolUndefine",
    0,
    (storage, uuid) => storage.undefine(uuid),
    poolArgs,
  ),
  virStoragePoolRefresh: poolAction(
    83,
    "virStoragePoolRefresh",
    0,
    (storage, uuid) => storage.commands.refresh(uuid),
  ),
  virStoragePoolSetAutostart: {
    proc: 90,
    readOnly: false,
    args: x.struct(["pool", poolType], ["autostart", x.int]),
    ret: x.void,
    handler: async (args: { pool: WirePool; autostart: number }, context) => {
      const storage = storageOf(context, "virStoragePoolSetAutostart");
      await storage.commands.setAutostart(poolOf(storage, args.pool).uuid, args.autostart !== 0);
    },
  },
  virStoragePoolGetAutostart: {
    proc: 89,
    readOnly: true,
    args: poolArgs,
    ret: x.struct(["autostart", x.int]),
    handler: (args: { pool: WirePool }, context) => ({
      autostart: poolOf(storageOf(context, "virStoragePoolGetAutostart"), args.pool).autostart
        ? 1
        : 0,
    }),
  },
  virStoragePoolGetInfo: {
    proc: 87,
    readOnly: true,
    args: poolArgs,
    ret: x.struct(
      ["state", x.uint],
      ["capacity", x.uhyper],
      ["allocation", x.uhyper],
      ["available", x.uhyper],
    ),
    handler: async (args: { pool: WirePool }, context) => {
      const storage = storageOf(context, "virStoragePoolGetInfo");
      const info = await storage.commands.info(poolOf(storage, args.pool).uuid);
      return {
        state: info.state,
        capacity: info.figures.capacityBytes,
        allocation: info.figures.allocationBytes,
        available: info.figures.availableBytes,
      };
    },
  },
  virStoragePoolGetXMLDesc: {
    proc: 88,
    readOnly: true,
    args: poolFlagsArgs,
    ret: x.struct(["xml", nonnullString]),
    handler: async (args: { pool: WirePool; flags: number }, context) => {
      checkFlags(args.flags, XML_INACTIVE, "virStoragePoolGetXMLDesc");
      const storage = storageOf(context, "virStoragePoolGetXMLDesc");
      const uuid = poolOf(storage, args.pool).uuid;
      return { xml: await storage.commands.xml(uuid, (args.flags & XML_INACTIVE) !== 0) };
    },
  },
  virStoragePoolIsActive: {
    proc: 154,
    readOnly: true,
    args: poolArgs,
    ret: x.struct(["active", x.int]),
    handler: (args: { pool: WirePool }, context) => ({
      active: poolOf(storageOf(context, "virStoragePoolIsActive"), args.pool).active ? 1 : 0,
    }),
  },
  virStoragePoolIsPersistent: {
    proc: 155,
    readOnly: true,
    args: poolArgs,
    ret: x.struct(["persistent", x.int]),
    handler: (args: { pool: WirePool }, context) => ({
      persistent: poolOf(storageOf(context, "virStoragePoolIsPersistent"), args.pool).persistent
        ? 1
        : 0,
    }),
  },
};

function volumeAction(
  proc: number,
  api: string,
  allowedFlags: number,
  act: (storage: StoragePools, uuid: string, name: string, flags: number) => Promise<void>,
): Procedure {
  return {
    proc,
    readOnly: false,
    args: volumeFlagsArgs,
    ret: x.void,
    handler: async (call: { vol: WireVolume; flags: number }, context) => {
      checkFlags(call.flags, allowedFlags, api);
      const storage = storageOf(context, api);
      const { uuid, name } = volumeOf(storage, call.vol);
      await act(storage, uuid, name, call.flags);
    },
  };
}

const volumeInfoRet = x.struct(["type", x.int], ["capacity", x.uhyper], ["allocation", x.uhyper]);

function volumeInfo(storage: StoragePools, vol: WireVolume, physical = false) {
  const { uuid, name } = volumeOf(storage, vol);
  const info = storage.commands.volumeInfo(uuid, name);
  return {
    type: info.type,
    capacity: info.capacityBytes,
    allocation: physical ? info.physicalBytes : info.allocationBytes,
  };
}

/** The volume procedures. */
const VOLUME_PROCEDURES: ProcedureTable = {
  virStoragePoolListAllVolumes: {
    proc: 282,
    readOnly: true,
    args: x.struct(["pool", poolType], ["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["vols", x.array(volumeType, STORAGE_VOL_LIST_MAX)], ["ret", x.uint]),
    handler: (args: { pool: WirePool; need_results: number; flags: number }, context) => {
      checkFlags(args.flags, 0, "virStoragePoolListAllVolumes");
      const storage = storageOf(context, "virStoragePoolListAllVolumes");
      const pool = poolOf(storage, args.pool);
      const volumes = storage.commands.volumes(pool.uuid);
      return {
        vols: args.need_results ? volumes.map((volume) => wireVolume(pool.name, volume)) : [],
        ret: volumes.length,
      };
    },
  },
  virStoragePoolNumOfVolumes: {
    proc: 91,
    readOnly: true,
    args: poolArgs,
    ret: x.struct(["num", x.int]),
    handler: (args: { pool: WirePool }, context) => {
      const storage = storageOf(context, "virStoragePoolNumOfVolumes");
      return { num: storage.commands.volumes(poolOf(storage, args.pool).uuid).length };
    },
  },
  virStoragePoolListVolumes: {
    proc: 92,
    readOnly: true,
    args: x.struct(["pool", poolType], ["maxnames", x.int]),
    ret: x.struct(["names", x.array(nonnullString, STORAGE_VOL_LIST_MAX)]),
    handler: (args: { pool: WirePool; maxnames: number }, context) => {
      const storage = storageOf(context, "virStoragePoolListVolumes");
      const volumes = storage.commands.volumes(poolOf(storage, args.pool).uuid);
      return {
        names: volumes.slice(0, Math.max(0, args.maxnames)).map((volume) => volume.name),
      };
    },
  },
  virStorageVolLookupByName: {
    proc: 95,
    readOnly: true,
    args: x.struct(["pool", poolType], ["name", nonnullString]),
    ret: volumeRet,
    handler: (args: { pool: WirePool; name: string }, context) => {
      const storage = storageOf(context, "virStorageVolLookupByName");
      const pool = poolOf(storage, args.pool);
      return { vol: wireVolume(pool.name, storage.commands.volume(pool.uuid, args.name)) };
    },
  },
  virStorageVolLookupByKey: {
    proc: 96,
    readOnly: true,
    args: x.struct(["key", nonnullString]),
    ret: volumeRet,
    handler: (args: { key: string }, context) => {
      const storage = storageOf(context, "virStorageVolLookupByKey");
      const found = storage.commands.volumeByKey(args.key, "key");
      return { vol: wireVolume(storage.summary(storage.byUuid(found.pool)).name, found.volume) };
    },
  },
  virStorageVolLookupByPath: {
    proc: 97,
    readOnly: true,
    args: x.struct(["path", nonnullString]),
    ret: volumeRet,
    handler: (args: { path: string }, context) => {
      const storage = storageOf(context, "virStorageVolLookupByPath");
      const found = storage.commands.volumeByKey(args.path, "path");
      return { vol: wireVolume(storage.summary(storage.byUuid(found.pool)).name, found.volume) };
    },
  },
  virStorageVolCreateXML: {
    proc: 93,
    readOnly: false,
    args: x.struct(["pool", poolType], ["xml", nonnullString], ["flags", x.uint]),
    ret: volumeRet,
    handler: async (args: { pool: WirePool; xml: string; flags: number }, context) => {
      checkFlags(args.flags, 1, "virStorageVolCreateXML");
      const storage = storageOf(context, "virStorageVolCreateXML");
      const pool = poolOf(storage, args.pool);
      const volume = await storage.commands.createVolume(pool.uuid, args.xml, args.flags);
      return { vol: wireVolume(pool.name, volume) };
    },
  },
  virStorageVolCreateXMLFrom: {
    proc: 125,
    readOnly: false,
    args: x.struct(
      ["pool", poolType],
      ["xml", nonnullString],
      ["clonevol", volumeType],
      ["flags", x.uint],
    ),
    ret: volumeRet,
    handler: async (
      args: { pool: WirePool; xml: string; clonevol: WireVolume; flags: number },
      context,
    ) => {
      const storage = storageOf(context, "virStorageVolCreateXMLFrom");
      const pool = poolOf(storage, args.pool);
      const source = volumeOf(storage, args.clonevol);
      const volume = await storage.commands.cloneVolume(
        pool.uuid,
        args.xml,
        { pool: source.uuid, name: source.name },
        args.flags,
      );
      return { vol: wireVolume(pool.name, volume) };
    },
  },
  virStorageVolDelete: volumeAction(
    94,
    "virStorageVolDelete",
    0,
    (storage, uuid, name, flags) => storage.commands.deleteVolume(uuid, name, flags),
  ),
  virStorageVolWipe: volumeAction(
    165,
    "virStorageVolWipe",
    0,
    (storage, uuid, name, flags) => storage.commands.wipeVolume(uuid, name, 0, flags),
  ),
  virStorageVolWipePattern: {
    proc: 259,
    readOnly: false,
    args: x.struct(["vol", volumeType], ["algorithm", x.uint], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { vol: WireVolume; algorithm: number; flags: number }, context) => {
      const storage = storageOf(context, "virStorageVolWipePattern");
      const { uuid, name } = volumeOf(storage, args.vol);
      await storage.commands.wipeVolume(uuid, name, args.algorithm, args.flags);
    },
  },
  virStorageVolResize: {
    proc: 260,
    readOnly: false,
    args: x.struct(["vol", volumeType], ["capacity", x.uhyper], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { vol: WireVolume; capacity: bigint; flags: number }, context) => {
      const storage = storageOf(context, "virStorageVolResize");
      const { uuid, name } = volumeOf(storage, args.vol);
      await storage.commands.resizeVolume(uuid, name, BigInt(args.capacity), args.flags);
    },
  },
  virStorageVolGetInfo: {
    proc: 98,
    readOnly: true,
    args: volumeArgs,
    ret: volumeInfoRet,
    handler: (args: { vol: WireVolume }, context) =>
      volumeInfo(storageOf(context, "virStorageVolGetInfo"), args.vol),
  },
  virStorageVolGetInfoFlags: {
    proc: 378,
    readOnly: true,
    args: volumeFlagsArgs,
    ret: volumeInfoRet,
    handler: (args: { vol: WireVolume; flags: number }, context) => {
      // VIR_STORAGE_VOL_GET_PHYSICAL (1): a file's physical size is its length.
      checkFlags(args.flags, 1, "virStorageVolGetInfoFlags");
      const storage = storageOf(context, "virStorageVolGetInfoFlags");
      return volumeInfo(storage, args.vol, (args.flags & 1) !== 0);
    },
  },
  virStorageVolGetXMLDesc: {
    proc: 99,
    readOnly: true,
    args: volumeFlagsArgs,
    ret: x.struct(["xml", nonnullString]),
    handler: async (args: { vol: WireVolume; flags: number }, context) => {
      checkFlags(args.flags, 0, "virStorageVolGetXMLDesc");
      const storage = storageOf(context, "virStorageVolGetXMLDesc");
      const { uuid, name } = volumeOf(storage, args.vol);
      return { xml: await storage.commands.volumeXml(uuid, name) };
    },
  },
  virStorageVolGetPath: {
    proc: 100,
    readOnly: true,
    args: volumeArgs,
    ret: x.struct(["name", nonnullString]),
    handler: (args: { vol: WireVolume }, context) => {
      const storage = storageOf(context, "virStorageVolGetPath");
      const { uuid, name } = volumeOf(storage, args.vol);
      return { name: storage.commands.volume(uuid, name).path };
    },
  },
};

/** Every storage procedure. */
export const STORAGE_PROCEDURES: ProcedureTable = { ...POOL_PROCEDURES, ...VOLUME_PROCEDURES };
