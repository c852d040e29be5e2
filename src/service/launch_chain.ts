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

import { isProcessGone, readProcessStat } from "../host/process_state.ts";

/** One launcher: its pid and its start time, so a reused pid is not taken for it. */
export interface Launcher {
  pid: number;
  /** The process's command name (`comm`). */
  command: string;
  /** Start time in clock ticks since boot (`/proc/PID/stat` field 22). */
  startTicks: number;
}

/** Ancestors looked at, at most (a chain is a handful; the bound only guards against a loop). */
const LAUNCH_CHAIN_MAX = 64;

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
  const self = readProcessStat(Deno.pid);
  if (self === undefined) return [];
  const chain: Launcher[] = [];
  let pid = self.ppid;
  while (pid > 1 && chain.length < LAUNCH_CHAIN_MAX) {
    const stat = readProcessStat(pid);
    if (stat === undefined || stat.processGroup !== self.processGroup) break;
    chain.push({ pid, command: stat.comm, startTicks: stat.startTimeTicks });
    pid = stat.ppid;
  }
  return chain;
}

/** The first launcher of `chain` that no longer runs (gone, or its pid reused), if any. */
export function goneLauncher(chain: readonly Launcher[]): Launcher | undefined {
  // Gone, reused, or a zombie (exited, only waiting for its parent to collect it).
  return chain.find((launcher) => isProcessGone(launcher.pid, launcher.startTicks));
}

/** Whether this process has a controlling terminal (so a SIGHUP means the terminal hung up). */
export function hasControllingTerminal(): boolean {
  return (readProcessStat(Deno.pid)?.terminal ?? 0) !== 0;
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
