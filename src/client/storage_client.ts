/**
 * The storage part of the evirt client: pools and volumes over the routes of the operations
 * table, on an {@linkcode EvirtClient}'s transport.
 *
 * @module
 */

import type {
  PoolInfoView,
  PoolSummaryView,
  VolumeJobView,
  VolumeView,
} from "../api/storage_views.ts";
import { pathOf } from "../model/operations.ts";
import {
  bytesOnly,
  decodeSparse,
  encodeSparse,
  SPARSE_STREAM_MEDIA,
  type SparsePiece,
} from "../storage/sparse_stream.ts";
import type { EvirtClient } from "./client.ts";

/** Pool start and create options (`VIR_STORAGE_POOL_CREATE_WITH_BUILD*`). */
export interface PoolStartOptions {
  build?: boolean;
  overwrite?: boolean;
  noOverwrite?: boolean;
}

function query(values: Record<string, string | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === false) continue;
    params.set(name, value === true ? "true" : value);
  }
  return params.size === 0 ? "" : `?${params}`;
}

const xmlBody = (xml: string) => ({ body: xml, type: "application/xml" });

/**
 * Pools and volumes of one service.
 *
 * @example
 * ```ts ignore
 * const storage = new StorageClient(client);
 * console.log((await storage.pools()).map((pool) => pool.name));
 * ```
 */
export class StorageClient {
  readonly #client: EvirtClient;

  /** @param client The client whose transport requests travel on. */
  constructor(client: EvirtClient) {
    this.#client = client;
  }

  async #json<T>(
    method: string,
    path: string,
    body?: { body: string; type: string },
  ): Promise<T> {
    return await (await this.#client.request(method, path, body)).json() as T;
  }

  /** Every pool. */
  async pools(): Promise<PoolSummaryView[]> {
    return (await this.#json<{ pools: PoolSummaryView[] }>("GET", pathOf("pool.list"))).pools;
  }

  /** A pool's state, flags and figures, by name or uuid. */
  poolInfo(pool: string): Promise<PoolInfoView> {
    return this.#json("GET", pathOf("pool.info", { pool }));
  }

  /** A pool's XML. */
  async poolXml(pool: string, inactive = false): Promise<string> {
    const path = pathOf("pool.dumpxml", { pool }) + query({ inactive });
    return await (await this.#client.request("GET", path)).text();
  }

  /** Defines a pool. */
  definePool(xml: string): Promise<PoolSummaryView> {
    return this.#json("POST", pathOf("pool.define"), xmlBody(xml));
  }

  /** Creates and starts a transient pool. */
  createPool(xml: string, options: PoolStartOptions = {}): Promise<PoolSummaryView> {
    return this.#json("POST", pathOf("pool.create") + startQuery(options), xmlBody(xml));
  }

  /** Runs a pool action. */
  poolAction(
    pool: string,
    action: "build" | "start" | "destroy" | "delete" | "refresh",
    options: PoolStartOptions = {},
  ): Promise<PoolSummaryView> {
    return this.#json("POST", pathOf(`pool.${action}`, { pool }) + startQuery(options));
  }

  /** Undefines a pool. */
  async undefinePool(pool: string): Promise<void> {
    await this.#client.request("DELETE", pathOf("pool.undefine", { pool }));
  }

  /** Sets a pool's autostart flag. */
  setPoolAutostart(pool: string, autostart: boolean): Promise<PoolSummaryView> {
    return this.#json("PUT", pathOf("pool.autostart", { pool }), {
      body: JSON.stringify({ autostart }),
      type: "application/json",
    });
  }

  /** A pool's volumes, by name. */
  async volumes(pool: string): Promise<VolumeView[]> {
    const path = pathOf("volume.list", { pool });
    return (await this.#json<{ volumes: VolumeView[] }>("GET", path)).volumes;
  }

  /** A volume by its name in a pool. */
  volume(pool: string, volume: string): Promise<VolumeView> {
    return this.#json("GET", pathOf("volume.info", { pool, volume }));
  }

  /** A volume by key or path, in any active pool. */
  lookupVolume(by: "key" | "path", value: string): Promise<VolumeView> {
    return this.#json("GET", pathOf("volume.lookup") + query({ [by]: value }));
  }

  /** A volume's XML. */
  async volumeXml(pool: string, volume: string): Promise<string> {
    return await (await this.#client.request("GET", pathOf("volume.dumpxml", { pool, volume })))
      .text();
  }

  /** Creates a volume from XML. */
  createVolume(pool: string, xml: string, preallocMetadata = false): Promise<VolumeView> {
    const path = pathOf("volume.create", { pool }) +
      query({ prealloc_metadata: preallocMetadata });
    return this.#json("POST", path, xmlBody(xml));
  }

  /** Creates a volume (XML) as a copy of another, in `targetPool` (default: the source's). */
  cloneVolume(
    pool: string,
    volume: string,
    xml: string,
    options: { targetPool?: string; preallocMetadata?: boolean } = {},
  ): Promise<VolumeView> {
    const path = pathOf("volume.clone", { pool, volume }) +
      query({ target_pool: options.targetPool, prealloc_metadata: options.preallocMetadata });
    return this.#json("POST", path, xmlBody(xml));
  }

  /** Removes a volume. */
  async deleteVolume(pool: string, volume: string): Promise<void> {
    await this.#client.request("DELETE", pathOf("volume.delete", { pool, volume }));
  }

  /** Wipes a volume. */
  wipeVolume(pool: string, volume: string, algorithm?: string): Promise<VolumeView> {
    return this.#json("POST", pathOf("volume.wipe", { pool, volume }) + query({ algorithm }));
  }

  /**
   * Writes `stream` into a volume from `offset` (`vol-upload`); `sparse`: holes (numbers in the
   * stream) and zero blocks become holes and the volume after `offset` is exactly the stream.
   * A plain upload takes bytes only.
   */
  async upload(
    pool: string,
    volume: string,
    stream: ReadableStream<SparsePiece>,
    options: { offset?: number; length?: number; sparse?: boolean; size?: number } = {},
  ): Promise<{ bytes: number; volume: VolumeView }> {
    const path = pathOf("volume.upload", { pool, volume }) + query({
      offset: options.offset ? String(options.offset) : undefined,
      length: options.length ? String(options.length) : undefined,
      sparse: options.sparse,
    });
    // Sparse: zero blocks go as hole records, never as zeros over the connection.
    const response = options.sparse
      ? await this.#client.requestStream(
        "PUT",
        path,
        encodeSparse(stream),
        undefined,
        SPARSE_STREAM_MEDIA,
      )
      : await this.#client.requestStream("PUT", path, bytesOnly(stream), options.size);
    return await response.json() as { bytes: number; volume: VolumeView };
  }

  /**
   * A volume's bytes from `offset` (`vol-download`), as they arrive: byte chunks, and with
   * `sparse` holes as their lengths (numbers).
   */
  async download(
    pool: string,
    volume: string,
    options: { offset?: number; length?: number; sparse?: boolean } = {},
  ): Promise<AsyncIterable<SparsePiece>> {
    const path = pathOf("volume.download", { pool, volume }) + query({
      offset: options.offset ? String(options.offset) : undefined,
      length: options.length ? String(options.length) : undefined,
      sparse: options.sparse,
    });
    const response = await this.#client.request("GET", path);
    const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return options.sparse ? decodeSparse(body) : body;
  }

  /** The job a volume is busy with (`job` null when idle). */
  volumeJob(pool: string, volume: string): Promise<VolumeJobView> {
    return this.#json("GET", pathOf("volume.job", { pool, volume }));
  }

  /** Cancels the job a volume is busy with; answers the job as it was cancelled. */
  cancelVolumeJob(pool: string, volume: string): Promise<VolumeJobView> {
    return this.#json("DELETE", pathOf("volume.job_cancel", { pool, volume }));
  }

  /** Changes a volume's capacity (bytes; with `delta` a change). */
  resizeVolume(
    pool: string,
    volume: string,
    capacity: bigint,
    options: { allocate?: boolean; delta?: boolean; shrink?: boolean } = {},
  ): Promise<VolumeView> {
    const path = pathOf("volume.resize", { pool, volume }) +
      query({ capacity: String(capacity), ...options });
    return this.#json("POST", path);
  }
}

function startQuery(options: PoolStartOptions): string {
  return query({
    build: options.build,
    overwrite: options.overwrite,
    no_overwrite: options.noOverwrite,
  });
}
