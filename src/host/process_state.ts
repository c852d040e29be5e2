/**
 * Whether a process evirt watches still exists (a QEMU, a network's dnsmasq, the launchers of
 * the service itself), from `/proc/PID/stat` (Linux only).
 *
 * Why not `kill(pid, 0)`: a daemonized QEMU is re-parented to PID 1, which on evirt's machines
 * reaps orphans only every ~1.8 s, so an exited QEMU lingers as a zombie (state `Z`) that
 * `kill(pid, 0)` still reports as alive (reference §6). And a pid can be reused by an unrelated
 * process once the old one is reaped, so a process is identified by its pid *and* its start
 * time (field 22 of `stat`, in clock ticks since boot), recorded when evirt started it.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** Pause between two looks at `/proc` while waiting for an exit, in milliseconds. */
export const PROCESS_EXIT_POLL_INTERVAL_MS = 5;

/** Largest pid file accepted, in bytes (a pid is at most 7 digits plus a newline). */
export const PID_FILE_MAX_BYTES = 64;

/** Largest pid Linux hands out (`PID_MAX_LIMIT` on 64-bit). */
export const PID_MAX = 4194304;

/** The fields of `/proc/PID/stat` evirt uses. */
export interface ProcessStat {
  /** The process id. */
  pid: number;
  /** The executable name the kernel keeps (at most 15 characters), e.g. `qemu-system-x86`. */
  comm: string;
  /** State letter: `R` running, `S` sleeping, `D` disk wait, `T` stopped, `Z` zombie, `X` dead… */
  state: string;
  /** The parent's pid (1 for a daemonized QEMU). */
  ppid: number;
  /** The process group (field 5, `pgrp`). */
  processGroup: number;
  /** The controlling terminal's device number (field 7, `tty_nr`); 0 without one. */
  terminal: number;
  /** When the process started, in clock ticks since boot: with the pid, its identity. */
  startTimeTicks: number;
  /** CPU time spent in user mode, in clock ticks (field 14, `utime`). */
  userTimeTicks: number;
  /** CPU time spent in kernel mode, in clock ticks (field 15, `stime`). */
  systemTimeTicks: number;
}

/** Clock ticks per second of `/proc/PID/stat` times (`CLK_TCK`; 100 on Linux for x86 and arm). */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Reads `/proc/PID/stat`.
 *
 * @param pid The process id.
 * @returns The parsed fields, or undefined when no such process exists (any more).
 * @throws {VirtError} INVALID_ARG for a pid that is not a positive integer up to {@linkcode PID_MAX}.
 *
 * @example Looking at this process
 * ```ts
 * import { readProcessStat } from "./process_state.ts";
 * const stat = readProcessStat(Deno.pid);
 * console.log(stat?.state); // "R" or "S"
 * ```
 */
export function readProcessStat(pid: number): ProcessStat | undefined {
  checkPid(pid);
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (error) {
    // NotFound: no such pid. ESRCH-style failures: it vanished between open and read.
    if (error instanceof Deno.errors.NotFound || isNoSuchProcess(error)) return undefined;
    throw error;
  }
  return parseProcessStat(pid, text);
}

/**
 * Parses the text of `/proc/PID/stat`. The executable name may contain spaces and parentheses,
 * so the fields after it are found from the last `)`.
 *
 * @param pid The pid the text was read for (checked against the text).
 * @param text The file's content.
 * @throws {VirtError} INTERNAL_ERROR when the text is not a stat line for `pid`.
 *
 * @example Parsing a name with parentheses
 * ```ts
 * import { parseProcessStat } from "./process_state.ts";
 * const fields = "Z 1 7 7 0 -1 4194560 91 0 0 0 0 0 0 0 20 0 1 0 4242 0 0";
 * console.log(parseProcessStat(7, `7 (a) b) ${fields}`).startTimeTicks); // 4242
 * ```
 */
export function parseProcessStat(pid: number, text: string): ProcessStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const fields = close > open ? text.slice(close + 2).trim().split(" ") : [];
  const statePid = Number(text.slice(0, Math.max(open, 0)).trim());
  // Field 3 (state) is fields[0], so field N is fields[N - 3]: ppid 4, starttime 22.
  const ppid = Number(fields[1]);
  const processGroup = Number(fields[2]);
  const terminal = Number(fields[4]);
  const startTimeTicks = Number(fields[19]);
  const userTimeTicks = Number(fields[11]);
  const systemTimeTicks = Number(fields[12]);
  if (
    open < 0 || statePid !== pid || fields.length < 20 || !/^[A-Za-z]$/.test(fields[0]) ||
    !Number.isSafeInteger(ppid) || !Number.isSafeInteger(processGroup) ||
    !Number.isSafeInteger(terminal) || !Number.isSafeInteger(startTimeTicks) ||
    !Number.isSafeInteger(userTimeTicks) || !Number.isSafeInteger(systemTimeTicks)
  ) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `cannot parse /proc/${pid}/stat: '${text.slice(0, 80)}'`,
    );
  }
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: fields[0],
    ppid,
    processGroup,
    terminal,
    startTimeTicks,
    userTimeTicks,
    systemTimeTicks,
  };
}

/**
 * Whether the process is gone: no `/proc` entry, a zombie (`Z`) or dead (`X`) one whose threads
 * have all exited, or a pid that now belongs to another process (its start time differs from
 * `startTimeTicks`).
 *
 * @param pid The process id.
 * @param startTimeTicks The start time recorded when the process was started; when absent, any
 *   live process with this pid counts as the one meant.
 * @throws {VirtError} INVALID_ARG for a malformed pid.
 *
 * @example Spotting a reused pid
 * ```ts
 * import { isProcessGone, readProcessStat } from "./process_state.ts";
 * const start = readProcessStat(Deno.pid)!.startTimeTicks;
 * console.log(isProcessGone(Deno.pid, start), isProcessGone(Deno.pid, start + 1)); // false true
 * ```
 */
export function isProcessGone(pid: number, startTimeTicks?: number): boolean {
  const stat = readProcessStat(pid);
  if (stat === undefined) return true;
  if (startTimeTicks !== undefined && stat.startTimeTicks !== startTimeTicks) return true;
  if (stat.state === "Z" || stat.state === "X") return !hasLiveThreads(pid);
  return false;
}

/**
 * Whether threads other than the leader of a zombie process still exist. The leader of a
 * multi-threaded process (QEMU) turns `Z` as soon as it exits, while its other threads are still
 * being torn down and the process still holds its files (disk image locks, the domain's claim):
 * it is gone only once they are.
 */
function hasLiveThreads(pid: number): boolean {
  let count = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/task`)) {
      if (++count > 1) return true;
    }
  } catch {
    return false; // Reaped meanwhile.
  }
  return false;
}

/** Options of {@linkcode waitForExit}. */
export interface WaitForExitOptions {
  /** The start time recorded at spawn; when absent it is read on the first look. */
  startTimeTicks?: number;
  /** How long to wait at most, in milliseconds. */
  timeoutMs: number;
  /** Stops the wait with a VirtError OPERATION_ABORTED. */
  signal?: AbortSignal;
  /** Pause between looks. Default {@linkcode PROCESS_EXIT_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
}

/**
 * Waits until a process is gone (see {@linkcode isProcessGone}), looking at `/proc` every
 * {@linkcode PROCESS_EXIT_POLL_INTERVAL_MS}.
 *
 * @param pid The process id.
 * @param options Start time, timeout, abort signal.
 * @returns True once the process is gone; false when it still exists after `timeoutMs`.
 * @throws {VirtError} OPERATION_ABORTED when `signal` fires; INVALID_ARG for a bad pid or timeout.
 *
 * @example Waiting for a child that exits
 * ```ts
 * import { waitForExit } from "./process_state.ts";
 * const child = new Deno.Command("true").spawn();
 * console.log(await waitForExit(child.pid, { timeoutMs: 1000 })); // true
 * await child.status;
 * ```
 */
export async function waitForExit(pid: number, options: WaitForExitOptions): Promise<boolean> {
  checkPid(pid);
  const { timeoutMs, signal } = options;
  const intervalMs = options.pollIntervalMs ?? PROCESS_EXIT_POLL_INTERVAL_MS;
  for (const [name, value] of [["timeoutMs", timeoutMs], ["pollIntervalMs", intervalMs]] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `${name} must be a positive integer, got ${value}`,
        {
          where: name,
        },
      );
    }
  }
  const startTimeTicks = options.startTimeTicks ?? readProcessStat(pid)?.startTimeTicks;
  if (startTimeTicks === undefined) return true;
  const deadline = performance.now() + timeoutMs;
  // Bounded by the deadline: each pass sleeps intervalMs (at least one look after the deadline).
  while (true) {
    if (signal?.aborted) throw aborted(pid, signal.reason);
    if (isProcessGone(pid, startTimeTicks)) return true;
    const remainingMs = deadline - performance.now();
    if (remainingMs <= 0) return false;
    await sleep(Math.min(intervalMs, remainingMs), signal, pid);
  }
}

/**
 * Reads the pid file QEMU writes with `-pidfile PATH`.
 *
 * @param path The pid file.
 * @returns The pid.
 * @throws {VirtError} SYSTEM_ERROR (38) when the file cannot be read; INTERNAL_ERROR (1) when it
 *   holds no valid pid or is larger than {@linkcode PID_FILE_MAX_BYTES}.
 *
 * @example Reading a pid file
 * ```ts
 * import { readPidFile } from "./process_state.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "1234\n");
 * console.log(await readPidFile(path)); // 1234
 * Deno.removeSync(path);
 * ```
 */
export async function readPidFile(path: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    const file = await Deno.open(path, { read: true });
    try {
      // One byte more than the bound tells an over-long file from one of exactly the bound.
      const buffer = new Uint8Array(PID_FILE_MAX_BYTES + 1);
      let length = 0;
      while (length < buffer.length) {
        const count = await file.read(buffer.subarray(length));
        if (count === null) break;
        length += count;
      }
      bytes = buffer.subarray(0, length);
    } finally {
      file.close();
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `failed to read pid file '${path}': ${detail}`, {
      cause: error,
    });
  }
  const text = new TextDecoder().decode(bytes);
  const match = /^\s*([0-9]{1,7})\s*$/.exec(text);
  const pid = match === null ? Number.NaN : Number(match[1]);
  if (bytes.length > PID_FILE_MAX_BYTES || !(pid > 0 && pid <= PID_MAX)) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `invalid pid file '${path}': '${text.slice(0, 20).trim()}'`,
    );
  }
  return pid;
}

function checkPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > PID_MAX) {
    throw new VirtError(ErrorCode.INVALID_ARG, `invalid process id ${pid}`, { where: "pid" });
  }
}

function isNoSuchProcess(error: unknown): boolean {
  return error instanceof Error && /ESRCH|No such process/.test(error.message);
}

function aborted(pid: number, reason: unknown): VirtError {
  return new VirtError(ErrorCode.OPERATION_ABORTED, `wait for process ${pid} to exit was aborted`, {
    cause: reason,
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(pid, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
