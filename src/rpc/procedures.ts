/**
 * The dispatch table of libvirt's remote program: every procedure evirt answers, keyed by its
 * libvirt API name (the operations table's key), and the index by procedure number the
 * connection dispatches with. A procedure not in the table answers libvirt's code 3.
 *
 * @module
 */

import { CONNECT_PROCEDURES } from "./connect_procedures.ts";
import { DEVICE_PROCEDURES } from "./device_procedures.ts";
import { DOMAIN_PROCEDURES } from "./domain_procedures.ts";
import { DOMAIN_QUERY_PROCEDURES } from "./domain_query_procedures.ts";
import { MIGRATION_LIMIT_PROCEDURES } from "./migration_limit_procedures.ts";
import { MIGRATION_PROCEDURES } from "./migration_procedures.ts";
import { EVENT_PROCEDURES } from "./event_procedures.ts";
import { HOST_PROCEDURES } from "./host_procedures.ts";
import { GUEST_PROCEDURES } from "./guest_procedures.ts";
import { RESOURCE_PROCEDURES } from "./resource_procedures.ts";
import { BLOCK_JOB_PROCEDURES } from "./block_job_procedures.ts";
import { LIFECYCLE_PROCEDURES } from "./lifecycle_procedures.ts";
import { METADATA_PROCEDURES } from "./metadata_procedures.ts";
import type { Procedure, ProcedureTable } from "./procedure.ts";
import { STATS_PROCEDURES } from "./stats_procedures.ts";
import { TUNING_PROCEDURES } from "./tuning_procedures.ts";
import { PERF_PROCEDURES } from "./perf_procedures.ts";
import { INTERFACE_TUNE_PROCEDURES } from "./interface_tune_procedures.ts";
import { STORAGE_PROCEDURES } from "./storage_procedures.ts";
import { VOLUME_TRANSFER_PROCEDURES } from "./volume_transfer_procedures.ts";
import { POOL_EVENT_PROCEDURES } from "./storage_events.ts";
import { SAVE_PROCEDURES } from "./save_procedures.ts";
import { SNAPSHOT_PROCEDURES } from "./snapshot_procedures.ts";
import { NETWORK_PROCEDURES } from "./network_procedures.ts";
import { NETWORK_PORT_PROCEDURES } from "./network_port_procedures.ts";
import { NETWORK_EVENT_PROCEDURES } from "./network_events.ts";
import { NATIVE_PROCEDURES } from "./native_procedures.ts";
import { SECRET_PROCEDURES } from "./secret_procedures.ts";
import { SECRET_EVENT_PROCEDURES } from "./secret_events.ts";

/**
 * Every procedure, by libvirt API name.
 *
 * @example
 * ```ts
 * import { RPC_PROCEDURES } from "./procedures.ts";
 * console.log(RPC_PROCEDURES.virDomainDestroy.proc, RPC_PROCEDURES.virDomainDestroy.readOnly); // 12 false
 * ```
 */
export const RPC_PROCEDURES: ProcedureTable = {
  ...CONNECT_PROCEDURES,
  ...HOST_PROCEDURES,
  ...DOMAIN_PROCEDURES,
  ...DOMAIN_QUERY_PROCEDURES,
  ...MIGRATION_LIMIT_PROCEDURES,
  ...MIGRATION_PROCEDURES,
  ...TUNING_PROCEDURES,
  ...PERF_PROCEDURES,
  ...INTERFACE_TUNE_PROCEDURES,
  ...BLOCK_JOB_PROCEDURES,
  ...METADATA_PROCEDURES,
  ...DEVICE_PROCEDURES,
  ...LIFECYCLE_PROCEDURES,
  ...SNAPSHOT_PROCEDURES,
  ...STATS_PROCEDURES,
  ...EVENT_PROCEDURES,
  ...STORAGE_PROCEDURES,
  ...VOLUME_TRANSFER_PROCEDURES,
  ...POOL_EVENT_PROCEDURES,
  ...NETWORK_PROCEDURES,
  ...NETWORK_PORT_PROCEDURES,
  ...NETWORK_EVENT_PROCEDURES,
  ...GUEST_PROCEDURES,
  ...RESOURCE_PROCEDURES,
  ...SAVE_PROCEDURES,
  ...NATIVE_PROCEDURES,
  ...SECRET_PROCEDURES,
  ...SECRET_EVENT_PROCEDURES,
};

/**
 * The table indexed by procedure number.
 *
 * @throws {TypeError} When two rows share a procedure number (a table error).
 */
export function procedureIndex(
  table: ProcedureTable = RPC_PROCEDURES,
): Map<number, { api: string; procedure: Procedure }> {
  const index = new Map<number, { api: string; procedure: Procedure }>();
  for (const [api, procedure] of Object.entries(table)) {
    const other = index.get(procedure.proc);
    if (other !== undefined) {
      throw new TypeError(`Procedure ${procedure.proc} is both ${other.api} and ${api}`);
    }
    index.set(procedure.proc, { api, procedure });
  }
  return index;
}
