/**
 * The chain of processes that launched the service inside its own process group, watched so the
 * service stops when that chain breaks.
 *
 * Why: `npx -y deno@2.9.6 task start` runs `npm exec` → `sh -c 'deno' task start` →
 * `deno task` → `deno run …`, all in one process group. A SIGTERM to the `npx` process is passed by
 * npm to `sh` only, which dies without passing it on; `deno task` and the service are left running,
 * orphaned. No signal reaches the service, but the chain of its launchers has lost a member: that
 * is what this module detects. A service started on its own (systemd, `setsid`, a shell with job
 * control running `evirt daemon`) leads its own process group, has no chain and watches nothing.
 *
 * Linux only (`/proc`); elsewhere the chain is empty.
 *
 * @module
 */

/** One launcher: its pid and its start time, so a reused pid is not taken for it. */
export interface Launcher {
  pid: number;
  /** The process's command name (`comm`). */
  command: string;
  /** Start time in clock ticks since boot (`/proc/PID/stat` field 22). */
  startTicks: number;
}

/** The fields of `/proc/PID/stat` the service reads. */
export interface ProcessStat {
  pid: number;
  command: string;
  /** One letter: `R` running, `S` sleeping, `Z` zombie (exited, not yet collected), … */
  state: string;
  parentPid: number;
  processGroup: number;
  /** The controlling terminal's device number; 0 without one. */
  terminal: number;
  startTicks: number;
}

/** Ancestors looked at, at most (a chain is a handful; the bound only guards against a loop). */
const LAUNCH_CHAIN_MAX = 64;

/**
 * Parses one `/proc/PID/stat` line. The command name is in parentheses and may itself hold spaces
 * and parentheses, so the fields are counted after its last `)`.
 *
 * @example
 * ```ts
 * const stat = parseProcessStat("42 (deno task) S 41 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1 1");
 * console.log(stat.parentPid, stat.processGroup, stat.startTicks); // 41 40 777
 * ```
 */
export function parseProcessStat(line: string): ProcessStat {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) throw new TypeError(`Cannot parse process stat: ${line}`);
  // After the command: state(3) ppid(4) pgrp(5) session(6) tty_nr(7) … starttime(22).
  const rest = line.slice(close + 2).split(" ");
  const field = (number: number) => Number(rest[number - 3]);
  const stat = {
    pid: Number(line.slice(0, open).trim()),
    command: line.slice(open + 1, close),
    state: rest[0],
    parentPid: field(4),
    processGroup: field(5),
    terminal: field(7),
    startTicks: field(22),
  };
  if (![stat.pid, stat.parentPid, stat.processGroup, stat.startTicks].every(Number.isInteger)) {
    throw new TypeError(`Cannot parse process stat: ${line}`);
  }
  return stat;
}

/** Reads `/proc/PID/stat` (`self` for this process); undefined when the process is gone. */
export function readProcessStat(pid: number | "self"): ProcessStat | undefined {
  try {
    return parseProcessStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * The ancestors of this process that share its process group, nearest first: the processes that
 * launched it as one job. Empty when the service leads its own group or `/proc` is absent.
 *
 * @example
 * ```ts ignore
 * // under `npx -y deno@2.9.6 task start`: deno task, sh, npm exec
 * console.log(launchChain().map((each) => each.command));
 * ```
 */
export function launchChain(): Launcher[] {
  const self = readProcessStat("self");
  if (self === undefined) return [];
  const chain: Launcher[] = [];
  let pid = self.parentPid;
  while (pid > 1 && chain.length < LAUNCH_CHAIN_MAX) {
    const stat = readProcessStat(pid);
    if (stat === undefined || stat.processGroup !== self.processGroup) break;
    chain.push({ pid, command: stat.command, startTicks: stat.startTicks });
    pid = stat.parentPid;
  }
  return chain;
}

/** The first launcher of `chain` that no longer runs (gone, or its pid reused), if any. */
export function goneLauncher(chain: readonly Launcher[]): Launcher | undefined {
  return chain.find((launcher) => {
    const stat = readProcessStat(launcher.pid);
    // A zombie has exited and only waits for its parent to collect it.
    return stat === undefined || stat.startTicks !== launcher.startTicks || stat.state === "Z";
  });
}

/** Whether this process has a controlling terminal (so a SIGHUP means the terminal hung up). */
export function hasControllingTerminal(): boolean {
  return (readProcessStat("self")?.terminal ?? 0) !== 0;
}

/** Options of {@linkcode watchLaunchChain}. */
export interface WatchLaunchChainOptions {
  /** Time between two looks, in ms. Default 250. */
  intervalMs?: number;
}

/**
 * Calls `onGone` once when a launcher of `chain` exits; returns the function that stops watching.
 * Nothing is watched for an empty chain.
 *
 * @example
 * ```ts ignore
 * const stop = watchLaunchChain(launchChain(), (gone) => console.error(`${gone.command} exited`));
 * ```
 */
export function watchLaunchChain(
  chain: readonly Launcher[],
  onGone: (launcher: Launcher) => void,
  options: WatchLaunchChainOptions = {},
): () => void {
  if (chain.length === 0) return () => {};
  const timer = setInterval(() => {
    const gone = goneLauncher(chain);
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, options.intervalMs ?? 250);
  // The watch alone must never keep the process alive.
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
