/**
 * Plain QEMU for integration tests of the QMP layer: starts `qemu-system-x86_64` (TCG, no
 * defaults, monitor on a Unix socket in a temporary folder), either daemonized with a pid file
 * (as the driver will) or as a child of the test, connects a {@linkcode QmpMonitor}, records
 * events, and tears everything down: monitor, process (SIGTERM, then SIGKILL), folder.
 *
 * @module
 */

import { QmpLog } from "../../drivers/qemu/qmp_log.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import type { QmpEvent } from "../../drivers/qemu/qmp_protocol.ts";
import { readPidFile, readProcessStat, waitForExit } from "../../src/host/process_state.ts";

/** How long QEMU may take to start and open its monitor, in milliseconds. */
export const TEST_QEMU_START_TIMEOUT_MS = 10_000;

/** How long QEMU may take to exit after SIGTERM before it gets SIGKILL, in milliseconds. */
export const TEST_QEMU_TERM_GRACE_MS = 5_000;

/** Largest stderr kept from a non-daemonized QEMU, in bytes. */
export const TEST_QEMU_STDERR_MAX_BYTES = 64 * 1024;

/** Options of {@linkcode startTestQemu}. */
export interface TestQemuOptions {
  /** Arguments after the common ones (`-machine q35,accel=tcg -nodefaults …`, monitor). */
  args: string[];
  /** Start with `-daemonize -pidfile` (re-parented to PID 1) instead of as a child. */
  daemonize: boolean;
}

/** A running QEMU with a connected monitor. */
export interface TestQemu {
  /** The temporary folder holding socket, pid file, serial and QMP logs. */
  dir: string;
  /** The monitor socket. */
  socketPath: string;
  /** Serial log path for tests that add `-chardev file,id=ser0,path=<serialPath>`. */
  serialPath: string;
  /** The QMP transcript. */
  logPath: string;
  /** QEMU's pid. */
  pid: number;
  /** QEMU's start time (clock ticks since boot), its identity with the pid. */
  startTimeTicks: number;
  /** The negotiated monitor. */
  monitor: QmpMonitor;
  /** Every event so far, in order. */
  events: QmpEvent[];
  /**
   * Resolves the `count`-th event named `name` (counting from event index `from`), or rejects
   * after `timeoutMs`.
   */
  waitForEvent(
    name: string,
    options: { timeoutMs: number; count?: number; from?: number },
  ): Promise<QmpEvent>;
  /** The non-daemonized child, for tests that wait for QEMU to exit on its own. */
  child: Deno.ChildProcess | undefined;
  /** Closes the monitor, ends QEMU (SIGTERM, SIGKILL after a grace period), removes the folder. */
  stop(): Promise<void>;
}

/**
 * Starts QEMU with a QMP socket and connects to it. `@DIR@` in `args` is replaced by the
 * temporary folder, so a test wanting a serial log passes
 * `-chardev file,id=ser0,path=@DIR@/serial.log -serial chardev:ser0` and reads `serialPath`.
 *
 * @example An empty paused machine
 * ```ts ignore
 * const qemu = await startTestQemu({ daemonize: true, args: ["-S", "-m", "64"] });
 * try {
 *   await qemu.monitor.execute("cont");
 *   await qemu.waitForEvent("RESUME", { timeoutMs: 5000 });
 * } finally {
 *   await qemu.stop();
 * }
 * ```
 */
export async function startTestQemu(options: TestQemuOptions): Promise<TestQemu> {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-qemu-" });
  const paths = testQemuPaths(dir);
  const args = [
    "-machine",
    "q35,accel=tcg",
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-chardev",
    `socket,id=mon,path=${paths.socketPath},server=on,wait=off`,
    "-mon",
    "chardev=mon,mode=control",
    ...options.args.map((arg) => arg.replaceAll("@DIR@", dir)),
  ];
  let child: Deno.ChildProcess | undefined;
  let pid: number;
  let stderr: Promise<string> = Promise.resolve("");
  try {
    if (options.daemonize) {
      const output = await new Deno.Command("qemu-system-x86_64", {
        args: [...args, "-daemonize", "-pidfile", paths.pidPath],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!output.success) {
        throw new Error(`QEMU failed to start: ${new TextDecoder().decode(output.stderr)}`);
      }
      pid = await readPidFile(paths.pidPath);
    } else {
      child = new Deno.Command("qemu-system-x86_64", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      pid = child.pid;
      stderr = collectBounded(child.stderr);
    }
  } catch (error) {
    Deno.removeSync(dir, { recursive: true });
    throw error;
  }
  const startTimeTicks = readProcessStat(pid)?.startTimeTicks;
  const events: QmpEvent[] = [];
  const waiters = new Set<() => void>();
  const log = QmpLog.open(paths.logPath);
  let monitor: QmpMonitor | undefined;
  const stop = async () => {
    await monitor?.close();
    await endProcess(pid, startTimeTicks, child);
    log.close();
    await stderr;
    Deno.removeSync(dir, { recursive: true });
  };
  try {
    if (startTimeTicks === undefined) throw new Error(`QEMU (pid ${pid}) exited at once`);
    monitor = await QmpMonitor.connect(paths.socketPath, {
      connectTimeoutMs: TEST_QEMU_START_TIMEOUT_MS,
      log,
      onEvent: (event) => {
        events.push(event);
        for (const wake of waiters) wake();
      },
    });
  } catch (error) {
    await stop();
    const detail = await stderr;
    throw detail === "" ? error : new Error(`${error}; QEMU said: ${detail}`, { cause: error });
  }
  const waitForEvent = (
    name: string,
    { timeoutMs, count = 1, from = 0 }: { timeoutMs: number; count?: number; from?: number },
  ) =>
    new Promise<QmpEvent>((resolve, reject) => {
      const check = () => {
        const matching = events.slice(from).filter((event) => event.event === name);
        if (matching.length < count) return;
        done();
        resolve(matching[count - 1]);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `No ${count}× ${name} event within ${timeoutMs} ms; saw ${
              events.map((event) => event.event).join(",")
            }`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    dir,
    ...paths,
    pid,
    startTimeTicks,
    monitor,
    events,
    waitForEvent,
    child,
    stop,
  };
}

/** The file names a test QEMU uses inside its folder. */
export function testQemuPaths(dir: string): {
  socketPath: string;
  pidPath: string;
  serialPath: string;
  logPath: string;
} {
  return {
    socketPath: `${dir}/qmp.sock`,
    pidPath: `${dir}/qemu.pid`,
    serialPath: `${dir}/serial.log`,
    logPath: `${dir}/qmp.log`,
  };
}

async function endProcess(
  pid: number,
  startTimeTicks: number | undefined,
  child: Deno.ChildProcess | undefined,
): Promise<void> {
  if (startTimeTicks !== undefined && !await waitForExit(pid, { startTimeTicks, timeoutMs: 1 })) {
    signal(pid, "SIGTERM");
    if (!await waitForExit(pid, { startTimeTicks, timeoutMs: TEST_QEMU_TERM_GRACE_MS })) {
      signal(pid, "SIGKILL");
      await waitForExit(pid, { startTimeTicks, timeoutMs: TEST_QEMU_TERM_GRACE_MS });
    }
  }
  await child?.status;
}

function signal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch {
    // It exited between the check and the signal.
  }
}

async function collectBounded(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for await (const chunk of stream) {
    if (sizeBytes < TEST_QEMU_STDERR_MAX_BYTES) chunks.push(chunk);
    sizeBytes += chunk.length;
  }
  const text = new TextDecoder().decode(
    chunks.reduce((all, chunk) => new Uint8Array([...all, ...chunk]), new Uint8Array()),
  );
  return text.slice(0, TEST_QEMU_STDERR_MAX_BYTES);
}
