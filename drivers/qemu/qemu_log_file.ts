/**
 * The per-domain QEMU log (`<log dir>/NAME.log`), like libvirt's `/var/log/libvirt/qemu/NAME.log`:
 * for each start, a line saying when it started and the full command line, then what QEMU wrote
 * on stdout and stderr while starting (its warnings and, on failure, its error), then a line when
 * the process ended. The file is appended to with mode 0600 and rotated to `NAME.log.1` once it
 * passes {@linkcode QEMU_LOG_MAX_BYTES}.
 *
 * @module
 */

/** Size of one log file before it is rotated, in bytes. */
export const QEMU_LOG_MAX_BYTES = 1024 * 1024;

/** Largest part of QEMU's start-up output written to the log, in bytes. */
export const QEMU_OUTPUT_MAX_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** Longest file name Linux accepts (NAME_MAX), in bytes. */
const FILE_NAME_MAX_BYTES = 255;

/** The longest suffix a domain's log files add to {@linkcode logFileStem}. */
const LOG_SUFFIX_MAX = ".qmp.log";

/**
 * The part of a domain's log file names that comes from its name: the name with every
 * character other than `A-Z a-z 0-9 _ . + -` written as `%` and its UTF-16 code in hex, so a
 * name can never leave the log folder or clash with another.
 *
 * @example
 * ```ts
 * import { logFileStem } from "./qemu_log_file.ts";
 * console.log(logFileStem("web 1")); // "web%201"
 * ```
 */
export function logFileStem(name: string): string {
  return name.replace(
    /[^A-Za-z0-9_.+-]/g,
    (char) => `%${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * Whether every log file of a domain named `name` fits in one file name (NAME_MAX): escaping
 * makes a name of non-ASCII characters up to five times longer, so a name libvirt accepts may
 * still not fit here.
 *
 * @example
 * ```ts
 * import { logFileNameFits } from "./qemu_log_file.ts";
 * console.log(logFileNameFits("web"), logFileNameFits("é".repeat(100))); // true false
 * ```
 */
export function logFileNameFits(name: string): boolean {
  return logFileStem(name).length + LOG_SUFFIX_MAX.length <= FILE_NAME_MAX_BYTES;
}

/**
 * Quotes one word for a shell, so a logged command line can be pasted into a terminal.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./qemu_log_file.ts";
 * console.log(shellQuote("-name"), shellQuote("guest=my vm")); // -name 'guest=my vm'
 * ```
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_.,:=/@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Appends to a domain's QEMU log.
 *
 * @example
 * ```ts
 * import { appendQemuLog } from "./qemu_log_file.ts";
 * const dir = Deno.makeTempDirSync();
 * appendQemuLog(`${dir}/vm.log`, "starting up\n");
 * console.log(Deno.readTextFileSync(`${dir}/vm.log`).endsWith("starting up\n")); // true
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function appendQemuLog(path: string, text: string | Uint8Array): void {
  rotateIfLarge(path);
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  Deno.writeFileSync(path, bytes, { append: true, create: true, mode: 0o600 });
}

/**
 * The log line that opens a start: a timestamp, "starting up", the environment and the command.
 *
 * @example
 * ```ts
 * import { startLines } from "./qemu_log_file.ts";
 * const text = startLines(new Date(0), { LC_ALL: "C" }, ["qemu-system-x86_64", "-S"]);
 * console.log(text); // "1970-01-01T00:00:00.000Z starting up\nLC_ALL=C qemu-system-x86_64 -S\n"
 * ```
 */
export function startLines(at: Date, env: Record<string, string>, argv: string[]): string {
  const environment = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`);
  return `${at.toISOString()} starting up\n${
    [...environment, ...argv.map(shellQuote)].join(" ")
  }\n`;
}

function rotateIfLarge(path: string): void {
  try {
    if (Deno.statSync(path).size >= QEMU_LOG_MAX_BYTES) Deno.renameSync(path, `${path}.1`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
