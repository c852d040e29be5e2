/**
 * `evirt log import FILE`: restores an export (format of `log_archive.ts`) into the empty log of
 * a state directory, holding its lock, in one transaction that commits only after every line,
 * every checksum, the trailer and the whole-log integrity check passed; then writes a new marker.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreCorruptError } from "./errors.ts";
import { checksumText, factChecksum, snapshotChecksum } from "./fact_checksum.ts";
import type { StoredFact, StoredSnapshot } from "./fact_storage.ts";
import { readLines } from "./line_reader.ts";
import {
  type ArchiveSummary,
  EXPORT_KIND,
  EXPORT_LINE_MAX_BYTES,
  EXPORT_VERSION,
} from "./log_archive.ts";
import { checkLogIntegrity } from "./log_integrity.ts";
import { LOG_MARKER_FILE, LogMarkerWriter } from "./log_marker.ts";
import { DATABASE_FILE, SqliteStorage } from "./sqlite_store.ts";
import { acquireStateLock } from "./state_lock.ts";

/** Options of {@linkcode importLog}. */
export interface ImportOptions {
  /** Fact types the log may hold (as the service opens it); default: any. */
  factTypes?: readonly string[];
}

/**
 * Restores an export into the empty log of `stateDir`. Everything is verified before the one
 * transaction commits; on any problem nothing is written and the error names the line.
 *
 * @param stateDir The state directory; its lock is taken (a running service refuses this).
 * @param file The export file.
 * @param options The fact types the log may hold.
 * @returns What was restored.
 * @throws {StateLockedError} When a service uses the state directory.
 * @throws {VirtError} With code OPERATION_INVALID when the log is not empty.
 * @throws {EventStoreCorruptError} When the file is not a valid, complete export.
 *
 * @example
 * ```ts ignore
 * await importLog("/var/lib/evirt", "/backup/evirt-log.jsonl");
 * ```
 */
export async function importLog(
  stateDir: string,
  file: string,
  options: ImportOptions = {},
): Promise<ArchiveSummary> {
  const lock = acquireStateLock(stateDir);
  try {
    const base = stateDir.replace(/\/+$/, "");
    const path = `${base}/${DATABASE_FILE}`;
    const before = fileSize(path);
    const storage = new SqliteStorage(path);
    let imported = false;
    try {
      refuseNonEmpty(storage, path);
      const input = await openInput(file);
      let summary: ArchiveSummary | undefined;
      try {
        await storage.importTransaction(async (sink) => {
          summary = await readExport(input, file, sink);
          verifyImported(storage, summary, file, options);
          // Intent before action: the marker names the restored head before the commit, so a
          // crash between the two leaves a log the next start refuses as behind (and a second
          // import completes), never an empty log that a stale marker would let start.
          const marker = LogMarkerWriter.open(`${base}/${LOG_MARKER_FILE}`, storage.schema.logId!);
          try {
            marker.write(summary.headPosition, true);
          } finally {
            marker.close();
          }
        });
      } finally {
        // Reading `readable` to its end closes the file already.
        try {
          input.close();
        } catch {
          // Already closed.
        }
      }
      imported = true;
      return summary!;
    } finally {
      storage.close();
      // A failed import leaves the log file as it found it: missing, or empty.
      if (!imported && before !== undefined && before <= 0 && storage.schema.formatFound === 0) {
        await restoreEmpty(path, before);
      }
    }
  } finally {
    lock.release();
  }
}

type ImportSink = Parameters<Parameters<SqliteStorage["importTransaction"]>[0]>[0];

/** Reads and checks every line, feeding the rows to `sink`. */
async function readExport(
  input: Deno.FsFile,
  file: string,
  sink: ImportSink,
): Promise<ArchiveSummary> {
  const hash = createHash("sha256");
  let header: Record<string, unknown> | undefined;
  let summary: ArchiveSummary | undefined;
  let ended = false;
  let stage = 0; // 0 facts, 1 streams, 2 snapshots: the order the export writes them in.
  let expected = 0;
  const counts = { facts: 0, streams: 0, snapshots: 0 };
  for await (const { text, number } of readLines(input.readable, EXPORT_LINE_MAX_BYTES)) {
    const where = `${file}:${number}`;
    if (ended) throw bad(where, "text after the end line");
    const record = parseLine(text, where);
    if (header === undefined) {
      header = checkHeader(record, where);
      expected = header.oldestPosition as number;
      summary = {
        logId: header.logId as string,
        oldestPosition: expected,
        headPosition: header.headPosition as number,
        facts: 0,
        streams: 0,
        snapshots: 0,
      };
      sink.oldest(expected);
    } else if (record.kind === "fact" && stage === 0) {
      const fact = checkFact(record, where);
      if (fact.position !== expected) {
        throw bad(where, `fact ${fact.position} where fact ${expected} belongs`);
      }
      expected++;
      counts.facts++;
      sink.fact(fact);
    } else if (record.kind === "stream" && stage <= 1) {
      stage = 1;
      if (typeof record.name !== "string" || !Number.isSafeInteger(record.version)) {
        throw bad(where, "a stream line needs a name and a version");
      }
      counts.streams++;
      sink.stream(record.name, record.version as number);
    } else if (record.kind === "snapshot" && stage <= 2) {
      stage = 2;
      counts.snapshots++;
      sink.snapshot(checkSnapshot(record, where));
    } else if (record.kind === "end") {
      checkEnd(record, counts, hash.digest("hex"), where);
      ended = true;
      continue;
    } else {
      throw bad(where, `unexpected line of kind '${String(record.kind)}'`);
    }
    hash.update(`${text}\n`);
  }
  if (summary === undefined) throw bad(file, "the file is empty");
  if (!ended) throw bad(file, "the end line is missing: the file is truncated");
  if (expected - 1 !== summary.headPosition) {
    throw bad(file, `the facts end at ${expected - 1}, the header says ${summary.headPosition}`);
  }
  return { ...summary, ...counts };
}

function checkHeader(record: Record<string, unknown>, where: string): Record<string, unknown> {
  if (record.kind !== EXPORT_KIND) throw bad(where, "not an evirt log export (no header)");
  if (record.version !== EXPORT_VERSION) {
    throw bad(
      where,
      `export version ${record.version}; this evirt reads version ${EXPORT_VERSION}`,
    );
  }
  const oldest = record.oldestPosition;
  const head = record.headPosition;
  if (
    typeof record.logId !== "string" || !Number.isSafeInteger(oldest) ||
    !Number.isSafeInteger(head) || (oldest as number) < 1 ||
    (head as number) < (oldest as number) - 1
  ) {
    throw bad(where, "the header's log id or positions are invalid");
  }
  return record;
}

function checkFact(record: Record<string, unknown>, where: string): StoredFact {
  const { position, stream, version, type, schemaVersion, timestampMs, bodyJson, checksum } =
    record;
  if (
    !Number.isSafeInteger(position) || typeof stream !== "string" ||
    !Number.isSafeInteger(version) || typeof type !== "string" ||
    !Number.isSafeInteger(schemaVersion) || !Number.isSafeInteger(timestampMs) ||
    typeof bodyJson !== "string" || !Number.isSafeInteger(checksum)
  ) {
    throw bad(where, "a fact line lacks a field or has one of the wrong type");
  }
  const fact = {
    position,
    stream,
    version,
    type,
    schemaVersion,
    timestampMs,
    bodyJson,
    checksum,
  } as StoredFact;
  const computed = factChecksum(fact);
  if (computed !== fact.checksum) {
    throw bad(
      where,
      `fact ${fact.position} fails its checksum (stored ${checksumText(fact.checksum)}, computed ${
        checksumText(computed)
      })`,
    );
  }
  return fact;
}

function checkSnapshot(record: Record<string, unknown>, where: string): StoredSnapshot {
  const { position, timestampMs, stateJson, checksum } = record;
  if (
    !Number.isSafeInteger(position) || !Number.isSafeInteger(timestampMs) ||
    typeof stateJson !== "string" || !Number.isSafeInteger(checksum)
  ) {
    throw bad(where, "a snapshot line lacks a field or has one of the wrong type");
  }
  const snapshot = { position, timestampMs, stateJson, checksum } as StoredSnapshot;
  if (snapshotChecksum(snapshot) !== snapshot.checksum) {
    throw bad(where, `the snapshot at position ${snapshot.position} fails its checksum`);
  }
  return snapshot;
}

function checkEnd(
  record: Record<string, unknown>,
  counts: { facts: number; streams: number; snapshots: number },
  sha256: string,
  where: string,
): void {
  if (record.sha256 !== sha256) {
    throw bad(where, "the file's SHA-256 does not match its end line: it was changed or cut");
  }
  for (const key of ["facts", "streams", "snapshots"] as const) {
    if (record[key] !== counts[key]) {
      throw bad(where, `the end line counts ${record[key]} ${key}, the file holds ${counts[key]}`);
    }
  }
}

/** Runs the start-up integrity check on the imported rows, inside the uncommitted transaction. */
function verifyImported(
  storage: SqliteStorage,
  summary: ArchiveSummary,
  file: string,
  options: ImportOptions,
): void {
  const head = storage.head();
  if (
    head.headPosition !== summary.headPosition || head.oldestPosition !== summary.oldestPosition
  ) {
    throw bad(file, "the imported positions do not match the header");
  }
  const known = options.factTypes === undefined ? undefined : new Set(options.factTypes);
  const report = checkLogIntegrity(storage, {
    parseJson: true,
    ...(known === undefined ? {} : { isKnownType: (type: string) => known.has(type) }),
  });
  if (report.problems.length > 0) {
    throw bad(file, `the exported log is not consistent: ${report.problems[0].message}`);
  }
}

/** The file's size, -1 when missing; undefined when it cannot be known. */
function fileSize(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? -1 : undefined;
  }
}

async function restoreEmpty(path: string, size: number): Promise<void> {
  for (const suffix of ["-wal", "-shm"]) await Deno.remove(`${path}${suffix}`).catch(() => {});
  if (size < 0) await Deno.remove(path);
  else await Deno.writeFile(path, new Uint8Array());
}

function refuseNonEmpty(storage: SqliteStorage, path: string): void {
  const head = storage.head();
  if (head.headPosition > 0 || storage.listStreams().length > 0 || storage.listSnapshots().length) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `cannot import into '${path}': it already holds a log (up to position ${head.headPosition}); ` +
        "move it aside first",
      { where: "EVIRT_STATE_DIR" },
    );
  }
}

function parseLine(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(where, "the line is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad(where, "the line is not a JSON object");
  }
  return value as Record<string, unknown>;
}

function bad(where: string, message: string): EventStoreCorruptError {
  const error = new EventStoreCorruptError(`cannot import '${where}': ${message}`);
  return Object.assign(error, { where });
}

async function openInput(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot open '${path}': ${(error as Error).message}`,
      { cause: error },
    );
  }
}
