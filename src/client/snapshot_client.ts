/**
 * The snapshot part of the evirt client: take, list, read, revert and delete a domain's
 * snapshots over the routes of the operations table, on an {@linkcode EvirtClient}'s transport.
 *
 * @module
 */

import type { SnapshotView } from "../model/snapshot.ts";
import { pathOf } from "../model/operations.ts";
import type { EvirtClient } from "./client.ts";

export type { SnapshotView };

/** The flags of a snapshot's creation, by the route's query names. */
export interface SnapshotCreateOptions {
  redefine?: boolean;
  current?: boolean;
  noMetadata?: boolean;
  halt?: boolean;
  diskOnly?: boolean;
  reuseExternal?: boolean;
  quiesce?: boolean;
  atomic?: boolean;
  live?: boolean;
  validate?: boolean;
}

/** The list filters, by the route's query names. */
export interface SnapshotListOptions {
  from?: string;
  descendants?: boolean;
  roots?: boolean;
  topological?: boolean;
  leaves?: boolean;
  noLeaves?: boolean;
  metadata?: boolean;
  noMetadata?: boolean;
  inactive?: boolean;
  active?: boolean;
  diskOnly?: boolean;
  internal?: boolean;
  external?: boolean;
}

/** camelCase option → snake_case query parameter, for `true` values (and `from`). */
function query(values: Record<string, boolean | string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    const key = name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    if (value === true) params.set(key, "true");
    else if (typeof value === "string") params.set(key, value);
  }
  return params.size === 0 ? "" : `?${params}`;
}

/**
 * Snapshots of one service's domains.
 *
 * @example
 * ```ts ignore
 * const snapshots = new SnapshotClient(client);
 * const name = await snapshots.create("web", "<domainsnapshot><name>s1</name></domainsnapshot>");
 * await snapshots.revert("web", name);
 * ```
 */
export class SnapshotClient {
  readonly #client: EvirtClient;

  /** @param client The client whose transport requests travel on. */
  constructor(client: EvirtClient) {
    this.#client = client;
  }

  /** Takes (or, with `redefine`, records) a snapshot; answers its name. */
  async create(
    reference: string,
    xml: string,
    options: SnapshotCreateOptions = {},
  ): Promise<string> {
    const path = `${pathOf("snapshot.create", { ref: reference })}${query({ ...options })}`;
    const response = await this.#client.request("POST", path, {
      body: xml,
      type: "application/xml",
    });
    return ((await response.json()) as { name: string }).name;
  }

  /** The snapshots the filters select. */
  async list(reference: string, options: SnapshotListOptions = {}): Promise<SnapshotView[]> {
    const path = `${pathOf("snapshot.list", { ref: reference })}${query({ ...options })}`;
    return await (await this.#client.request("GET", path)).json() as SnapshotView[];
  }

  /** One snapshot (code 72 when there is none of that name). */
  async info(reference: string, name: string): Promise<SnapshotView> {
    const path = pathOf("snapshot.info", { ref: reference, snapshot: name });
    return await (await this.#client.request("GET", path)).json() as SnapshotView;
  }

  /** The current snapshot (code 72 when none is current). */
  async current(reference: string): Promise<SnapshotView> {
    const path = pathOf("snapshot.current", { ref: reference });
    return await (await this.#client.request("GET", path)).json() as SnapshotView;
  }

  /** A snapshot's XML. */
  async xml(reference: string, name: string, secure = false): Promise<string> {
    const path = `${pathOf("snapshot.xml", { ref: reference, snapshot: name })}${
      query({ secure })
    }`;
    return await (await this.#client.request("GET", path)).text();
  }

  /** Reverts the domain to a snapshot. */
  async revert(
    reference: string,
    name: string,
    options: { running?: boolean; paused?: boolean; force?: boolean } = {},
  ): Promise<void> {
    const path = `${pathOf("snapshot.revert", { ref: reference, snapshot: name })}${
      query({ ...options })
    }`;
    await this.#client.request("POST", path);
  }

  /** Deletes a snapshot (and its descendants, or only them; only the record with `metadata`). */
  async delete(
    reference: string,
    name: string,
    options: { children?: boolean; childrenOnly?: boolean; metadata?: boolean } = {},
  ): Promise<void> {
    const path = `${pathOf("snapshot.delete", { ref: reference, snapshot: name })}${
      query({ ...options })
    }`;
    await this.#client.request("DELETE", path);
  }
}
