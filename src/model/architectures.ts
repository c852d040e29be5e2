/**
 * The architecture names libvirt 9.0 knows (`virArch`), in its order.
 *
 * @module
 */

/**
 * Every `virArch` name (`none` aside).
 *
 * @example
 * ```ts
 * import { LIBVIRT_ARCHES } from "./architectures.ts";
 * console.log(LIBVIRT_ARCHES.has("x86_64"), LIBVIRT_ARCHES.has("x86")); // true false
 * ```
 */
export const LIBVIRT_ARCHES: ReadonlySet<string> = new Set([
  "alpha",
  "armv6l",
  "armv7l",
  "armv7b",
  "aarch64",
  "cris",
  "i686",
  "ia64",
  "lm32",
  "loongarch64",
  "m68k",
  "microblaze",
  "microblazeel",
  "mips",
  "mipsel",
  "mips64",
  "mips64el",
  "openrisc",
  "parisc",
  "parisc64",
  "ppc",
  "ppcle",
  "ppc64",
  "ppc64le",
  "ppcemb",
  "riscv32",
  "riscv64",
  "s390",
  "s390x",
  "sh4",
  "sh4eb",
  "sparc",
  "sparc64",
  "unicore32",
  "x86_64",
  "xtensa",
  "xtensaeb",
]);
