/**
 * Starting and ending a QEMU process.
 *
 * Start: QEMU runs with `-daemonize -pidfile`, so it is re-parented away from the service and
 * outlives it. The spawned parent exits once the daemon has finished initialising (its monitor
 * socket listens), which is the moment to connect: no polling for the socket. What QEMU printed
 * until then (warnings; on failure its error) goes to the per-domain log and, on failure, into
 * the error. The daemon's identity is its pid and start time (`/proc/PID/stat`), so a reused pid
 * is never mistaken for it.
 *
 * End: SIGTERM, then waiting for the exit by looking at `/proc/PID/stat` every
 * {@linkcode EXIT_POLL_INTERVAL_MS} (an exited daemon is a zombie until PID 1 reaps it, so
 * `kill(pid, 0)` cannot tell; reference §6); SIGKILL after {@linkcode TERMINATE_GRACE_MS}. Never
 * QMP `quit`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { refuseConfig } from "./config_refusal.ts";
import { CLAIM_CONFLICT_EXIT_CODE, claimConflict, claimedCommand } from "./instance_claim.ts";
import { isProcessGone, readPidFile, readProcessStat, waitForExit } from "./process_state.ts";
import { appendQemuLog, QEMU_OUTPUT_MAX_BYTES, startLines } from "./qemu_log_file.ts";

/** How long QEMU may take to initialise until its parent exits, in milliseconds. */
export const QEMU_START_TIMEOUT_MS = 30_000;

/** How long QEMU has to exit after SIGTERM before SIGKILL, in milliseconds. */
export const TERMINATE_GRACE_MS = 5_000;

/** How long to wait for the exit after SIGKILL, in milliseconds. */
export const KILL_WAIT_MS = 5_000;

/** Pause between two looks at `/proc` while waiting for an exit, in milliseconds. */
export const EXIT_POLL_INTERVAL_MS = 1;

/** Where the online CPU list is. */
const ONLINE_CPUS_PATH = "/sys/devices/system/cpu/online";

/** What {@linkcode spawnQemu} needs. */
export interface QemuSpawnRequest {
  /** The emulator's absolute path. */
  emulator: string;
  /** Its arguments, including `-daemonize -pidfile PIDFILE`. */
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
}

/** A started QEMU daemon. */
export interface QemuIdentity {
  /** Its pid. */
  pid: number;
  /** Its start time in clock ticks since boot: with the pid, its identity. */
  startTimeTicks: number;
}

/**
 * Starts QEMU daemonized and waits until it has initialised.
 *
 * @param request The command and where to log.
 * @param signal Aborts the start (the half-started QEMU is killed).
 * @returns The daemon's pid and start time.
 * @throws {VirtError} OPERATION_FAILED (9) when another process holds the domain's claim;
 *   INTERNAL_ERROR (1) with QEMU's own message when it fails to start;
 *   CONFIG_UNSUPPORTED (67) when `cpuset` names no online host CPU; SYSTEM_ERROR (38) when the
 *   binary cannot run; OPERATION_ABORTED (78) when aborted.
 *
 * @example
 * ```ts ignore
 * const { pid } = await spawnQemu({ emulator, args, pidFilePath, env: {}, homeDir, logPath }, signal);
 * ```
 */
export async function spawnQemu(
  request: QemuSpawnRequest,
  signal: AbortSignal,
): Promise<QemuIdentity> {
  const env = {
    LC_ALL: "C",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: request.homeDir,
    ...request.env,
  };
  const qemuArgv = request.cpuset === undefined
    ? [request.emulator, ...request.args]
    : ["taskset", "-c", onlineCpuList(request.cpuset), request.emulator, ...request.args];
  const argv = request.claimPath === undefined
    ? qemuArgv
    : claimedCommand(request.claimPath, qemuArgv);
  appendQemuLog(request.logPath, startLines(new Date(), env, argv));
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.any([signal, AbortSignal.timeout(QEMU_START_TIMEOUT_MS)]),
    }).output();
  } catch (error) {
    await killFromPidFile(request.pidFilePath);
    if (signal.aborted) {
      throw new VirtError(ErrorCode.OPERATION_ABORTED, "start of qemu aborted", { cause: error });
    }
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run ${argv[0]}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const said = qemuOutput(output);
  if (said.length > 0) appendQemuLog(request.logPath, said);
  if (request.claimPath !== undefined && output.code === CLAIM_CONFLICT_EXIT_CODE) {
    throw claimConflict(request.name ?? "?", request.claimPath);
  }
  if (!output.success) {
    // QEMU notes each pty it opened on stderr: not part of an error.
    const message = new TextDecoder().decode(said).split("\n")
      .filter((line) => !line.startsWith("char device redirected to ")).join("\n").trim() ||
      `exit status ${output.code}${output.signal === null ? "" : ` (signal ${output.signal})`}`;
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `process exited while connecting to monitor: ${message}`,
    );
  }
  const pid = await readPidFile(request.pidFilePath);
  const stat = readProcessStat(pid);
  if (stat === undefined || stat.state === "Z" || stat.state === "X") {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `qemu (pid ${pid}) exited right after it started`,
    );
  }
  return { pid, startTimeTicks: stat.startTimeTicks };
}

/** QEMU's stdout and stderr, bounded. */
function qemuOutput(output: Deno.CommandOutput): Uint8Array {
  const joined = new Uint8Array(output.stdout.length + output.stderr.length);
  joined.set(output.stdout, 0);
  joined.set(output.stderr, output.stdout.length);
  return joined.subarray(Math.max(0, joined.length - QEMU_OUTPUT_MAX_BYTES));
}

/** When a start was cut short, the daemon may exist already: end it. */
async function killFromPidFile(pidFilePath: string): Promise<void> {
  let pid: number;
  try {
    pid = await readPidFile(pidFilePath);
  } catch {
    return;
  }
  const stat = readProcessStat(pid);
  if (stat === undefined) return;
  await endQemu(
    { pid, startTimeTicks: stat.startTimeTicks },
    { graceful: false },
    AbortSignal.timeout(KILL_WAIT_MS * 2),
  )
    .catch(() => {});
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
export function onlineCpuList(cpuset: string, onlineText?: string): string {
  const wanted = parseCpuList(cpuset, "/domain/vcpu/@cpuset");
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
    throw refuseConfig("/domain/vcpu/@cpuset", `cpuset '${cpuset}' names no online host CPU`);
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
