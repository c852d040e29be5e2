/**
 * Starting and ending a QEMU process.
 *
 * Start: QEMU runs in a session of its own (`setsid`), so it outlives the service and is not hit
 * by signals to the service's process group. It is not `-daemonize`d: QEMU's seccomp sandbox
 * with `spawn=deny` forbids the fork that daemonizing needs, so, as libvirt does, the process is
 * detached before QEMU is executed. The chain exec'd is `sh` (QEMU's stdout and stderr appended
 * to the per-domain log) → `setsid` → `flock` (the domain's claim, `instance_claim.ts`) →
 * `setpriv` (the QEMU user and group, when confined) → `taskset` (a cpuset) → QEMU: every step
 * execs the next, so the spawned pid is QEMU's. The start is done once `whenStarted` (the
 * driver's monitor connection) succeeds; if QEMU exits first, what it printed to the log since
 * the start becomes the error, as libvirt's "process exited while connecting to monitor". The
 * process's identity is its pid and start time (`/proc/PID/stat`), so a reused pid is never
 * mistaken for it.
 *
 * End: SIGTERM, then waiting for the exit by looking at `/proc/PID/stat` every
 * {@linkcode EXIT_POLL_INTERVAL_MS} (an exited QEMU of an earlier service is a zombie until
 * PID 1 reaps it, so `kill(pid, 0)` cannot tell; reference §6); SIGKILL after
 * {@linkcode TERMINATE_GRACE_MS}. Never QMP `quit`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { refuseConfig } from "./config_refusal.ts";
import { closeFds } from "./dac_tap.ts";
import { CLAIM_CONFLICT_EXIT_CODE, claimConflict, claimedCommand } from "./instance_claim.ts";
import { isProcessGone, readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import { appendQemuLog, QEMU_OUTPUT_MAX_BYTES, startLines } from "./qemu_log_file.ts";

/** How long QEMU may take to initialise until `whenStarted` succeeds, in milliseconds. */
export const QEMU_START_TIMEOUT_MS = 30_000;

/** How long SIGTERM has to end QEMU before SIGKILL, in milliseconds. */
export const TERMINATE_GRACE_MS = 5_000;

/** How long to wait for the exit after SIGKILL, in milliseconds. */
export const KILL_WAIT_MS = 5_000;

/** Pause between two looks at `/proc` while waiting for an exit, in milliseconds. */
export const EXIT_POLL_INTERVAL_MS = 1;

/** How long a QEMU that failed its start may take to exit before it is taken as alive, in ms. */
const FAILED_START_EXIT_WAIT_MS = 1_000;

/** Where the online CPU list is. */
const ONLINE_CPUS_PATH = "/sys/devices/system/cpu/online";

/**
 * The shell step: the control groups joined (`$2` files after it), QEMU's output appended to the
 * log (`$1`), then the rest exec'd.
 */
const DETACH_SCRIPT = 'log=$1; n=$2; shift 2; while [ "$n" -gt 0 ]; do ' +
  // Joins each group before QEMU runs (its memory is charged there from the first page).
  'echo $$ >"$1" 2>>"$log" || exit 127; shift; n=$((n - 1)); done; ' +
  'exec "$@" >>"$log" 2>&1 </dev/null';

/** The user, group and supplementary groups QEMU runs with. */
export interface ProcessCredentials {
  uid: number;
  gid: number;
  /** True: the user's supplementary groups (`initgroups`); false: none. */
  initGroups: boolean;
}

/** What {@linkcode spawnQemu} needs. */
export interface QemuSpawnRequest {
  /** The emulator's absolute path. */
  emulator: string;
  /** Its arguments, including `-pidfile PIDFILE` (and not `-daemonize`). */
  args: string[];
  /** The pid file named in `args`. */
  pidFilePath: string;
  /** Extra environment (on top of `LC_ALL=C`, `PATH` and `HOME`). */
  env: Record<string, string>;
  /** Host CPUs to run on (`<vcpu cpuset>`), or undefined. */
  cpuset?: string;
  /** QEMU's home: the domain's runtime folder. */
  homeDir: string;
  /** The per-domain QEMU log. */
  logPath: string;
  /**
   * The domain's claim file: QEMU is started holding it (`instance_claim.ts`), and not at all
   * while another process holds it. Undefined: no claim.
   */
  claimPath?: string;
  /** The domain's name, for the error of a held claim. */
  name?: string;
  /** Who QEMU runs as; undefined: as the service. */
  runAs?: ProcessCredentials;
  /**
   * Descriptors QEMU inherits (taps the service attached, `dac_tap.ts`): closed in the service
   * right after the spawn.
   */
  inheritedFds?: number[];
  /** The `cgroup.procs` files of the control group QEMU runs in, joined before it is run. */
  cgroupProcs?: string[];
}

/** A started QEMU process. */
export interface QemuIdentity {
  /** Its pid. */
  pid: number;
  /** Its start time in clock ticks since boot: with the pid, its identity. */
  startTimeTicks: number;
}

/**
 * The command line that runs QEMU detached, holding the claim, as the QEMU user (without the
 * `sh` step that redirects its output).
 *
 * @example
 * ```ts
 * import { detachedCommand } from "./qemu_process.ts";
 * const argv = detachedCommand({
 *   emulator: "qemu-system-x86_64", args: ["-S"], pidFilePath: "/run/vm/qemu.pid", env: {},
 *   homeDir: "/run/vm", logPath: "/var/log/vm.log", runAs: { uid: 64055, gid: 64055, initGroups: true },
 * });
 * console.log(argv.join(" "));
 * // "setsid setpriv --reuid=64055 --regid=64055 --init-groups -- qemu-system-x86_64 -S"
 * ```
 */
export function detachedCommand(request: QemuSpawnRequest): string[] {
  const qemuArgv = request.cpuset === undefined
    ? [request.emulator, ...request.args]
    : ["taskset", "-c", onlineCpuList(request.cpuset), request.emulator, ...request.args];
  const dropped = asUser(request.runAs, qemuArgv);
  const claimed = request.claimPath === undefined
    ? dropped
    : claimedCommand(request.claimPath, dropped);
  return ["setsid", ...claimed];
}

/**
 * `argv` run as `runAs` (through `setpriv`), or as it is when `runAs` is undefined.
 *
 * @example
 * ```ts
 * import { asUser } from "./qemu_process.ts";
 * console.log(asUser({ uid: 64055, gid: 107, initGroups: false }, ["dbus-daemon"]).join(" "));
 * // "setpriv --reuid=64055 --regid=107 --clear-groups -- dbus-daemon"
 * ```
 */
export function asUser(runAs: ProcessCredentials | undefined, argv: string[]): string[] {
  if (runAs === undefined) return argv;
  return [
    "setpriv",
    `--reuid=${runAs.uid}`,
    `--regid=${runAs.gid}`,
    runAs.initGroups ? "--init-groups" : "--clear-groups",
    "--",
    ...argv,
  ];
}

/**
 * Starts QEMU detached and waits until it has initialised: until `whenStarted` resolves (QEMU
 * writes its pid file before it has checked its devices, so only its monitor, answering a
 * command from its main loop, says it has).
 *
 * @param request The command and where to log.
 * @param signal Aborts the start (the half-started QEMU is killed).
 * @param whenStarted Connects to the new QEMU (its monitor), within the start timeout (its
 *   signal also fires when QEMU exits); a QEMU that exits meanwhile makes the start fail with
 *   its own message.
 * @returns The process's pid and start time.
 * @throws {VirtError} OPERATION_FAILED (9) when another process holds the domain's claim;
 *   INTERNAL_ERROR (1) with QEMU's own message when it exits while starting;
 *   CONFIG_UNSUPPORTED (67) when `cpuset` names no online host CPU; SYSTEM_ERROR (38) when the
 *   binary cannot run; OPERATION_ABORTED (78) when aborted; what `whenStarted` throws while
 *   QEMU lives (QEMU is then killed).
 *
 * @example
 * ```ts ignore
 * const { pid } = await spawnQemu(request, signal, (qemu, signal) => connectMonitor(qemu, signal));
 * ```
 */
export async function spawnQemu(
  request: QemuSpawnRequest,
  signal: AbortSignal,
  whenStarted: (identity: QemuIdentity, signal: AbortSignal) => Promise<void>,
): Promise<QemuIdentity> {
  const env = {
    LC_ALL: "C",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: request.homeDir,
    ...request.env,
  };
  let argv: string[];
  try {
    argv = detachedCommand(request);
    appendQemuLog(request.logPath, startLines(new Date(), env, argv));
  } catch (error) {
    closeFds(request.inheritedFds ?? []);
    throw error;
  }
  const logOffset = fileSize(request.logPath);
  let child: Deno.ChildProcess;
  try {
    // Spawned in the same synchronous run that opened the inherited descriptors.
    child = new Deno.Command("sh", {
      args: [
        "-c",
        DETACH_SCRIPT,
        "evirt-qemu",
        request.logPath,
        String(request.cgroupProcs?.length ?? 0),
        ...request.cgroupProcs ?? [],
        ...argv,
      ],
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run ${argv[0]}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    closeFds(request.inheritedFds ?? []);
  }
  // The service may exit while QEMU runs on; the status is still collected while it lives.
  child.unref();
  let exitStatus: Deno.CommandStatus | undefined;
  const exited = child.status.then((status) => {
    exitStatus = status;
    return status;
  });
  const stat = readProcessStat(child.pid);
  const identity = { pid: child.pid, startTimeTicks: stat?.startTimeTicks ?? 0 };
  const gone = new AbortController();
  exited.then(() => gone.abort(new Error("qemu exited")));
  const deadline = AbortSignal.any([
    signal,
    gone.signal,
    AbortSignal.timeout(QEMU_START_TIMEOUT_MS),
  ]);
  const started = whenStarted(identity, deadline);
  let startError: unknown;
  const outcome = await Promise.race([
    started.then(() => "started" as const, (error) => {
      startError = error;
      return "failed" as const;
    }),
    exited.then(() => "exited" as const),
  ]);
  if (outcome === "started") {
    if (stat === undefined) throw startFailure(request, logOffset, exitStatus);
    return identity;
  }
  if (outcome === "failed") {
    // The connection failed: QEMU probably exited (with its reason in the log).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exitedToo = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), FAILED_START_EXIT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!exitedToo) {
      await endQemu(identity, { graceful: false }, AbortSignal.timeout(KILL_WAIT_MS * 2))
        .catch(() => {});
      if (signal.aborted) {
        throw new VirtError(ErrorCode.OPERATION_ABORTED, "start of qemu aborted", {
          cause: startError,
        });
      }
      throw startError;
    }
  } else {
    // Whatever whenStarted was doing is moot now.
    started.catch(() => {});
  }
  const status = await exited;
  if (request.claimPath !== undefined && status.code === CLAIM_CONFLICT_EXIT_CODE) {
    throw claimConflict(request.name ?? "?", request.claimPath);
  }
  throw startFailure(request, logOffset, status);
}

/** The error of a QEMU that exited while starting: what it printed since the start. */
function startFailure(
  request: QemuSpawnRequest,
  logOffset: number,
  status: Deno.CommandStatus | undefined,
): VirtError {
  const said = readLogSince(request.logPath, logOffset);
  // QEMU notes each pty it opened on stderr: not part of an error.
  const message = said.split("\n")
    .filter((line) => !line.startsWith("char device redirected to ")).join("\n").trim() ||
    (status === undefined
      ? "exited right after it started"
      : `exit status ${status.code}${status.signal === null ? "" : ` (signal ${status.signal})`}`);
  return new VirtError(
    ErrorCode.INTERNAL_ERROR,
    `process exited while connecting to monitor: ${message}`,
  );
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** What the log got since `offset`, the last {@linkcode QEMU_OUTPUT_MAX_BYTES} of it. */
function readLogSince(path: string, offset: number): string {
  try {
    const file = Deno.openSync(path, { read: true });
    try {
      const size = file.statSync().size;
      const start = Math.max(offset, size - QEMU_OUTPUT_MAX_BYTES);
      if (size <= start) return "";
      file.seekSync(start, Deno.SeekMode.Start);
      const buffer = new Uint8Array(size - start);
      let filled = 0;
      while (filled < buffer.length) {
        const count = file.readSync(buffer.subarray(filled));
        if (count === null || count === 0) break;
        filled += count;
      }
      return new TextDecoder().decode(buffer.subarray(0, filled));
    } finally {
      file.close();
    }
  } catch {
    return "";
  }
}

/**
 * The host CPUs of a libvirt cpuset that are online here, as a `taskset -c` list. The kernel
 * applies an affinity mask the same way: bits of absent CPUs are ignored.
 *
 * @throws {VirtError} 67 when the set names no online CPU or cannot be parsed.
 *
 * @example
 * ```ts
 * import { onlineCpuList } from "./qemu_process.ts";
 * console.log(onlineCpuList("1-4,8-20,525", "0-1")); // "1"
 * ```
 */
export function onlineCpuList(
  cpuset: string,
  onlineText?: string,
  where = "/domain/vcpu/@cpuset",
): string {
  const wanted = parseCpuList(cpuset, where);
  let online: Set<number>;
  try {
    online = parseCpuList(
      (onlineText ?? Deno.readTextFileSync(ONLINE_CPUS_PATH)).trim(),
      ONLINE_CPUS_PATH,
    );
  } catch {
    online = new Set(Array.from({ length: navigator.hardwareConcurrency }, (_, index) => index));
  }
  const usable = [...wanted].filter((cpu) => online.has(cpu)).sort((a, b) => a - b);
  if (usable.length === 0) {
    throw refuseConfig(where, `cpuset '${cpuset}' names no online host CPU`);
  }
  return usable.join(",");
}

/** Largest CPU number a cpuset may name. */
const CPU_ID_MAX = 16383;

function parseCpuList(text: string, where: string): Set<number> {
  const included = new Set<number>();
  const excluded = new Set<number>();
  for (const term of text.split(",")) {
    const match = /^(\^)?([0-9]+)(?:-([0-9]+))?$/.exec(term.trim());
    const first = Number(match?.[2]);
    const last = match?.[3] === undefined ? first : Number(match[3]);
    if (match === null || !(first <= last) || last > CPU_ID_MAX) {
      throw refuseConfig(where, `cannot parse cpu set '${text}'`);
    }
    for (let cpu = first; cpu <= last; cpu++) {
      (match[1] === undefined ? included : excluded).add(cpu);
    }
  }
  for (const cpu of excluded) included.delete(cpu);
  return included;
}

/**
 * Ends a QEMU process: SIGTERM, then SIGKILL after {@linkcode TERMINATE_GRACE_MS} unless
 * `graceful`. Resolves once the process is gone (exited, even if not yet reaped).
 *
 * @param identity The process's pid and start time (a different process with that pid is left alone).
 * @param options `graceful`: reject instead of sending SIGKILL; `graceMs`: how long SIGTERM has
 *   (default {@linkcode TERMINATE_GRACE_MS}).
 * @param signal Aborts the wait.
 * @throws {VirtError} SYSTEM_ERROR (38) when the process does not exit; OPERATION_ABORTED (78)
 *   when aborted.
 *
 * @example
 * ```ts ignore
 * await endQemu({ pid, startTimeTicks }, { graceful: false }, AbortSignal.timeout(15_000));
 * ```
 */
export async function endQemu(
  identity: QemuIdentity,
  options: { graceful: boolean; graceMs?: number },
  signal: AbortSignal,
): Promise<void> {
  const { pid, startTimeTicks } = identity;
  if (isProcessGone(pid, startTimeTicks)) return;
  sendSignal(pid, "SIGTERM");
  const exited = await waitForExit(pid, {
    startTimeTicks,
    timeoutMs: options.graceMs ?? TERMINATE_GRACE_MS,
    pollIntervalMs: EXIT_POLL_INTERVAL_MS,
    signal,
  });
  if (exited) return;
  if (options.graceful) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `failed to terminate process ${pid} with SIGTERM: Device or resource busy`,
    );
  }
  if (isProcessGone(pid, startTimeTicks)) return;
  sendSignal(pid, "SIGKILL");
  const killed = await waitForExit(pid, {
    startTimeTicks,
    timeoutMs: KILL_WAIT_MS,
    pollIntervalMs: EXIT_POLL_INTERVAL_MS,
    signal,
  });
  if (!killed) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `failed to kill process ${pid} with SIGKILL`);
  }
}

function sendSignal(pid: number, name: Deno.Signal): void {
  try {
    Deno.kill(pid, name);
  } catch (error) {
    // It exited between the look at /proc and the signal.
    if (!(error instanceof Deno.errors.NotFound) && !/ESRCH/.test(String(error))) throw error;
  }
}
