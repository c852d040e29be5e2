/**
 * The log marker: a small file beside the event log (`events.mark` in the state directory) that
 * remembers which log this state directory uses (its id) and how far it reached (its head). A log
 * that is empty, shorter, or another log than the marker says was truncated or replaced, which
 * SQLite alone cannot tell from a fresh log.
 *
 * The marker is written after each commit, without an fsync: the commit itself was synced first,
 * so the marker never claims more than the log holds, and a marker older than the log (after a
 * power loss) only weakens the check, never refuses a good log. It has two fixed-size slots written
 * in turn, each with its own checksum, so a torn write leaves the other slot readable.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { ErrorCode, VirtError } from "../model/errors.ts";

/** The marker file's name inside the state directory. */
export const LOG_MARKER_FILE = "events.mark";

/** Size of one slot, in bytes; the file is two slots. */
export const MARKER_SLOT_BYTES = 256;

/** The marker's own format number. */
const MARKER_FORMAT = 1;

/** What a marker says. */
export interface LogMarker {
  /** The id of the log the state directory uses (stored in the log's `meta` table too). */
  logId: string;
  /** The highest position the log reached. */
  headPosition: number;
}

/** The outcome of reading a marker file. */
export type MarkerReading =
  | { kind: "absent" }
  | { kind: "damaged"; detail: string }
  | { kind: "present"; marker: LogMarker };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Reads the marker file at `path`: the valid slot written last, or why none is valid.
 *
 * @param path The marker file.
 * @returns Absent (no file), damaged (no valid slot), or the marker.
 * @throws {VirtError} With code SYSTEM_ERROR when the file exists but cannot be read.
 *
 * @example
 * ```ts
 * import { readLogMarker } from "./log_marker.ts";
 * console.log(readLogMarker("/nonexistent/events.mark")); // { kind: "absent" }
 * ```
 */
export function readLogMarker(path: string): MarkerReading {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "absent" };
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot read the log marker '${path}': ${(error as Error).message}`,
      { where: "EVIRT_STATE_DIR", cause: error },
    );
  }
  let best: { marker: LogMarker; sequence: number } | undefined;
  for (let slot = 0; slot < 2; slot++) {
    const parsed = parseSlot(
      bytes.subarray(slot * MARKER_SLOT_BYTES, (slot + 1) * MARKER_SLOT_BYTES),
    );
    if (parsed !== undefined && (best === undefined || parsed.sequence > best.sequence)) {
      best = parsed;
    }
  }
  if (best === undefined) {
    return { kind: "damaged", detail: `no valid slot in ${bytes.length} bytes` };
  }
  return { kind: "present", marker: best.marker };
}

/**
 * An open marker file that is rewritten after each commit.
 *
 * @example
 * ```ts
 * import { LogMarkerWriter, readLogMarker } from "./log_marker.ts";
 * const dir = Deno.makeTempDirSync();
 * const writer = LogMarkerWriter.open(`${dir}/events.mark`, "log-1");
 * writer.write(5);
 * writer.close();
 * console.log(readLogMarker(`${dir}/events.mark`)); // { kind: "present", marker: { logId: "log-1", headPosition: 5 } }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class LogMarkerWriter {
  readonly #file: Deno.FsFile;
  readonly #logId: string;
  #sequence = 0;

  private constructor(file: Deno.FsFile, logId: string) {
    this.#file = file;
    this.#logId = logId;
  }

  /**
   * Opens (creating, mode 0600) the marker file for writing.
   *
   * @param path The marker file.
   * @param logId The id of the log it describes.
   * @throws {VirtError} With code SYSTEM_ERROR when it cannot be opened.
   */
  static open(path: string, logId: string): LogMarkerWriter {
    try {
      const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
      return new LogMarkerWriter(file, logId);
    } catch (error) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `cannot open the log marker '${path}': ${(error as Error).message}`,
        { where: "EVIRT_STATE_DIR", cause: error },
      );
    }
  }

  /**
   * Records `headPosition`, synced to disk when `sync` is set (at open and after an import, when
   * the marker starts a new history; after commits the log's own sync comes first).
   *
   * @throws {Error} When the write fails (the caller decides whether that matters).
   */
  write(headPosition: number, sync = false): void {
    this.#sequence++;
    const slot = encodeSlot({ logId: this.#logId, headPosition }, this.#sequence);
    // Both slots on the first write, so an older marker left in the other slot never wins.
    const slots = this.#sequence === 1 ? [0, 1] : [this.#sequence % 2];
    for (const index of slots) {
      this.#file.seekSync(index * MARKER_SLOT_BYTES, Deno.SeekMode.Start);
      writeAll(this.#file, slot);
    }
    if (sync) this.#file.syncSync();
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

function encodeSlot(marker: LogMarker, sequence: number): Uint8Array {
  const json = JSON.stringify({
    format: MARKER_FORMAT,
    logId: marker.logId,
    headPosition: marker.headPosition,
    sequence,
  });
  // JSON, spaces, then the CRC-32 of everything before it as 8 hex digits and a line feed.
  const body = json.padEnd(MARKER_SLOT_BYTES - 10, " ");
  const text = `${body} ${crc32(body).toString(16).padStart(8, "0")}\n`;
  const bytes = encoder.encode(text);
  if (bytes.length !== MARKER_SLOT_BYTES) {
    throw new Error(`Marker slot is ${bytes.length} bytes, expected ${MARKER_SLOT_BYTES}`);
  }
  return bytes;
}

function parseSlot(bytes: Uint8Array): { marker: LogMarker; sequence: number } | undefined {
  if (bytes.length !== MARKER_SLOT_BYTES) return undefined;
  const text = decoder.decode(bytes);
  const body = text.slice(0, MARKER_SLOT_BYTES - 10);
  const checksum = text.slice(MARKER_SLOT_BYTES - 9, MARKER_SLOT_BYTES - 1);
  if (crc32(body).toString(16).padStart(8, "0") !== checksum) return undefined;
  try {
    const value = JSON.parse(body);
    if (
      value.format !== MARKER_FORMAT || typeof value.logId !== "string" ||
      !Number.isSafeInteger(value.headPosition) || !Number.isSafeInteger(value.sequence)
    ) {
      return undefined;
    }
    return {
      marker: { logId: value.logId, headPosition: value.headPosition },
      sequence: value.sequence,
    };
  } catch {
    return undefined;
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  // A regular file takes the whole slot in one write; the bound only guards a broken call.
  for (let attempt = 0; written < bytes.length && attempt < 8; attempt++) {
    written += file.writeSync(bytes.subarray(written));
  }
  if (written < bytes.length) throw new Error(`Short write of the log marker: ${written} bytes`);
}
