/**
 * Where a file's data lies and where its holes are, from the kernel (`lseek` with `SEEK_DATA`
 * and `SEEK_HOLE`, through the C library: Deno's `seek` offers neither), so a sparse transfer
 * skips the holes without reading them as zeros, as `cp --sparse` does.
 *
 * Without the C library (no FFI permission, another system) or on a file system that keeps no
 * hole map, the whole file counts as data: a caller still finds zero blocks by reading them.
 * The library is opened on first use, so importing this module needs no FFI permission.
 *
 * @module
 */

import { libcBinding } from "../host/libc.ts";

/** `lseek` whence: the next offset holding data. */
const SEEK_DATA = 3;
/** `lseek` whence: the next offset in a hole (the file's end counts as one). */
const SEEK_HOLE = 4;
/** `ENXIO`: no data at or after the offset. */
const ENXIO = 6;
/** `EINVAL`: this file system keeps no hole map (old kernels). */
const EINVAL = 22;
/** `O_RDONLY | O_CLOEXEC` (Linux). */
const OPEN_READ_FLAGS = 0o2000000;

const LIBC = libcBinding({
  open: { parameters: ["buffer", "i32"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  close: { parameters: ["i32"], result: "i32" },
});

let usable: boolean | undefined;

/** The C library's calls, or null where it cannot be opened here. */
function libc(): ReturnType<typeof LIBC.symbols> | null {
  if (usable === undefined) {
    try {
      usable = Deno.build.os === "linux" && LIBC.symbols() !== null;
    } catch {
      // No FFI permission or no such library: every file reads as all data.
      usable = false;
    }
  }
  return usable ? LIBC.symbols() : null;
}

/** One run of data: `[start, end)` in bytes from the file's start. */
export interface DataExtent {
  start: number;
  end: number;
}

/** A file's hole map, asked piece by piece (nothing is gathered: memory stays bounded). */
export interface FileExtents {
  /**
   * The first run of data at or after `offset` and before `limit`, cut at `limit`; null when
   * the rest up to `limit` is hole.
   */
  nextData(offset: number, limit: number): DataExtent | null;
  /** Releases the file; idempotent. */
  close(): void;
}

/** Every byte is data: where the hole map cannot be read. */
const ALL_DATA: FileExtents = {
  nextData: (offset, limit) => offset < limit ? { start: offset, end: limit } : null,
  close: () => {},
};

/**
 * The hole map of the file at `path` (a second descriptor of its own: the map belongs to the
 * file, not to a descriptor). Where it cannot be read, every byte counts as data.
 *
 * @example
 * ```ts ignore
 * const extents = openFileExtents("/var/lib/images/vm.raw");
 * try {
 *   console.log(extents.nextData(0, 1 << 30)); // { start: 1048576, end: 2097152 }
 * } finally {
 *   extents.close();
 * }
 * ```
 */
export function openFileExtents(path: string): FileExtents {
  const calls = libc();
  if (calls === null) return ALL_DATA;
  const fd = calls.open(new TextEncoder().encode(`${path}\0`), OPEN_READ_FLAGS);
  if (fd < 0) return ALL_DATA;
  let open = true;
  let mapped = true;
  /** The offset found; null for none (ENXIO); the offset itself where there is no map. */
  const seek = (offset: number, whence: number): number | null => {
    const result = calls.lseek(fd, BigInt(offset), whence);
    if (result >= 0n) return Number(result);
    const code = LIBC.errno();
    if (code === ENXIO) return null;
    if (code === EINVAL) {
      mapped = false;
      return offset;
    }
    throw new Error(`lseek in '${path}' failed: errno ${code}`);
  };
  return {
    nextData(offset, limit) {
      if (!open) throw new Error(`the hole map of '${path}' is closed`);
      if (offset >= limit) return null;
      if (!mapped) return ALL_DATA.nextData(offset, limit);
      const start = seek(offset, SEEK_DATA);
      if (!mapped) return ALL_DATA.nextData(offset, limit);
      if (start === null || start >= limit) return null;
      // A file cut meanwhile: no hole past its end means data up to the limit.
      const end = seek(start, SEEK_HOLE) ?? limit;
      return { start, end: Math.min(end, limit) };
    },
    close() {
      if (!open) return;
      open = false;
      calls.close(fd);
    },
  };
}
