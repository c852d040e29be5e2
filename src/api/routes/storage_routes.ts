/**
 * Storage pool and volume routes: the same pool commands libvirt's protocol reaches
 * (`src/rpc/storage_procedures.ts`), over HTTP. A pool is named by name or uuid (`:pool`), a
 * volume by its name in the pool (`:volume`) or, for lookups, by key or path.
 *
 * @module
 */

import type { PoolSummary, StoragePools } from "../../../actors/storage_pools.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { VolumeRecord } from "../../model/storage_facts.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { lendBodyPieces } from "../http1_body.ts";
import { decodeSparse, encodeSparse, SPARSE_STREAM_MEDIA } from "../../storage/sparse_stream.ts";
import {
  autostartBody,
  byUuidOrName,
  queryFlag,
  xmlBody,
  xmlResponse,
} from "./object_route_support.ts";
import type { PoolInfoView, PoolSummaryView, VolumeJobView, VolumeView } from "../storage_views.ts";

type Context = RouteContext & ApiRequestContext;

/** libvirt's pool state names, by number. */
const POOL_STATE_NAMES = ["inactive", "building", "running", "degraded", "inaccessible"];

/** libvirt's volume type names, by number (virStorageVolType). */
const VOLUME_TYPE_NAMES = ["file", "block", "dir", "network", "netdir", "ploop"];

/** libvirt's wipe algorithms (virStorageVolWipeAlgorithm), by name. */
const WIPE_ALGORITHMS = [
  "zero",
  "nnsa",
  "dod",
  "bsi",
  "gutmann",
  "schneier",
  "pfitzner7",
  "pfitzner33",
  "random",
  "trim",
];

function storageOf(context: Context): StoragePools {
  const storage = context.env.storage;
  if (storage === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "this connection has no storage pools");
  }
  return storage;
}

/** The pool `:pool` names: by uuid first, then by name, as virsh looks a pool up. */
function poolOf(storage: StoragePools, reference: string): PoolSummary {
  return storage.summary(byUuidOrName(storage, reference));
}

/** A pool as the API shows it. */
export function poolSummaryView(summary: PoolSummary): PoolSummaryView {
  return {
    uuid: summary.uuid,
    name: summary.name,
    type: summary.type,
    state: summary.state,
    stateName: POOL_STATE_NAMES[summary.state] ?? "unknown",
    active: summary.active,
    persistent: summary.persistent,
    autostart: summary.autostart,
  };
}

function volumeView(storage: StoragePools, pool: PoolSummary, record: VolumeRecord): VolumeView {
  const info = storage.commands.volumeInfo(pool.uuid, record.name);
  return {
    pool: pool.name,
    poolUuid: pool.uuid,
    name: record.name,
    key: record.path,
    path: record.path,
    type: info.type,
    typeName: VOLUME_TYPE_NAMES[info.type] ?? "unknown",
    format: record.format,
    capacityBytes: info.capacityBytes,
    allocationBytes: info.allocationBytes,
    physicalBytes: info.physicalBytes,
  };
}

function flags(context: Context, bits: Readonly<Record<string, number>>): number {
  let result = 0;
  for (const [name, bit] of Object.entries(bits)) if (queryFlag(context, name)) result |= bit;
  return result;
}

/** The volume `:pool`/`:volume` name. */
function volumeOf(context: Context): { storage: StoragePools; pool: PoolSummary; name: string } {
  const storage = storageOf(context);
  const pool = poolOf(storage, context.params.pool);
  const name = context.params.volume;
  storage.commands.volume(pool.uuid, name);
  return { storage, pool, name };
}

function currentVolume(context: Context): Response {
  const { storage, pool, name } = volumeOf(context);
  return jsonResponse(volumeView(storage, pool, storage.commands.volume(pool.uuid, name)));
}

/** `VIR_STORAGE_POOL_CREATE_WITH_BUILD*`, by query flag. */
const START_FLAGS = { build: 1, overwrite: 2, no_overwrite: 4 };
/** `VIR_STORAGE_POOL_BUILD_NO_OVERWRITE`, `_OVERWRITE`. */
const BUILD_FLAGS = { no_overwrite: 4, overwrite: 8 };
/** `VIR_STORAGE_VOL_RESIZE_*`. */
const RESIZE_FLAGS = { allocate: 1, delta: 2, shrink: 4 };
/** `VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA`. */
const CREATE_FLAGS = { prealloc_metadata: 1 };

/** A non-negative whole number of bytes from the query, 0 when absent. */
function byteCount(context: Context, name: string): number {
  const text = context.url.searchParams.get(name);
  if (text === null || text === "") return 0;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `${name} must be a number of bytes, not '${text}'`, {
      where: name,
    });
  }
  return value;
}

function rangeOf(context: Context) {
  return { offset: byteCount(context, "offset"), length: byteCount(context, "length") };
}

/** Registers the storage routes. */
export function storageRoutes(add: RouteAdder): void {
  add("pool.list", (_request, context) => {
    const pools = storageOf(context).list().map(poolSummaryView);
    return jsonResponse({ pools });
  });
  add("pool.info", async (_request, context) => {
    const storage = storageOf(context);
    const pool = poolOf(storage, context.params.pool);
    const { figures } = await storage.commands.info(pool.uuid);
    const view: PoolInfoView = {
      ...poolSummaryView(pool),
      capacityBytes: Number(figures.capacityBytes),
      allocationBytes: Number(figures.allocationBytes),
      availableBytes: Number(figures.availableBytes),
    };
    return jsonResponse(view);
  });
  add("pool.dumpxml", async (_request, context) => {
    const storage = storageOf(context);
    const pool = poolOf(storage, context.params.pool);
    return xmlResponse(await storage.commands.xml(pool.uuid, queryFlag(context, "inactive")));
  });
  add("pool.define", async (request, context) => {
    const storage = storageOf(context);
    return jsonResponse(poolSummaryView(await storage.define(await xmlBody(request))), 201);
  });
  add("pool.create", async (request, context) => {
    const storage = storageOf(context);
    const build = flags(context, START_FLAGS) !== 0;
    return jsonResponse(poolSummaryView(await storage.create(await xmlBody(request), build)), 201);
  });
  const poolAction = (
    name: "pool.build" | "pool.start" | "pool.destroy" | "pool.delete" | "pool.refresh",
    act: (storage: StoragePools, uuid: string, context: Context) => Promise<void>,
  ) =>
    add(name, async (_request, context) => {
      const storage = storageOf(context);
      const pool = poolOf(storage, context.params.pool);
      await act(storage, pool.uuid, context);
      return jsonResponse(poolSummaryView(storage.summary(storage.byUuid(pool.uuid))));
    });
  poolAction("pool.build", (s, uuid, c) => s.commands.build(uuid, flags(c, BUILD_FLAGS)));
  poolAction("pool.start", (s, uuid, c) => s.commands.start(uuid, flags(c, START_FLAGS)));
  poolAction("pool.destroy", (s, uuid) => s.commands.destroy(uuid));
  poolAction("pool.delete", (s, uuid) => s.commands.delete(uuid, 0));
  poolAction("pool.refresh", (s, uuid) => s.commands.refresh(uuid));
  add("pool.undefine", async (_request, context) => {
    const storage = storageOf(context);
    await storage.undefine(poolOf(storage, context.params.pool).uuid);
    return new Response(null, { status: 204 });
  });
  add("pool.autostart", async (request, context) => {
    const storage = storageOf(context);
    const autostart = await autostartBody(request, context.env.bodyMaxBytes);
    const pool = poolOf(storage, context.params.pool);
    await storage.commands.setAutostart(pool.uuid, autostart);
    return jsonResponse(poolSummaryView(storage.summary(storage.byUuid(pool.uuid))));
  });
  add("volume.list", (_request, context) => {
    const storage = storageOf(context);
    const pool = poolOf(storage, context.params.pool);
    const volumes = storage.commands.volumes(pool.uuid).map((record) =>
      volumeView(storage, pool, record)
    );
    return jsonResponse({ volumes });
  });
  add("volume.lookup", (_request, context) => {
    const storage = storageOf(context);
    const key = context.url.searchParams.get("key");
    const path = context.url.searchParams.get("path");
    if ((key === null) === (path === null)) {
      throw new VirtError(ErrorCode.INVALID_ARG, "give exactly one of key and path", {
        where: key === null ? "key" : "path",
      });
    }
    const found = storage.commands.volumeByKey(key ?? path ?? "", key === null ? "path" : "key");
    const pool = storage.summary(storage.byUuid(found.pool));
    return jsonResponse(volumeView(storage, pool, found.volume));
  });
  add("volume.info", (_request, context) => currentVolume(context));
  add("volume.dumpxml", async (_request, context) => {
    const { storage, pool, name } = volumeOf(context);
    return xmlResponse(await storage.commands.volumeXml(pool.uuid, name));
  });
  add("volume.path", (_request, context) => {
    const { storage, pool, name } = volumeOf(context);
    return jsonResponse({ path: storage.commands.volume(pool.uuid, name).path });
  });
  add("volume.create", async (request, context) => {
    const storage = storageOf(context);
    const pool = poolOf(storage, context.params.pool);
    const xml = await xmlBody(request);
    const record = await storage.commands.createVolume(
      pool.uuid,
      xml,
      flags(context, CREATE_FLAGS),
    );
    return jsonResponse(volumeView(storage, pool, record), 201);
  });
  add("volume.clone", async (request, context) => {
    const { storage, pool: source, name } = volumeOf(context);
    const targetName = context.url.searchParams.get("target_pool");
    const target = targetName === null || targetName === "" ? source : poolOf(storage, targetName);
    const xml = await xmlBody(request);
    const record = await storage.commands.cloneVolume(
      target.uuid,
      xml,
      { pool: source.uuid, name },
      flags(context, CREATE_FLAGS),
    );
    return jsonResponse(volumeView(storage, target, record), 201);
  });
  add("volume.delete", async (_request, context) => {
    const { storage, pool, name } = volumeOf(context);
    await storage.commands.deleteVolume(pool.uuid, name, 0);
    return new Response(null, { status: 204 });
  });
  add("volume.wipe", async (_request, context) => {
    const { storage, pool, name } = volumeOf(context);
    const algorithmName = context.url.searchParams.get("algorithm") ?? "zero";
    const algorithm = WIPE_ALGORITHMS.indexOf(algorithmName);
    if (algorithm < 0) {
      throw new VirtError(ErrorCode.INVALID_ARG, `unknown wipe algorithm '${algorithmName}'`, {
        where: "algorithm",
      });
    }
    await storage.commands.wipeVolume(pool.uuid, name, algorithm, 0);
    return currentVolume(context);
  });
  add("volume.upload", async (request, context) => {
    const { storage, pool, name } = volumeOf(context);
    if (request.body === null) {
      throw new VirtError(ErrorCode.INVALID_ARG, "an upload needs a body", { where: "body" });
    }
    // The upload writes or copies each piece before it reads on: pieces need not be copies.
    lendBodyPieces(request.body);
    // A sparse stream carries holes as records (always a sparse upload); else the bytes.
    const framed = (request.headers.get("content-type") ?? "").startsWith(SPARSE_STREAM_MEDIA);
    const bytes = await storage.commands.uploadVolume(
      pool.uuid,
      name,
      framed ? decodeSparse(request.body) : request.body,
      rangeOf(context),
      framed || queryFlag(context, "sparse"),
    );
    const volume = volumeView(storage, pool, storage.commands.volume(pool.uuid, name));
    return jsonResponse({ bytes, volume });
  });
  add("volume.download", async (_request, context) => {
    const { storage, pool, name } = volumeOf(context);
    // Asked sparse, the file's holes (unread) and zero blocks go as hole records; the byte
    // count travels in a header.
    const sparse = queryFlag(context, "sparse");
    const range = rangeOf(context);
    const { body, bytes } = sparse
      // The connection writes each chunk before it reads the next: one buffer serves them all.
      ? await storage.commands.downloadVolume(pool.uuid, name, range, {
        holes: true,
        reuseBuffer: true,
      })
        .then(({ stream, bytes }) => ({ body: encodeSparse(stream), bytes }))
      : await storage.commands.downloadVolume(pool.uuid, name, range)
        .then(({ stream, bytes }) => ({ body: stream, bytes }));
    return new Response(body, {
      headers: {
        "content-type": sparse ? SPARSE_STREAM_MEDIA : "application/octet-stream",
        "x-evirt-content-bytes": String(bytes),
      },
    });
  });
  const jobView = (pool: PoolSummary, view: ReturnType<StoragePools["commands"]["volumeJob"]>) => {
    const job = view.job;
    const shown: VolumeJobView = {
      pool: pool.name,
      volume: view.volume,
      job: job === null ? null : {
        name: job.name,
        sinceMs: job.sinceMs,
        bytesDone: job.bytesDone,
        bytesTotal: job.bytesTotal,
        cancelled: job.cancelled,
      },
    };
    return jsonResponse(shown);
  };
  add("volume.job", (_request, context) => {
    const storage = storageOf(context);
    const pool = poolOf(storage, context.params.pool);
    return jobView(pool, storage.commands.volumeJob(pool.uuid, context.params.volume));
  });
  add("volume.job_cancel", (_request, context) => {
    const storage = storageOf(context);
    const pool = poolOf(storage, context.params.pool);
    return jobView(pool, storage.commands.cancelVolumeJob(pool.uuid, context.params.volume));
  });
  add("volume.resize", async (_request, context) => {
    const { storage, pool, name } = volumeOf(context);
    const text = context.url.searchParams.get("capacity") ?? "";
    if (!/^\d{1,20}$/.test(text)) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `capacity must be a number of bytes, not '${text}'`,
        { where: "capacity" },
      );
    }
    const capacity = BigInt(text);
    if (capacity > 0xffff_ffff_ffff_ffffn) {
      throw new VirtError(ErrorCode.OVERFLOW, `capacity ${text} does not fit 64 bits`, {
        where: "capacity",
      });
    }
    await storage.commands.resizeVolume(pool.uuid, name, capacity, flags(context, RESIZE_FLAGS));
    return currentVolume(context);
  });
}
