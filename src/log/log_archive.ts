/**
 * Backup and restore of the event log: `evirt log export FILE` and `evirt log import FILE`.
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

import { createHash } from "node:crypto";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreCorruptError } from "./errors.ts";
import { FACT_BODY_MAX_BYTES, SNAPSHOT_STATE_MAX_BYTES } from "./event_store.ts";
import { checksumText, factChecksum, snapshotChecksum } from "./fact_checksum.ts";
import type { StoredFact, StoredSnapshot } from "./fact_storage.ts";
import { openForReading } from "./log_check.ts";
import { checkLogIntegrity } from "./log_integrity.ts";
import { LOG_MARKER_FILE, LogMarkerWriter } from "./log_marker.ts";
import { DATABASE_FILE, SqliteStorage } from "./sqlite_store.ts";
import { acquireStateLock } from "./state_lock.ts";
import { readLines } from "./line_reader.ts";

/** The `kind` of an export's header line. */
export const EXPORT_KIND = "evirt-log-export";

/** The export format version this code writes and reads. */
export const EXPORT_VERSION = 1;

/**
 * Longest line accepted on import, in bytes: a snapshot state at its limit, with every character
 * escaped once inside the line's JSON string, plus room for the other fields.
 */
export const EXPORT_LINE_MAX_BYTES = 2 * SNAPSHOT_STATE_MAX_BYTES + 64 * 1024;

/** Facts read per page while exporting. */
const EXPORT_PAGE_FACTS = 1000;

/** What an export or import did. */
export interface ArchiveSummary {
  logId: string;
  oldestPosition: number;
  headPosition: number;
  facts: number;
  streams: number;
  snapshots: number;
}

/** Options of {@linkcode importLog}. */
export interface ImportOptions {
  /** Fact types the log may hold (as the service opens it); default: any. */
  factTypes?: readonly string[];
}

/**
 * Writes the log of `stateDir` to `file` (mode 0600, as it holds definitions), verifying every
 * fact's checksum on the way. Works while the service runs: it reads one consistent state.
 *
 * @param stateDir The state directory.
 * @param file The export file to create; an existing file is refused, never overwritten.
 * @returns What was written.
 * @throws {ChecksumMismatchError} When a fact or snapshot fails its checksum (nothing is left).
 * @throws {VirtError} When the log cannot be read or the file cannot be written.
 *
 * @example
 * ```ts ignore
 * const summary = await exportLog("/var/lib/evirt", "/backup/evirt-log.jsonl");
 * console.log(summary.facts);
 * ```
 */
export async function exportLog(stateDir: string, file: string): Promise<ArchiveSummary> {
  const storage = openForReading(stateDir);
  const partial = `${file}.partial`;
  let output: Deno.FsFile | undefined;
  try {
    output = await createFile(partial);
    const writer = new HashingWriter(output);
    const summary = await storage.readTransaction(() => writeExport(storage, writer));
    await writer.flush();
    await output.sync();
    output.close();
    output = undefined;
    await renameNew(partial, file);
    return summary;
  } catch (error) {
    output?.close();
    await Deno.remove(partial).catch(() => {});
    throw error;
  } finally {
    storage.close();
  }
}

async function writeExport(storage: SqliteStorage, writer: HashingWriter): Promise<ArchiveSummary> {
  const head = storage.head();
  const logId = storage.schema.logId ?? "format-1";
  await writer.line({
    kind: EXPORT_KIND,
    version: EXPORT_VERSION,
    logId,
    oldestPosition: head.oldestPosition,
    headPosition: head.headPosition,
    exportedAtMs: Date.now(),
  });
  let facts = 0;
  let after = head.oldestPosition - 1;
  while (after < head.headPosition) {
    const rows = storage.readAll(after, EXPORT_PAGE_FACTS, FACT_BODY_MAX_BYTES);
    if (rows.length === 0) break;
    for (const row of rows) {
      verifyFact(row);
      await writer.line({ kind: "fact", ...row });
      after = row.position;
      facts++;
    }
  }
  const streams = storage.listStreams();
  for (const [name, version] of streams) await writer.line({ kind: "stream", name, version });
  const snapshots = storage.listSnapshots();
  for (const snapshot of snapshots) {
    verifySnapshot(snapshot);
    await writer.line({ kind: "snapshot", ...snapshot });
  }
  const sha256 = writer.digest();
  await writer.line({
    kind: "end",
    facts,
    streams: streams.length,
    snapshots: snapshots.length,
    sha256,
  });
  return {
    logId,
    oldestPosition: head.oldestPosition,
    headPosition: head.headPosition,
    facts,
    streams: streams.length,
    snapshots: snapshots.length,
  };
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
      const marker = LogMarkerWriter.open(`${base}/${LOG_MARKER_FILE}`, storage.schema.logId!);
      marker.write(summary!.headPosition, true);
      marker.close();
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

function verifyFact(row: StoredFact): void {
  const computed = factChecksum(row);
  if (computed !== row.checksum) {
    throw new EventStoreCorruptError(
      `fact ${row.position} fails its checksum (stored ${checksumText(row.checksum)}, computed ${
        checksumText(computed)
      }): run \`evirt log check\``,
    );
  }
}

function verifySnapshot(snapshot: StoredSnapshot): void {
  if (snapshotChecksum(snapshot) !== snapshot.checksum) {
    throw new EventStoreCorruptError(
      `snapshot at position ${snapshot.position} fails its checksum: run \`evirt log check\``,
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

async function createFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot create '${path}': ${(error as Error).message}`,
      { cause: error },
    );
  }
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

/** Renames `from` to `to` unless `to` exists: an export never overwrites a file. */
async function renameNew(from: string, to: string): Promise<void> {
  // link() fails when the target exists, where rename() would replace it.
  try {
    await Deno.link(from, to);
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot create '${to}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  await Deno.remove(from);
}

/** Buffered line writer that also hashes what it wrote. */
class HashingWriter {
  readonly #file: Deno.FsFile;
  readonly #hash = createHash("sha256");
  readonly #encoder = new TextEncoder();
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #sha256: string | undefined;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async line(value: unknown): Promise<void> {
    const bytes = this.#encoder.encode(`${JSON.stringify(value)}\n`);
    if (this.#sha256 === undefined) this.#hash.update(bytes);
    this.#chunks.push(bytes);
    this.#bufferedBytes += bytes.length;
    if (this.#bufferedBytes >= 1024 * 1024) await this.flush();
  }

  /** The SHA-256 of everything written so far; later lines (the trailer) are not hashed. */
  digest(): string {
    this.#sha256 ??= this.#hash.digest("hex");
    return this.#sha256;
  }

  async flush(): Promise<void> {
    for (const chunk of this.#chunks) {
      let written = 0;
      while (written < chunk.length) written += await this.#file.write(chunk.subarray(written));
    }
    this.#chunks = [];
    this.#bufferedBytes = 0;
  }
}
