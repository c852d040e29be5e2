/**
 * `evirt log export FILE`: writes the log of a state directory in the export format of
 * `log_archive.ts`, verifying every checksum on the way.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreCorruptError } from "./errors.ts";
import { FACT_BODY_MAX_BYTES } from "./event_store.ts";
import { checksumText, factChecksum, snapshotChecksum } from "./fact_checksum.ts";
import type { StoredFact, StoredSnapshot } from "./fact_storage.ts";
import { type ArchiveSummary, EXPORT_KIND, EXPORT_VERSION } from "./log_archive.ts";
import { openForReading } from "./log_check.ts";
import type { SqliteStorage } from "./sqlite_store.ts";

/** Facts read per page while exporting. */
const EXPORT_PAGE_FACTS = 1000;

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
