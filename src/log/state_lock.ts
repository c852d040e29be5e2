/**
 * The exclusive kernel lock (flock) on the state directory that keeps a second evirt service off
 * the same log.
 *
 * The kernel drops a flock when its holder's last descriptor closes, including when the holder is
 * killed, so a crashed service never blocks a restart and no pid file liveness check is needed.
 * Deno opens files close-on-exec, so child processes (QEMU) never inherit the lock.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreArgumentError, StateLockedError } from "./errors.ts";

/** The lock file's name inside the state directory. */
export const STATE_LOCK_FILE = "evirt.lock";

/** Longest holder pid text read back from the lock file, in bytes. */
const HOLDER_TEXT_MAX_BYTES = 32;

/** A held state directory lock. */
export interface StateLock {
  /** The lock file's path. */
  readonly path: string;
  /** Releases the lock; calling it again does nothing. */
  release(): void;
}

/**
 * Creates `stateDir` (mode 0700) when missing and takes the exclusive lock on its lock file,
 * without waiting.
 *
 * @param stateDir The state directory, absolute.
 * @returns The held lock.
 * @throws {StateLockedError} When another process holds the lock.
 * @throws {VirtError} With code SYSTEM_ERROR when the directory or lock file cannot be made.
 *
 * @example Taking and releasing the lock
 * ```ts
 * import { acquireStateLock } from "./state_lock.ts";
 * const dir = Deno.makeTempDirSync();
 * const lock = acquireStateLock(dir);
 * lock.release();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function acquireStateLock(stateDir: string): StateLock {
  if (typeof stateDir !== "string" || !stateDir.startsWith("/")) {
    throw new EventStoreArgumentError(
      "stateDir",
      `state directory must be an absolute path, got '${String(stateDir)}'`,
    );
  }
  const path = `${stateDir.replace(/\/+$/, "")}/${STATE_LOCK_FILE}`;
  const file = systemCall(`cannot open lock file '${path}'`, () => {
    Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  });
  let locked = false;
  try {
    locked = systemCall(`cannot lock '${path}'`, () => file.tryLockSync(true));
    if (!locked) throw new StateLockedError(stateDir, readHolderPid(file));
    // Only for the message a second service prints; liveness comes from the lock itself.
    systemCall(`cannot write lock file '${path}'`, () => {
      file.truncateSync(0);
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    });
  } catch (error) {
    if (locked) file.unlockSync();
    file.close();
    throw error;
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

function readHolderPid(file: Deno.FsFile): number | undefined {
  try {
    const buffer = new Uint8Array(HOLDER_TEXT_MAX_BYTES);
    file.seekSync(0, Deno.SeekMode.Start);
    const count = file.readSync(buffer) ?? 0;
    const text = new TextDecoder().decode(buffer.subarray(0, count)).trim();
    return /^[0-9]{1,10}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined; // The pid only decorates the message.
  }
}

function systemCall<T>(message: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `${message}: ${(error as Error).message}`, {
      where: "EVIRT_STATE_DIR",
      cause: error,
    });
  }
}
