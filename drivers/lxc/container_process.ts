/**
 * Spawning, finding and ending a container's processes: the supervisor chain
 * (`setsid` → `socat` holding the console ptys → `supervisor.sh` → `unshare` → the init), the
 * bounded waits on the files it writes, and the end of every process of the container's cgroup.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { isProcessGone, readProcessStat } from "../../src/host/process_state.ts";
import { type CgroupPaths, cgroupPids, frozenState, setFrozen } from "../../src/host/cgroups.ts";
import { RUN_FILES } from "./container_scripts.ts";

/** Pause between two looks at a container's files or cgroup, in ms. */
export const POLL_INTERVAL_MS = 20;

/** Longest a container may take from spawn to `ready`, in ms. */
export const SETUP_TIMEOUT_MS = 15_000;

/** Largest small runtime file read (status, pid, exit), in bytes. */
const SMALL_FILE_MAX_BYTES = 4096;

/** Most kill rounds while ending a cgroup (each SIGKILLs every process left, then waits). */
const KILL_ROUNDS_MAX = 500;

/** Characters a runtime folder may have: socat's address syntax reserves `,:!"'` and spaces. */
export const RUN_DIR_PATTERN = /^\/[A-Za-z0-9._/-]+$/;

/** A process named by its pid and start time (so a reused pid is not mistaken for it). */
export interface ProcessIdentity {
  pid: number;
  startTimeTicks: number;
}

/** Reads a small runtime file; undefined when absent. */
export function readRunFile(runDir: string, name: string): string | undefined {
  try {
    const text = Deno.readTextFileSync(`${runDir}/${name}`);
    return text.length > SMALL_FILE_MAX_BYTES ? text.slice(0, SMALL_FILE_MAX_BYTES) : text;
  } catch {
    return undefined;
  }
}

/** The identity of live process `pid`, or undefined when it is gone. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = readProcessStat(pid);
  if (stat === undefined || stat.state === "Z" || stat.state === "X") return undefined;
  return { pid, startTimeTicks: stat.startTimeTicks };
}

/** Whether the process is alive and the same one. */
export function isAlive(identity: ProcessIdentity): boolean {
  return !isProcessGone(identity.pid, identity.startTimeTicks);
}

/** The container's init now: the child of the recorded `unshare`. */
export function findInit(runDir: string): ProcessIdentity | undefined {
  const unsharePid = Number(readRunFile(runDir, RUN_FILES.unsharePid)?.trim());
  if (!Number.isInteger(unsharePid) || unsharePid <= 0) return undefined;
  let children: string;
  try {
    children = Deno.readTextFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`);
  } catch {
    return undefined;
  }
  const pid = Number(children.trim().split(/\s+/)[0]);
  return Number.isInteger(pid) && pid > 0 ? identityOf(pid) : undefined;
}

/** The supervisor, from the pid file it writes as it starts. */
export function findSupervisor(runDir: string): ProcessIdentity | undefined {
  const pid = Number(readRunFile(runDir, "supervisor.pid")?.trim());
  return Number.isInteger(pid) && pid > 0 ? identityOf(pid) : undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal): VirtError {
  return new VirtError(ErrorCode.OPERATION_ABORTED, "container operation aborted", {
    cause: signal.reason,
  });
}

/** The command line of a supervisor: with a console, socat holds the two ptys and relays. */
export function supervisorCommand(runDir: string, console: boolean): string[] {
  if (!RUN_DIR_PATTERN.test(runDir)) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `runtime folder '${runDir}' has characters the container supervisor cannot be given`,
    );
  }
  const script = `/bin/sh ${runDir}/${RUN_FILES.supervisor}`;
  if (!console) return ["setsid", "/bin/sh", `${runDir}/${RUN_FILES.supervisor}`];
  return [
    "setsid",
    "socat",
    "-lf",
    `${runDir}/${RUN_FILES.log}`,
    `PTY,link=${runDir}/${RUN_FILES.console},rawer`,
    `EXEC:${script},pty,setsid,ctty,stderr`,
  ];
}

/**
 * Spawns the supervisor in a session of its own: it is not waited for by the service beyond
 * reaping it, and it outlives the service.
 */
export function spawnSupervisor(runDir: string, console: boolean): number {
  const [program, ...args] = supervisorCommand(runDir, console);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
      cwd: "/",
    }).spawn();
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run the container supervisor (${program}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  child.unref();
  child.status.catch(() => {});
  return child.pid;
}

/**
 * Waits until setup reports `ready`, or fails with what it reported.
 *
 * @throws {VirtError} OPERATION_FAILED (9) with setup's message, or when the supervisor ended
 *   or nothing was reported within {@linkcode SETUP_TIMEOUT_MS}.
 */
export async function waitForReady(
  runDir: string,
  supervisorPid: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = performance.now() + SETUP_TIMEOUT_MS;
  // Bounded by the deadline: each pass sleeps POLL_INTERVAL_MS.
  for (;;) {
    const status = readRunFile(runDir, RUN_FILES.status)?.trim() ?? "";
    if (status === "ready") return;
    if (status.startsWith("error ")) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, status.slice("error ".length));
    }
    const exit = readRunFile(runDir, RUN_FILES.exit);
    if (exit !== undefined || isProcessGone(supervisorPid)) {
      // The status may have been written just before the exit.
      const last = readRunFile(runDir, RUN_FILES.status)?.trim() ?? "";
      if (last.startsWith("error ")) {
        throw new VirtError(ErrorCode.OPERATION_FAILED, last.slice("error ".length));
      }
      if (last === "ready") return;
      const log = (readRunFile(runDir, RUN_FILES.log) ?? "").trim().split("\n").slice(-3).join(
        "; ",
      );
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `the container ended during its setup (exit status ${exit?.trim() ?? "unknown"})${
          log === "" ? "" : `: ${log}`
        }`,
      );
    }
    if (performance.now() > deadline) {
      throw new VirtError(
        ErrorCode.OPERATION_TIMEOUT,
        `the container did not finish its setup within ${SETUP_TIMEOUT_MS} ms`,
      );
    }
    await sleep(POLL_INTERVAL_MS, signal);
  }
}

/**
 * Lets a ready container's init run: writes the go on its fifo, which the waiting setup holds
 * open. Opened for reading and writing, which never blocks on a fifo (a write-only open would
 * wait for a reader for ever).
 */
export async function releaseInit(runDir: string): Promise<void> {
  const file = await Deno.open(`${runDir}/${RUN_FILES.go}`, { read: true, write: true });
  try {
    await file.write(new TextEncoder().encode("go\n"));
  } finally {
    file.close();
  }
}

/** Freezes or thaws the cgroup and waits (bounded) until the freezer says it is done. */
export async function freeze(
  cgroup: CgroupPaths,
  frozen: boolean,
  signal: AbortSignal,
  timeoutMs = 5_000,
): Promise<void> {
  setFrozen(cgroup, frozen);
  const deadline = performance.now() + timeoutMs;
  // Bounded by the deadline.
  for (;;) {
    const state = frozenState(cgroup);
    if (frozen ? state === "frozen" : state === "thawed") return;
    if (performance.now() > deadline) {
      throw new VirtError(
        ErrorCode.OPERATION_TIMEOUT,
        `the container's cgroup did not ${frozen ? "freeze" : "thaw"} within ${timeoutMs} ms`,
      );
    }
    await sleep(POLL_INTERVAL_MS, signal);
  }
}

function signalAll(pids: number[], name: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, name);
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Ends every process of the container's cgroup: SIGTERM (after which `graceWaitMs` is given),
 * then SIGKILL of whatever is left, round after round, with the group thawed so frozen
 * processes can die. Resolves once the group is empty.
 *
 * @param graceWaitMs How long processes get after SIGTERM; 0: SIGKILL at once.
 * @throws {VirtError} OPERATION_TIMEOUT (68) when processes are left after every round.
 */
export async function killCgroup(
  cgroup: CgroupPaths,
  graceWaitMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (graceWaitMs > 0 && cgroupPids(cgroup).length > 0) {
    signalAll(cgroupPids(cgroup), "SIGTERM");
    const deadline = performance.now() + graceWaitMs;
    while (cgroupPids(cgroup).length > 0 && performance.now() < deadline) {
      await sleep(POLL_INTERVAL_MS, signal);
    }
  }
  for (let round = 0; round < KILL_ROUNDS_MAX; round++) {
    const pids = cgroupPids(cgroup);
    if (pids.length === 0) return;
    signalAll(pids, "SIGKILL");
    if (frozenState(cgroup) !== "thawed") setFrozen(cgroup, false);
    await sleep(POLL_INTERVAL_MS, signal);
  }
  throw new VirtError(
    ErrorCode.OPERATION_TIMEOUT,
    `processes of the container are left after ${KILL_ROUNDS_MAX} rounds of SIGKILL`,
  );
}

/** Waits (bounded) until a process is gone; SIGKILLs it when it outstays `timeoutMs`. */
export async function endProcess(
  identity: ProcessIdentity | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (identity === undefined) return;
  const deadline = performance.now() + timeoutMs;
  while (isAlive(identity)) {
    if (performance.now() > deadline) {
      try {
        Deno.kill(identity.pid, "SIGKILL");
      } catch {
        return;
      }
      await sleep(POLL_INTERVAL_MS, signal);
      if (!isAlive(identity)) return;
      throw new VirtError(ErrorCode.OPERATION_TIMEOUT, `process ${identity.pid} does not end`);
    }
    await sleep(POLL_INTERVAL_MS, signal);
  }
}
