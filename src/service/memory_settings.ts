/**
 * How the service process holds on to memory it no longer needs.
 *
 * - V8 lets an isolate's garbage grow to up to 4 times its live heap before a full collection
 *   when collections are cheap, which they are for the service (a few large strings, few
 *   objects): a burst of large defines left the main loop's heap at 2–3 times what it kept.
 *   {@linkcode SERVICE_V8_FLAGS} makes the next full collection come once the heap has grown by
 *   {@linkcode HEAP_GROWING_PERCENT} of what the last one kept (every isolate of the process: the
 *   main loop and the worker threads). V8 reads it only at start, so it is given on the command
 *   line of every way the service starts (`deno task start`, the compiled binary, the tests'
 *   service processes); `node:v8`'s `setFlagsFromString` at run time does not change it.
 * - glibc malloc raises its mmap threshold to the size of each large block freed, so after the
 *   first few 4 MiB request bodies or messages, later ones come from its arenas (one per thread)
 *   and stay in the process after they are freed. A fixed threshold
 *   ({@linkcode MMAP_THRESHOLD_BYTES}) keeps every large block in a mapping of its own,
 *   returned to the kernel when freed. Set by {@linkcode applyMemorySettings} at start-up, before
 *   any worker thread exists; best effort (another C library keeps its own policy).
 *
 * @module
 */

import { libcBinding } from "../host/libc.ts";

/** Heap growth before the next full collection, in percent of the live heap. */
export const HEAP_GROWING_PERCENT = 10;

/** The V8 flags the service runs with (`deno run --v8-flags=…`, `deno compile --v8-flags=…`). */
export const SERVICE_V8_FLAGS = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

/** Blocks of this many bytes or more get a mapping of their own (glibc's initial value). */
export const MMAP_THRESHOLD_BYTES = 128 * 1024;

/** glibc's `M_MMAP_THRESHOLD` for `mallopt`. */
const M_MMAP_THRESHOLD = -3;

const LIBC = libcBinding({ mallopt: { parameters: ["i32", "i32"], result: "i32" } });

/** What {@linkcode applyMemorySettings} could set. */
export interface MemorySettings {
  mmapThresholdBytes: number | null;
}

let applied: MemorySettings | undefined;

/**
 * Fixes malloc's mmap threshold for this process (once; later calls return the first result).
 *
 * @example
 * ```ts ignore
 * import { applyMemorySettings } from "./memory_settings.ts";
 * console.log(applyMemorySettings()); // { mmapThresholdBytes: 131072 }
 * ```
 */
export function applyMemorySettings(): MemorySettings {
  if (applied !== undefined) return applied;
  let mmapThresholdBytes: number | null = null;
  try {
    if (LIBC.symbols().mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) === 1) {
      mmapThresholdBytes = MMAP_THRESHOLD_BYTES;
    }
  } catch {
    // Not glibc (or no FFI): its allocator keeps its own policy.
  }
  applied = { mmapThresholdBytes };
  return applied;
}

/** The line the service logs at start. */
export function memorySettingsLine(settings: MemorySettings): string {
  return settings.mmapThresholdBytes === null
    ? "memory: malloc keeps its own mmap threshold"
    : `memory: malloc maps blocks of ${settings.mmapThresholdBytes} bytes or more apart`;
}
