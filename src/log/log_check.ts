/**
 * `evirt log check`: the whole-log integrity check of `log_integrity.ts` plus the marker beside
 * the log, on a state directory, without a service and without its lock (it reads one consistent
 * state of a live log).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreCorruptError } from "./errors.ts";
import type { IntegrityProblem, IntegrityReport } from "./log_integrity.ts";
import { checkLogIntegrity, INTEGRITY_PROBLEMS_MAX } from "./log_integrity.ts";
import { LOG_MARKER_FILE, readLogMarker } from "./log_marker.ts";
import { DATABASE_FILE, SqliteStorage } from "./sqlite_store.ts";

/** What `evirt log check` reports. */
export interface LogCheckReport extends IntegrityReport {
  /** The log file checked. */
  databasePath: string;
  /** The log's id (undefined for a format-1 log, which has none yet). */
  logId: string | undefined;
  /** The on-disk format. */
  format: number;
  /** The marker: its head and log id, or why it is absent or damaged. */
  marker: { kind: "absent" } | { kind: "damaged"; detail: string } | {
    kind: "present";
    logId: string;
    headPosition: number;
  };
}

/** Options of {@linkcode checkLog}. */
export interface LogCheckOptions {
  /** The fact types the log may hold; default: any. */
  factTypes?: readonly string[];
  /** Types that upcasters handle, also accepted. */
  upcastTypes?: readonly string[];
}

/**
 * Checks the log of `stateDir`: every fact (checksum, position, stream version, type, JSON), the
 * streams table, the snapshots, and the log against its marker.
 *
 * @param stateDir The state directory.
 * @param options Known fact types.
 * @returns The report; `problems` is empty when all is well.
 * @throws {VirtError} When there is no log file, or it is not an evirt log.
 *
 * @example
 * ```ts ignore
 * const report = await checkLog("/var/lib/evirt");
 * console.log(report.problems.length === 0 ? "ok" : report.problems[0].message);
 * ```
 */
export async function checkLog(
  stateDir: string,
  options: LogCheckOptions = {},
): Promise<LogCheckReport> {
  const base = stateDir.replace(/\/+$/, "");
  const databasePath = `${base}/${DATABASE_FILE}`;
  // The marker first: it is written after each commit, so it never runs ahead of what is read next.
  const reading = readLogMarker(`${base}/${LOG_MARKER_FILE}`);
  const marker: LogCheckReport["marker"] = reading.kind === "present"
    ? { kind: "present", ...reading.marker }
    : reading;
  const storage = openForReading(stateDir);
  try {
    const known = options.factTypes === undefined
      ? undefined
      : new Set([...options.factTypes, ...(options.upcastTypes ?? [])]);
    const integrity = await storage.readTransaction(() =>
      checkLogIntegrity(storage, {
        parseJson: true,
        ...(known === undefined ? {} : { isKnownType: (type: string) => known.has(type) }),
      })
    );
    const report: LogCheckReport = {
      databasePath,
      logId: storage.schema.logId,
      format: storage.schema.format,
      marker,
      ...integrity,
    };
    for (const problem of markerProblems(report)) {
      if (report.problems.length < INTEGRITY_PROBLEMS_MAX) report.problems.push(problem);
      else report.problemsOmitted++;
    }
    return report;
  } finally {
    storage.close();
  }
}

function markerProblems(report: LogCheckReport): IntegrityProblem[] {
  const { marker } = report;
  if (marker.kind === "damaged") {
    return [{ kind: "marker", message: `the log marker is damaged (${marker.detail})` }];
  }
  if (marker.kind === "absent") return [];
  if (report.logId !== undefined && marker.logId !== report.logId) {
    return [{
      kind: "marker",
      message: `the log is ${report.logId}, but the marker names log ${marker.logId}: ` +
        "the file was replaced",
    }];
  }
  if (report.headPosition < marker.headPosition) {
    return [{
      kind: "marker",
      message: `the log ends at position ${report.headPosition}, but the marker says it reached ` +
        `${marker.headPosition}: facts ${
          report.headPosition + 1
        } to ${marker.headPosition} are missing`,
    }];
  }
  return [];
}

/**
 * Opens the log of `stateDir` read-only, without its lock, for the offline tools.
 *
 * @throws {VirtError} With code OPERATION_INVALID when there is no log file.
 * @throws {EventStoreCorruptError} When the file is empty or not an evirt log.
 *
 * @example
 * ```ts ignore
 * const storage = openForReading("/var/lib/evirt");
 * storage.close();
 * ```
 */
export function openForReading(stateDir: string): SqliteStorage {
  const path = `${stateDir.replace(/\/+$/, "")}/${DATABASE_FILE}`;
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `there is no event log at '${path}'`, {
        where: "EVIRT_STATE_DIR",
      });
    }
    throw error;
  }
  if (size === 0) throw new EventStoreCorruptError(`'${path}' is empty (0 bytes): it holds no log`);
  return new SqliteStorage(path, true);
}
