/**
 * The per-domain QMP transcript: a debugging aid, separate from evirt's event log. One line per
 * command sent, reply received, event received or noteworthy happening, each starting with an
 * RFC 3339 UTC timestamp:
 *
 * ```
 * 2025-01-02T03:04:05.678Z QUERY {"execute":"stop","id":4}
 * 2025-01-02T03:04:05.681Z EVENT {"timestamp": {...}, "event": "STOP"}
 * 2025-01-02T03:04:05.682Z REPLY {"return": {}, "id": 4}
 * 2025-01-02T03:04:06.000Z NOTE end of file from qemu monitor
 * ```
 *
 * Noisy commands that samplers poll (see {@linkcode QMP_LOG_EXCLUDED_COMMANDS}) are left out,
 * together with their replies. The file is append-only with mode 0600 (replies can carry paths
 * and secrets); when it would grow past its size bound it is renamed to `<path>.1` (replacing an
 * older one) and a new file is started, so a domain's transcript never takes more than twice
 * the bound. Writes after {@linkcode QmpLog.close} are ignored, so a monitor that outlives its
 * log is harmless.
 *
 * @module
 */

/** Default size bound of one transcript file, in bytes (plus one rotated file of that size). */
export const QMP_LOG_MAX_BYTES = 4 * 1024 * 1024;

/** Longest transcript message, in UTF-16 characters; a longer one is cut and marked with its length. */
export const QMP_LOG_LINE_MAX_CHARS = 64 * 1024;

/** Commands the stats sampler polls, left out of the transcript by default. */
export const QMP_LOG_EXCLUDED_COMMANDS: readonly string[] = [
  "query-blockstats",
  "query-named-block-nodes",
  "query-balloon",
  "query-cpus-fast",
  "ringbuf-read",
];

/** The kinds of transcript line. */
export type QmpLogKind = "QUERY" | "REPLY" | "EVENT" | "NOTE";

/** Options of {@linkcode QmpLog.open}. */
export interface QmpLogOptions {
  /** Size bound of the file before it rotates, in bytes. Default {@linkcode QMP_LOG_MAX_BYTES}. */
  maxBytes?: number;
  /** Commands left out. Default {@linkcode QMP_LOG_EXCLUDED_COMMANDS}. */
  excludedCommands?: Iterable<string>;
  /** Clock for timestamps (tests). Default `() => new Date()`. */
  now?: () => Date;
}

const encoder = new TextEncoder();

/**
 * An append-only, size-bounded QMP transcript file.
 *
 * @example Writing a short transcript
 * ```ts
 * import { QmpLog } from "./qmp_log.ts";
 * const dir = Deno.makeTempDirSync();
 * const log = QmpLog.open(`${dir}/vm.qmp.log`);
 * log.command("stop", '{"execute":"stop","id":4}');
 * log.reply("stop", '{"return": {}, "id": 4}');
 * log.close();
 * console.log(Deno.readTextFileSync(`${dir}/vm.qmp.log`).split("\n").length); // 3
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class QmpLog {
  /** The transcript file. */
  readonly path: string;
  readonly #maxBytes: number;
  readonly #excluded: ReadonlySet<string>;
  readonly #now: () => Date;
  #file: Deno.FsFile | undefined;
  #sizeBytes: number;
  #writeError: unknown;

  private constructor(path: string, file: Deno.FsFile, sizeBytes: number, options: QmpLogOptions) {
    this.path = path;
    this.#file = file;
    this.#sizeBytes = sizeBytes;
    this.#maxBytes = options.maxBytes ?? QMP_LOG_MAX_BYTES;
    this.#excluded = new Set(options.excludedCommands ?? QMP_LOG_EXCLUDED_COMMANDS);
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Opens (creating with mode 0600, or appending to) a transcript file.
   *
   * @param path The file, e.g. `<runtime dir>/<domain>.qmp.log`.
   * @param options Size bound, excluded commands, clock.
   * @returns The open log.
   * @throws {RangeError} When `maxBytes` is not a positive integer.
   * @throws {Deno.errors.NotFound} When the folder does not exist (and other open errors).
   */
  static open(path: string, options: QmpLogOptions = {}): QmpLog {
    const maxBytes = options.maxBytes ?? QMP_LOG_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
      throw new RangeError(`QMP log size bound must be a positive integer, received ${maxBytes}`);
    }
    const file = openAppend(path);
    return new QmpLog(path, file, file.statSync().size, options);
  }

  /** Whether the log is closed (then every write is ignored). */
  get isClosed(): boolean {
    return this.#file === undefined;
  }

  /** The error that stopped the log, if a write failed (e.g. disk full); later writes are skipped. */
  get writeError(): unknown {
    return this.#writeError;
  }

  /** Whether `execute` is left out of this transcript. */
  excludes(execute: string): boolean {
    return this.#excluded.has(execute);
  }

  /** Records a command line sent to QEMU, unless the command is excluded. */
  command(execute: string, line: string): void {
    if (!this.#excluded.has(execute)) this.#write("QUERY", line);
  }

  /** Records QEMU's reply to `execute` (or to an unknown command: pass `""`), unless excluded. */
  reply(execute: string, line: string): void {
    if (!this.#excluded.has(execute)) this.#write("REPLY", line);
  }

  /** Records an event line from QEMU. */
  event(line: string): void {
    this.#write("EVENT", line);
  }

  /** Records something that happened on the connection (connect, end of file, late reply…). */
  note(text: string): void {
    this.#write("NOTE", text);
  }

  /** Closes the file; later writes are ignored. Closing twice is harmless. */
  close(): void {
    const file = this.#file;
    this.#file = undefined;
    file?.close();
  }

  #write(kind: QmpLogKind, message: string): void {
    if (this.#file === undefined || this.#writeError !== undefined) return;
    const bytes = encoder.encode(`${this.#now().toISOString()} ${kind} ${oneLine(message)}\n`);
    try {
      if (this.#sizeBytes + bytes.length > this.#maxBytes && this.#sizeBytes > 0) this.#rotate();
      writeAllSync(this.#file, bytes);
      this.#sizeBytes += bytes.length;
    } catch (error) {
      // A transcript must never take the monitor down: remember the failure and stop writing.
      this.#writeError = error;
    }
  }

  #rotate(): void {
    this.#file?.close();
    this.#file = undefined;
    Deno.renameSync(this.path, `${this.path}.1`);
    this.#file = openAppend(this.path);
    this.#sizeBytes = 0;
  }
}

function openAppend(path: string): Deno.FsFile {
  const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  // `mode` only applies when the file is created; an older file may be more open than that.
  Deno.chmodSync(path, 0o600);
  return file;
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    const written = file.writeSync(bytes.subarray(offset));
    if (written <= 0) throw new Error(`Write made no progress (${written} bytes)`);
    offset += written;
  }
}

/** The message on one line, cut to {@linkcode QMP_LOG_LINE_MAX_CHARS}. */
function oneLine(message: string): string {
  const flat = message.replace(/[\r\n]+/g, " ").trimEnd();
  if (flat.length <= QMP_LOG_LINE_MAX_CHARS) return flat;
  return `${flat.slice(0, QMP_LOG_LINE_MAX_CHARS)}… (${flat.length} characters)`;
}
