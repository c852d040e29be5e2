/**
 * Extended attributes of host files, through the C library (`getxattr`, `setxattr`,
 * `removexattr`): where the DAC labeller remembers a file's original owner, as libvirt's
 * `remember_owner` does in `trusted.libvirt.security.*`. Deno has no xattr API; the library is
 * opened on first use, so importing this module needs no FFI permission.
 *
 * @module
 */

import { libcBinding } from "../../src/host/libc.ts";

/** Largest attribute value read, in bytes (the holder records stay far below it). */
export const XATTR_VALUE_MAX_BYTES = 4096;

/** `ENODATA`: the file has no such attribute. */
const ENODATA = 61;
/** `EOPNOTSUPP`: the file system keeps no extended attributes. */
const ENOTSUP = 95;
/** `ENOSYS`: no xattr support at all. */
const ENOSYS = 38;

const SYMBOLS = {
  getxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  setxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  removexattr: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;

const LIBC = libcBinding(SYMBOLS);
const libc = LIBC.symbols;

/** Thrown when a file system keeps no extended attributes (`EOPNOTSUPP`, `ENOSYS`). */
export class XattrUnsupportedError extends Error {
  /**
   * @param path The file.
   */
  constructor(path: string) {
    super(`Extended attributes are not supported on '${path}'`);
    this.name = "XattrUnsupportedError";
  }
}

const encoder = new TextEncoder();

function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${text}\0`) as Uint8Array<ArrayBuffer>;
}

const errno = LIBC.errno;

function failure(call: string, path: string, code: number): Error {
  if (code === ENOTSUP || code === ENOSYS) return new XattrUnsupportedError(path);
  return new Error(`${call} on '${path}' failed: errno ${code}`);
}

/**
 * The value of attribute `name` of `path` (symbolic links followed), or undefined when the file
 * has none.
 *
 * @throws {XattrUnsupportedError} When the file system keeps no extended attributes.
 * @throws {Error} On any other failure (the file is gone, the value is over
 *   {@linkcode XATTR_VALUE_MAX_BYTES}, …).
 *
 * @example
 * ```ts ignore
 * getXattr("/var/lib/images/vm.img", "trusted.evirt.dac"); // '{"owner":"+0:+0",…}'
 * ```
 */
export function getXattr(path: string, name: string): string | undefined {
  const buffer = new Uint8Array(XATTR_VALUE_MAX_BYTES);
  const length = libc().getxattr(cString(path), cString(name), buffer, BigInt(buffer.length));
  if (length < 0n) {
    const code = errno();
    if (code === ENODATA) return undefined;
    throw failure("getxattr", path, code);
  }
  return new TextDecoder().decode(buffer.subarray(0, Number(length)));
}

/**
 * Sets attribute `name` of `path` to `value` (replacing it atomically when present).
 *
 * @throws {XattrUnsupportedError} When the file system keeps no extended attributes.
 * @throws {Error} On any other failure.
 *
 * @example
 * ```ts ignore
 * setXattr("/var/lib/images/vm.img", "trusted.evirt.dac", '{"owner":"+0:+0"}');
 * ```
 */
export function setXattr(path: string, name: string, value: string): void {
  const bytes = encoder.encode(value) as Uint8Array<ArrayBuffer>;
  if (bytes.length > XATTR_VALUE_MAX_BYTES) {
    throw new Error(`xattr value for '${path}' is ${bytes.length} bytes, over the bound`);
  }
  const result = libc().setxattr(cString(path), cString(name), bytes, BigInt(bytes.length), 0);
  if (result !== 0) throw failure("setxattr", path, errno());
}

/**
 * Removes attribute `name` of `path`; a missing attribute is not an error.
 *
 * @throws {XattrUnsupportedError} When the file system keeps no extended attributes.
 * @throws {Error} On any other failure.
 *
 * @example
 * ```ts ignore
 * removeXattr("/var/lib/images/vm.img", "trusted.evirt.dac");
 * ```
 */
export function removeXattr(path: string, name: string): void {
  const result = libc().removexattr(cString(path), cString(name));
  if (result === 0) return;
  const code = errno();
  if (code === ENODATA) return;
  throw failure("removexattr", path, code);
}
