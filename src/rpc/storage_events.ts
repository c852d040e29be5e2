/**
 * Storage pool events of libvirt's protocol: the registration procedures
 * (`virConnectStoragePoolEventRegisterAny`, `…DeregisterAny`) and the messages a pool's facts
 * become — `STORAGE_POOL_EVENT_LIFECYCLE` (defined, undefined, started, stopped, created by a
 * build, deleted) and `STORAGE_POOL_EVENT_REFRESH` (an explicit refresh).
 *
 * @module
 */

import type { AppliedStorageFact } from "../../actors/pool_actor.ts";
import { eventPacket, type ObjectEvent } from "./object_events.ts";
import type { ProcedureTable } from "./procedure.ts";
import { nonnullString, uuidBytes, uuidType } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE`, `VIR_STORAGE_POOL_EVENT_ID_REFRESH`. */
export const POOL_EVENT_LIFECYCLE = 0;
export const POOL_EVENT_REFRESH = 1;

/** `REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE`, `…_REFRESH`. */
const PROC_LIFECYCLE = 370;
const PROC_REFRESH = 373;

/** virStoragePoolEventLifecycleType, by the fact that causes it. */
const LIFECYCLE_OF: Readonly<Record<string, number>> = {
  "pool.defined": 0,
  "pool.undefined": 1,
  "pool.started": 2,
  "pool.stopped": 3,
  "pool.built": 4,
  "pool.deleted": 5,
};

const poolType = x.struct(["name", nonnullString], ["uuid", uuidType]);
const lifecycleMessage = x.struct(
  ["callbackID", x.int],
  ["pool", poolType],
  ["event", x.int],
  ["detail", x.int],
);
const refreshMessage = x.struct(["callbackID", x.int], ["pool", poolType]);

/** One event a batch of facts makes: its event id, pool, and its packet for a callback id. */
export type PoolEvent = ObjectEvent;

/**
 * The events of freshly applied facts. A refresh recorded with a start is part of the start,
 * as in libvirt (which sends REFRESH only for `pool-refresh`).
 *
 * @example
 * ```ts ignore
 * for (const event of poolEventsOf(applied)) send(event.packet(callbackId));
 * ```
 */
export function poolEventsOf(applied: AppliedStorageFact[]): PoolEvent[] {
  const events: PoolEvent[] = [];
  applied.forEach((entry, index) => {
    const pool = { name: entry.name, uuid: uuidBytes(entry.uuid) };
    const lifecycle = LIFECYCLE_OF[entry.fact.type];
    if (lifecycle !== undefined) {
      events.push({
        eventId: POOL_EVENT_LIFECYCLE,
        uuid: entry.uuid,
        packet: (callbackId) =>
          eventPacket(PROC_LIFECYCLE, lifecycleMessage, {
            callbackID: callbackId,
            pool,
            event: lifecycle,
            detail: 0,
          }),
      });
    }
    const afterStart = index > 0 && applied[index - 1].fact.type === "pool.started";
    if (entry.fact.type === "pool.refreshed" && !afterStart) {
      events.push({
        eventId: POOL_EVENT_REFRESH,
        uuid: entry.uuid,
        packet: (callbackId) =>
          eventPacket(PROC_REFRESH, refreshMessage, { callbackID: callbackId, pool }),
      });
    }
  });
  return events;
}

/** The registration procedures. */
export const POOL_EVENT_PROCEDURES: ProcedureTable = {
  virConnectStoragePoolEventRegisterAny: {
    proc: 368,
    readOnly: true,
    args: x.struct(["eventID", x.int], ["pool", x.optional(poolType)]),
    ret: x.struct(["callbackID", x.int]),
    handler: (
      args: { eventID: number; pool: { name: string; uuid: Uint8Array } | null },
      context,
    ) => {
      const storage = context.target().storage;
      const uuid = args.pool === null || storage === undefined
        ? null
        : storage.byName(args.pool.name).uuid;
      return { callbackID: context.registerObjectEvent("pool", args.eventID, uuid) };
    },
  },
  virConnectStoragePoolEventDeregisterAny: {
    proc: 369,
    readOnly: true,
    args: x.struct(["callbackID", x.int]),
    ret: x.void,
    handler: (args: { callbackID: number }, context) => {
      context.target();
      context.deregisterObjectEvent("pool", args.callbackID);
    },
  },
};
