/**
 * What start-up checks before the service may use its event log, so a damaged, truncated or
 * replaced log is refused with its reason and recovery steps instead of being started from:
 *
 * - the log against the marker beside it (`events.mark`, see `log_marker.ts`): a missing or empty
 *   log file, a log shorter than the marker's head, or another log than the marker's id;
 * - with no marker (a fresh state directory), a missing or empty log while runtime records of
 *   domains exist;
 * - the whole log (see `log_integrity.ts`): checksums, gapless positions, stream versions against
 *   the streams table, fact types, snapshots.
 *
 * A refusal changes nothing: the log file is not created, upgraded or written.
 *
 * @module
 */

import { EventLogRefusedError } from "./errors.ts";
import type { EventStoreOptions } from "./event_store.ts";
import { checkLogIntegrity, type IntegrityProblem } from "./log_integrity.ts";
import { LOG_MARKER_FILE, type LogMarker, LogMarkerWriter, readLogMarker } from "./log_marker.ts";
import { SqliteStorage } from "./sqlite_store.ts";
import { Upcasting } from "./upcasting.ts";

/** Runtime records named in a refusal; the rest are counted. */
const RECORDS_NAMED_MAX = 3;

/** Options of {@linkcode openCheckedStorage}. */
export interface OpenCheckOptions extends EventStoreOptions {
  /** Paths that show domains ran from this state directory. */
  runtimeRecords?: readonly string[];
}

/**
 * Opens the log file for writing after every start-up check passed, with the marker attached.
 *
 * @param stateDir The state directory (its lock is already held).
 * @param databasePath The log file in it.
 * @param options Fact types, upcasters and runtime records.
 * @returns The storage, ready for a {@linkcode LogStore}.
 * @throws {EventLogRefusedError} When a check fails.
 *
 * @example
 * ```ts ignore
 * const storage = openCheckedStorage(dir, `${dir}/events.sqlite`, { runtimeRecords: [] });
 * ```
 */
export function openCheckedStorage(
  stateDir: string,
  databasePath: string,
  options: OpenCheckOptions,
): SqliteStorage {
  const markerPath = `${stateDir.replace(/\/+$/, "")}/${LOG_MARKER_FILE}`;
  const reading = readLogMarker(markerPath);
  if (reading.kind === "damaged") {
    throw new EventLogRefusedError(
      `the log marker '${markerPath}' is damaged (${reading.detail}), so a truncated or ` +
        "replaced log cannot be told from the right one",
      [
        "run `evirt log check` to verify the log itself",
        `if it reports no problem, move '${markerPath}' aside and start again (a new marker is written)`,
      ],
    );
  }
  const marker = reading.kind === "present" ? reading.marker : undefined;
  if (isEmptyFile(databasePath)) refuseMissingLog(databasePath, marker, options.runtimeRecords);
  const storage = new SqliteStorage(databasePath);
  try {
    checkAgainstMarker(storage, databasePath, markerPath, marker);
    checkWhole(storage, databasePath, options);
    const writer = LogMarkerWriter.open(markerPath, storage.schema.logId!);
    storage.attachMarker(writer);
    writer.write(storage.head().headPosition, true);
    return storage;
  } catch (error) {
    storage.close();
    throw error;
  }
}

/** The recovery steps for a log that is not the one this state directory used. */
function replacedLogSteps(databasePath: string, markerPath: string): string[] {
  return [
    `if '${databasePath}' was replaced or truncated by mistake, put the right file back`,
    `restore a backup: move '${databasePath}' aside, then run \`evirt log import FILE\``,
    `to knowingly start over from this file, move '${markerPath}' aside (domains the lost facts ` +
    "defined are then unknown to evirt; stop their QEMU processes first)",
  ];
}

function isEmptyFile(path: string): boolean {
  try {
    return Deno.statSync(path).size === 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

function refuseMissingLog(
  databasePath: string,
  marker: LogMarker | undefined,
  runtimeRecords: readonly string[] = [],
): void {
  const what = exists(databasePath) ? "is empty (0 bytes)" : "is missing";
  const markerPath = databasePath.replace(/[^/]*$/, LOG_MARKER_FILE);
  if (marker !== undefined && marker.headPosition > 0) {
    throw new EventLogRefusedError(
      `the event log '${databasePath}' ${what}, but this state directory's log reached ` +
        `position ${marker.headPosition} (log ${marker.logId}): every definition would be lost`,
      replacedLogSteps(databasePath, markerPath),
    );
  }
  if (runtimeRecords.length > 0) {
    const named = runtimeRecords.slice(0, RECORDS_NAMED_MAX).map((path) => `'${path}'`);
    const more = runtimeRecords.length > RECORDS_NAMED_MAX
      ? ` and ${runtimeRecords.length - RECORDS_NAMED_MAX} more`
      : "";
    throw new EventLogRefusedError(
      `the event log '${databasePath}' ${what}, but runtime records of domains exist ` +
        `(${named.join(", ")}${more}): their guests would run unmanaged`,
      [
        `restore the log: put the right '${databasePath}' back, or run \`evirt log import FILE\``,
        "to knowingly start without those domains, stop their QEMU processes and remove the " +
        "runtime records named above",
      ],
    );
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function checkAgainstMarker(
  storage: SqliteStorage,
  databasePath: string,
  markerPath: string,
  marker: LogMarker | undefined,
): void {
  if (marker === undefined) return;
  const { logId } = storage.schema;
  const headPosition = storage.head().headPosition;
  // A marker of a log that never held a fact guards nothing: a new log may take its place.
  if (marker.headPosition === 0 && headPosition === 0) return;
  if (storage.schema.formatFound === 0 || logId !== marker.logId) {
    throw new EventLogRefusedError(
      `the event log '${databasePath}' is ${
        storage.schema.formatFound === 0 ? "a new, empty log" : `log ${logId}`
      }, but this state directory used log ${marker.logId} up to position ${marker.headPosition}: ` +
        "the file was replaced",
      replacedLogSteps(databasePath, markerPath),
    );
  }
  if (headPosition < marker.headPosition) {
    throw new EventLogRefusedError(
      `the event log '${databasePath}' ends at position ${headPosition}, but it reached position ` +
        `${marker.headPosition} before: facts ${
          headPosition + 1
        } to ${marker.headPosition} are missing`,
      replacedLogSteps(databasePath, markerPath),
    );
  }
}

function checkWhole(storage: SqliteStorage, databasePath: string, options: OpenCheckOptions): void {
  const upcasting = new Upcasting(options.upcasters);
  const known = options.factTypes === undefined ? undefined : new Set(options.factTypes);
  checkLogIntegrity(storage, {
    ...(known === undefined
      ? {}
      : { isKnownType: (type: string) => known.has(type) || upcasting.handles(type) }),
    onProblem: (problem: IntegrityProblem) => {
      throw new EventLogRefusedError(
        `the event log '${databasePath}' is damaged: ${problem.message}`,
        problem.kind === "type"
          ? [
            "run the evirt version that wrote this log, or one that knows (or upcasts) this type",
            "run `evirt log check` to list every problem",
          ]
          : [
            "run `evirt log check` to list every problem",
            `restore a backup: move '${databasePath}' aside, then run \`evirt log import FILE\``,
          ],
      );
    },
  });
}
