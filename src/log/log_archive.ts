/**
 * The backup format of the event log, written by `evirt log export FILE` (`log_export.ts`) and
 * read by `evirt log import FILE` (`log_import.ts`).
 *
 * The export format, version 1, is JSON lines (UTF-8, one JSON object per line, `\n` after each):
 *
 * 1. a header `{"kind":"evirt-log-export","version":1,"logId","oldestPosition","headPosition",
 *    "exportedAtMs"}`;
 * 2. every retained fact in position order, `{"kind":"fact","position","stream","version","type",
 *    "schemaVersion","timestampMs","bodyJson","checksum"}`, where `bodyJson` is the body's exact
 *    JSON text as a string and `checksum` its CRC-32 as stored in the log (see `fact_checksum.ts`);
 * 3. every stream, `{"kind":"stream","name","version"}`;
 * 4. every kept snapshot, `{"kind":"snapshot","position","timestampMs","stateJson","checksum"}`;
 * 5. a trailer `{"kind":"end","facts","streams","snapshots","sha256"}`, where `sha256` is the
 *    SHA-256 (hex) of every byte before the trailer line, so a truncated or edited file is refused.
 *
 * Import restores into an empty log only, holding the state directory's lock (so never under a
 * running service), inside one transaction that commits only after every line, every checksum, the
 * trailer and the whole-log integrity check passed; then it writes a new marker.
 *
 * @module
 */

import { SNAPSHOT_STATE_MAX_BYTES } from "./event_store.ts";

/** The `kind` of an export's header line. */
export const EXPORT_KIND = "evirt-log-export";

/** The export format version this code writes and reads. */
export const EXPORT_VERSION = 1;

/**
 * Longest line accepted on import, in bytes: a snapshot state at its limit, with every character
 * escaped once inside the line's JSON string, plus room for the other fields.
 */
export const EXPORT_LINE_MAX_BYTES = 2 * SNAPSHOT_STATE_MAX_BYTES + 64 * 1024;

/** What an export or import did. */
export interface ArchiveSummary {
  logId: string;
  oldestPosition: number;
  headPosition: number;
  facts: number;
  streams: number;
  snapshots: number;
}
