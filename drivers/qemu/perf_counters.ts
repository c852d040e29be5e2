/**
 * The host's performance counters for a QEMU process, as libvirt's `virperf.c` opens them: one
 * `perf_event_open(2)` per event on the process (its main thread, and with `inherit` every thread
 * and child it makes afterwards), on any CPU, started disabled and then enabled by ioctl; a read
 * gives the 64-bit count. Deno has no perf API: the C library's `syscall`, `ioctl`, `read` and
 * `close` are called through FFI, opened on first use so that importing this module needs no
 * FFI permission.
 *
 * libvirt's refusals, word for word: `cmt`, `mbmt` and `mbml` need Intel's cache monitoring PMU
 * (`/sys/devices/intel_cqm`, gone from kernels since 4.14): code 74; a kernel that refuses the
 * event (no hardware PMU in a virtual machine, `perf_event_paranoid`, seccomp): code 38 with the
 * system's words for the errno.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { PERF_EVENT_NAMES } from "../../src/model/perf_events.ts";
import { libcBinding } from "../../src/host/libc.ts";

/** `struct perf_event_attr`'s size in this layout (`PERF_ATTR_SIZE_VER7`). */
const ATTR_BYTES = 128;
/** `PERF_EVENT_IOC_ENABLE`, `PERF_EVENT_IOC_DISABLE`: `_IO('$', 0)`, `_IO('$', 1)`. */
const IOC_ENABLE = 0x2400n;
const IOC_DISABLE = 0x2401n;
/** The attribute's bit field: `disabled` (bit 0) and `inherit` (bit 1), as libvirt sets them. */
const ATTR_FLAGS = 0b11n;
/** `__NR_perf_event_open` by architecture. */
const PERF_EVENT_OPEN: Record<string, bigint> = { x86_64: 298n, aarch64: 241n };

/** `PERF_TYPE_HARDWARE`, `PERF_TYPE_SOFTWARE`. */
const HARDWARE = 0;
const SOFTWARE = 1;

/** Each event's `{type, config}` (libvirt's `attrs` table); the RDT ones have no PMU type here. */
const EVENT_ATTRS: Record<string, { type: number; config: number } | undefined> = {
  cmt: undefined,
  mbmt: undefined,
  mbml: undefined,
  cpu_cycles: { type: HARDWARE, config: 0 },
  instructions: { type: HARDWARE, config: 1 },
  cache_references: { type: HARDWARE, config: 2 },
  cache_misses: { type: HARDWARE, config: 3 },
  branch_instructions: { type: HARDWARE, config: 4 },
  branch_misses: { type: HARDWARE, config: 5 },
  bus_cycles: { type: HARDWARE, config: 6 },
  stalled_cycles_frontend: { type: HARDWARE, config: 7 },
  stalled_cycles_backend: { type: HARDWARE, config: 8 },
  ref_cpu_cycles: { type: HARDWARE, config: 9 },
  cpu_clock: { type: SOFTWARE, config: 0 },
  task_clock: { type: SOFTWARE, config: 1 },
  page_faults: { type: SOFTWARE, config: 2 },
  context_switches: { type: SOFTWARE, config: 3 },
  cpu_migrations: { type: SOFTWARE, config: 4 },
  page_faults_min: { type: SOFTWARE, config: 5 },
  page_faults_maj: { type: SOFTWARE, config: 6 },
  alignment_faults: { type: SOFTWARE, config: 7 },
  emulation_faults: { type: SOFTWARE, config: 8 },
};

const SYMBOLS = {
  syscall: { parameters: ["i64", "buffer", "i64", "i64", "i64", "u64"], result: "i64" },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

const LIBC = libcBinding(SYMBOLS);
const libc = LIBC.symbols;

const errno = LIBC.errno;

/** The system's words for `code` (`No such file or directory`), as libvirt appends them. */
function errnoText(code: number): string {
  const pointer = libc().strerror(code);
  return pointer === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(pointer);
}

function systemError(message: string, code: number): VirtError {
  return new VirtError(ErrorCode.SYSTEM_ERROR, `${message}: ${errnoText(code)}`);
}

/**
 * The enabled perf events of one QEMU process, each an open counter.
 *
 * @example
 * ```ts ignore
 * const counters = new PerfCounters(qemuPid);
 * counters.enable("task_clock");
 * counters.read("task_clock"); // 48213345n (ns)
 * counters.close();
 * ```
 */
export class PerfCounters {
  readonly #pid: number;
  readonly #fds = new Map<string, number>();

  /** @param pid The process counted. */
  constructor(pid: number) {
    this.#pid = pid;
  }

  /** The enabled events, in the order they were enabled. */
  get enabled(): string[] {
    return [...this.#fds.keys()];
  }

  /**
   * Opens and enables the counter of `name` on the process (nothing when it already counts).
   *
   * @throws {VirtError} 74 for the RDT events; 38 when the kernel refuses (libvirt's words).
   */
  enable(name: string): void {
    if (this.#fds.has(name)) return;
    if (!Object.hasOwn(EVENT_ATTRS, name)) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `Event '${name}' is not supported`);
    }
    const attrs = EVENT_ATTRS[name];
    if (attrs === undefined) {
      throw new VirtError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        `unable to enable host cpu perf event for ${name}`,
      );
    }
    const number = PERF_EVENT_OPEN[Deno.build.arch];
    if (number === undefined) {
      throw new VirtError(ErrorCode.SYSTEM_ERROR, "Perf not supported on this platform");
    }
    const attr = new Uint8Array(ATTR_BYTES);
    const view = new DataView(attr.buffer);
    view.setUint32(0, attrs.type, true);
    view.setUint32(4, ATTR_BYTES, true);
    view.setBigUint64(8, BigInt(attrs.config), true);
    view.setBigUint64(40, ATTR_FLAGS, true);
    const symbols = libc();
    const fd = Number(symbols.syscall(number, attr, BigInt(this.#pid), -1n, -1n, 0n));
    if (fd < 0) {
      throw systemError(`unable to open host cpu perf event for ${name}`, errno());
    }
    if (symbols.ioctl(fd, IOC_ENABLE, 0n) < 0) {
      const code = errno();
      symbols.close(fd);
      throw systemError(`unable to enable host cpu perf event for ${name}`, code);
    }
    this.#fds.set(name, fd);
  }

  /**
   * Stops and closes the counter of `name` (nothing when it does not count).
   *
   * @throws {VirtError} 38 when the kernel refuses to stop it (the counter stays open).
   */
  disable(name: string): void {
    const fd = this.#fds.get(name);
    if (fd === undefined) return;
    const symbols = libc();
    if (symbols.ioctl(fd, IOC_DISABLE, 0n) < 0) {
      throw systemError(`unable to disable host cpu perf event for ${name}`, errno());
    }
    this.#fds.delete(name);
    symbols.close(fd);
  }

  /**
   * The count of `name` now, or undefined when it does not count or cannot be read.
   */
  read(name: string): bigint | undefined {
    const fd = this.#fds.get(name);
    if (fd === undefined) return undefined;
    const value = new Uint8Array(8);
    if (libc().read(fd, value, 8n) !== 8n) return undefined;
    return new DataView(value.buffer).getBigUint64(0, true);
  }

  /** Closes every counter. */
  close(): void {
    for (const fd of this.#fds.values()) libc().close(fd);
    this.#fds.clear();
  }
}

/**
 * The counts of every counter open, in libvirt's order (its `perf.<name>` stats walk its enum);
 * a counter that cannot be read is left out, as libvirt leaves it.
 *
 * @example
 * ```ts ignore
 * perfCounts(counters); // [["cpu_clock", 1044184], ["task_clock", 1082637]]
 * ```
 */
export function perfCounts(counters: PerfCounters): Array<[string, number]> {
  const counts: Array<[string, number]> = [];
  for (const name of PERF_EVENT_NAMES) {
    const value = counters.read(name);
    if (value !== undefined) counts.push([name, Number(value)]);
  }
  return counts;
}
