/**
 * The C library through Deno's FFI, for the few calls Deno has no API for (`lseek` with
 * `SEEK_DATA`, extended attributes, tap `ioctl`s, `perf_event_open`): each caller names the
 * symbols it needs, and gets them opened once, on first use, with `errno` read beside them.
 *
 * @module
 */

/** The symbol every binding adds: where this thread's `errno` lives. */
const ERRNO_SYMBOL = {
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** A lazily opened set of libc symbols and the `errno` of the last call. */
export interface LibcBinding<S extends Deno.ForeignLibraryInterface> {
  /** The symbols, the library opened on the first call. */
  symbols(): Deno.DynamicLibrary<S & typeof ERRNO_SYMBOL>["symbols"];
  /** The calling thread's `errno`, as the last failed call left it. */
  errno(): number;
}

/**
 * A binding to `symbols` of `libc.so.6`, opened on first use (never on a host other than
 * Linux: the first call throws there).
 *
 * @example
 * ```ts ignore
 * import { libcBinding } from "./libc.ts";
 * const libc = libcBinding({ close: { parameters: ["i32"], result: "i32" } });
 * if (libc.symbols().close(-1) === -1) console.log(libc.errno()); // 9 (EBADF)
 * ```
 */
export function libcBinding<const S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): LibcBinding<S> {
  let library: Deno.DynamicLibrary<S & typeof ERRNO_SYMBOL> | undefined;
  const opened = () => {
    library ??= Deno.dlopen("libc.so.6", { ...symbols, ...ERRNO_SYMBOL });
    return library.symbols;
  };
  return {
    symbols: opened,
    errno() {
      const calls = opened() as unknown as { __errno_location(): Deno.PointerValue };
      const pointer = calls.__errno_location();
      return pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32();
    },
  };
}
