/**
 * The container facts of a disk's source on the host: what `stat` says of a regular file, or the
 * size of a block device. Block info (reference §4) is built from these.
 *
 * Every read runs under a deadline. For local files the deadline is never reached; it exists for
 * storage that can hang (a hard-mounted NFS share whose server is gone): the caller then gets an
 * `OPERATION_TIMEOUT` error instead of waiting forever. The underlying system call cannot be
 * cancelled, so it stays blocked in Deno's thread pool until the kernel gives up; only the caller
 * is released.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** How long one storage read may take before the caller is answered with a timeout. */
export const STORAGE_READ_TIMEOUT_MS = 5_000;

/** `st_blocks` counts 512-byte units whatever the file system's block size (POSIX). */
const STAT_BLOCK_BYTES = 512;

/** A regular file: `st_size` and the bytes it occupies (`st_blocks` × 512). */
export interface FileStorageInfo {
  /** A regular file (symbolic links are followed). */
  kind: "file";
  /** The path that was read. */
  path: string;
  /** `st_size`: the last offset, what `ls -l` shows. */
  sizeBytes: number;
  /** `st_blocks` × 512: the host storage occupied, what `du` shows. */
  allocatedBytes: number;
}

/** A block device: its size, found by seeking to its end. */
export interface BlockDeviceStorageInfo {
  /** A block device (symbolic links are followed). */
  kind: "block";
  /** The path that was read. */
  path: string;
  /** The device's size in bytes. */
  sizeBytes: number;
}

/** What {@linkcode readStorageInfo} learns about a path. */
export type StorageInfo = FileStorageInfo | BlockDeviceStorageInfo;

/** Reads the container facts of a path; injected where rules must be testable without files. */
export type StorageReader = (path: string) => Promise<StorageInfo>;

/** Options of {@linkcode readStorageInfo} and {@linkcode withStorageDeadline}. */
export interface StorageReadOptions {
  /** Deadline of the whole read. Default {@linkcode STORAGE_READ_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Aborts the wait (the caller is answered with `OPERATION_ABORTED`). Default none. */
  signal?: AbortSignal;
}

/**
 * Answers with `work`'s outcome, or with a typed error when the deadline passes or `signal`
 * aborts first. The work itself is not cancelled (file system calls cannot be).
 *
 * @param path The storage being read, named in the error.
 * @param work The read.
 * @param options Deadline and abort signal.
 * @returns What `work` resolves to.
 * @throws {VirtError} `OPERATION_TIMEOUT` after the deadline, `OPERATION_ABORTED` on abort.
 *
 * @example Bounding a read
 * ```ts
 * import { withStorageDeadline } from "./storage_info.ts";
 * const info = await withStorageDeadline("/etc/hostname", Deno.stat("/etc/hostname"), {
 *   timeoutMs: 1000,
 * });
 * console.log(info.isFile); // true
 * ```
 */
export function withStorageDeadline<T>(
  path: string,
  work: Promise<T>,
  options: StorageReadOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? STORAGE_READ_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new TypeError(`Cannot read storage: timeoutMs must be >= 0, received ${timeoutMs}`);
  }
  const signal = options.signal;
  if (signal?.aborted) {
    work.catch(() => {}); // the outcome no longer matters to anyone
    return Promise.reject(aborted(path));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => settle(() => reject(aborted(path)));
    const timer = setTimeout(() =>
      settle(() =>
        reject(
          new VirtError(
            ErrorCode.OPERATION_TIMEOUT,
            `timed out after ${timeoutMs} ms reading storage '${path}'`,
            { where: path },
          ),
        )
      ), timeoutMs);
    let settled = false;
    function settle(finish: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      finish();
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => settle(() => resolve(value)),
      (error) => settle(() => reject(error)),
    );
  });
}

function aborted(path: string): VirtError {
  return new VirtError(ErrorCode.OPERATION_ABORTED, `reading storage '${path}' was aborted`, {
    where: path,
  });
}

/**
 * Reads the container facts of `path`: a regular file's `st_size` and `st_blocks` × 512, or a
 * block device's size (opened read-only, seeked to its end). Symbolic links are followed.
 *
 * @param path Absolute path of the disk source.
 * @param options Deadline and abort signal.
 * @returns The facts, by kind.
 * @throws {VirtError} `SYSTEM_ERROR` when the path cannot be read ("cannot stat file …"),
 *   `OPERATION_UNSUPPORTED` for a directory, FIFO, socket or character device,
 *   `OPERATION_TIMEOUT` / `OPERATION_ABORTED` from the deadline.
 *
 * @example Reading a file's size and allocation
 * ```ts
 * import { readStorageInfo } from "./storage_info.ts";
 * const info = await readStorageInfo("/etc/hostname");
 * console.log(info.kind, info.sizeBytes); // "file" and its size
 * ```
 */
export function readStorageInfo(
  path: string,
  options: StorageReadOptions = {},
): Promise<StorageInfo> {
  return withStorageDeadline(path, readStorageInfoNow(path), options);
}

async function readStorageInfoNow(path: string): Promise<StorageInfo> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    throw storageSystemError(`cannot stat file '${path}'`, path, error);
  }
  if (stat.isFile) {
    if (stat.blocks === null) {
      throw new VirtError(
        ErrorCode.OPERATION_UNSUPPORTED,
        `cannot read the allocation of '${path}': st_blocks is not available on this platform`,
        { where: path },
      );
    }
    const info: FileStorageInfo = {
      kind: "file",
      path,
      sizeBytes: stat.size,
      allocatedBytes: stat.blocks * STAT_BLOCK_BYTES,
    };
    assertByteCount(info.sizeBytes);
    assertByteCount(info.allocatedBytes);
    return info;
  }
  if (stat.isBlockDevice === true) {
    return { kind: "block", path, sizeBytes: await blockDeviceSizeBytes(path) };
  }
  throw new VirtError(
    ErrorCode.OPERATION_UNSUPPORTED,
    `storage '${path}' is a ${kindName(stat)}, not a regular file or block device`,
    { where: path },
  );
}

async function blockDeviceSizeBytes(path: string): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: false });
  } catch (error) {
    throw storageSystemError(`cannot open block device '${path}'`, path, error);
  }
  try {
    // A block device's st_size is 0; seeking to its end is what tells its size.
    const sizeBytes = await file.seek(0, Deno.SeekMode.End);
    assertByteCount(sizeBytes);
    return sizeBytes;
  } catch (error) {
    if (error instanceof VirtError) throw error;
    throw storageSystemError(`cannot seek to the end of block device '${path}'`, path, error);
  } finally {
    file.close();
  }
}

function kindName(stat: Deno.FileInfo): string {
  if (stat.isDirectory) return "directory";
  if (stat.isFifo === true) return "FIFO";
  if (stat.isSocket === true) return "socket";
  if (stat.isCharDevice === true) return "character device";
  return "special file";
}

/**
 * A `SYSTEM_ERROR` about reading storage, worded like libvirt's: "<what>: <strerror>".
 *
 * @param what What failed, e.g. "cannot stat file '/images/a.raw'".
 * @param path The storage, kept as `where`.
 * @param cause The error from Deno, whose message starts with the system's reason.
 * @returns The typed error.
 *
 * @example
 * ```ts
 * import { storageSystemError } from "./storage_info.ts";
 * const cause = new Deno.errors.NotFound("No such file or directory (os error 2): stat '/x'");
 * console.log(storageSystemError("cannot stat file '/x'", "/x", cause).message);
 * // "cannot stat file '/x': No such file or directory"
 * ```
 */
export function storageSystemError(what: string, path: string, cause: unknown): VirtError {
  const reason = cause instanceof Error ? cause.message.replace(/ \(os error \d+\).*$/s, "") : "";
  return new VirtError(ErrorCode.SYSTEM_ERROR, reason === "" ? what : `${what}: ${reason}`, {
    where: path,
    cause,
  });
}

function assertByteCount(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`Invariant: a byte count is a safe non-negative integer, got ${value}`);
  }
}
