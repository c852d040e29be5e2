/**
 * Kill rounds against the real service with real QEMU guests, shared by
 * `service_kill_test.ts` (CI-sized) and `bench/chaos.ts` (hundreds of kills).
 *
 * Each round sends one command (start, destroy, suspend or define, whichever the domain's state
 * allows, chosen by a seeded random source) and SIGKILLs the service at a random instant while
 * the command is under way (or just after it was answered). The service is then restarted on the
 * same directories, and three things are counted:
 *
 * - **mismatches**: a domain whose recovered state and reason are neither what its callers were
 *   last told nor one outcome of the command that was in flight (e.g. `shut off (crashed)` after
 *   an interrupted destroy), or that is recorded active without a QEMU;
 * - **orphans**: a live QEMU of a domain the recovered log says is shut off;
 * - **doubles**: more than one live QEMU for one domain.
 *
 * (An orphan or a double that persists is counted once, when first seen.)
 *
 * QEMU processes are found in `/proc` by their command line (`-uuid` and the runtime folder of
 * this run), so one belonging to no record is found too. Every QEMU of the run is killed by pid
 * at the end.
 *
 * @module
 */

import { readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import {
  removeServiceDirs,
  type ServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { seededRandom } from "../support/seeded_random.ts";
import { guestDefinition } from "./_qemu_guest.ts";

/** Guests driven by the rounds. */
export const KILL_DOMAIN_COUNT = 2;

/** Latest kill after the command was sent, in ms (a start takes ~100–300 ms here). */
export const KILL_DELAY_MAX_MS = 400;

/** How long a QEMU may take to exit after the run's final SIGKILL, in ms. */
const CLEANUP_EXIT_TIMEOUT_MS = 5_000;

/** Largest `/proc/PID/cmdline` read, in bytes. */
const CMDLINE_MAX_BYTES = 64 * 1024;

/** A state as virsh prints it, e.g. `shut off (destroyed)`. */
type StateText = string;

/** What the kill rounds counted. */
export interface KillReport {
  kills: number;
  /** Commands answered before their kill. */
  acknowledged: number;
  mismatches: number;
  orphans: number;
  doubles: number;
  /** Recoveries that adopted the QEMU of an interrupted start (spawned, not yet recorded). */
  adoptedStarts: number;
  /** Recoveries that finished an interrupted end (destroy) with its own reason. */
  finishedEnds: number;
  /** One line per problem found, for the failure message. */
  problems: string[];
}

/** Options of {@linkcode runKillRounds}. */
export interface KillOptions {
  rounds: number;
  seed: number;
  /** Told of each round's outcome. */
  log?: (line: string) => void;
}

/** The commands a domain in `state` may be sent, and what each leaves once answered. */
function choices(state: StateText): { command: string; after: StateText }[] {
  if (state.startsWith("shut off")) {
    return [
      { command: "start", after: "running (booted)" },
      { command: "start", after: "running (booted)" },
      { command: "define", after: state },
    ];
  }
  if (state.startsWith("paused")) {
    return [
      { command: "destroy", after: "shut off (destroyed)" },
      { command: "define", after: state },
    ];
  }
  return [
    { command: "destroy", after: "shut off (destroyed)" },
    { command: "suspend", after: "paused (user)" },
    { command: "define", after: state },
  ];
}

/** Every state a domain may show after a kill while `command` was in flight from `told`. */
function outcomes(command: string, told: StateText): StateText[] {
  switch (command) {
    case "start":
      // Not started; started; or its instance adopted and ended as an unfinished start.
      return [told, "running (booted)", "shut off (failed)"];
    case "destroy":
      return [told, "shut off (destroyed)"];
    case "suspend":
      return [told, "paused (user)"];
    default:
      return [told];
  }
}

/**
 * Runs `options.rounds` kill rounds on fresh directories and counts what recovery got wrong.
 *
 * @example
 * ```ts ignore
 * const report = await runKillRounds({ rounds: 6, seed: 42 });
 * console.log(report.mismatches, report.orphans, report.doubles); // 0 0 0
 * ```
 */
export async function runKillRounds(options: KillOptions): Promise<KillReport> {
  const random = seededRandom(options.seed);
  const dirs = await serviceDirs();
  const report: KillReport = {
    kills: 0,
    acknowledged: 0,
    mismatches: 0,
    orphans: 0,
    doubles: 0,
    adoptedStarts: 0,
    finishedEnds: 0,
    problems: [],
  };
  const definitions: DomainDefinition[] = [];
  const told = new Map<string, StateText>();
  const counted = new Set<string>();
  let service: ServiceProcess | undefined;
  try {
    service = await startServiceProcess(dirs);
    for (let index = 0; index < KILL_DOMAIN_COUNT; index++) {
      const definition = guestDefinition(`k${index}`, {
        serial: { file: `${dirs.stateDir}/../k${index}.serial` },
      });
      definitions.push(definition);
      await service.client.define({ definition });
      told.set(definition.name, "shut off (unknown)");
    }
    for (let round = 0; round < options.rounds; round++) {
      const definition = definitions[Math.floor(random() * definitions.length)];
      const candidates = choices(told.get(definition.name)!);
      const chosen = candidates[Math.floor(random() * candidates.length)];
      const delayMs = Math.floor(random() * KILL_DELAY_MAX_MS);
      const answered = await sendAndKill(service, definition, chosen.command, delayMs);
      service = undefined;
      report.kills++;
      if (answered) {
        report.acknowledged++;
        told.set(definition.name, chosen.after);
      }
      service = await startServiceProcess(dirs);
      // What recovery settled, from the service's own messages.
      report.adoptedStarts += count(service.log(), "adopted the instance of its interrupted start");
      report.finishedEnds += count(service.log(), "finished its interrupted end");
      const line = await checkRound(
        service,
        dirs,
        definitions,
        told,
        {
          name: definition.name,
          command: chosen.command,
          answered,
        },
        report,
        counted,
      );
      options.log?.(`round ${round}: ${chosen.command} ${definition.name} +${delayMs} ms ${line}`);
    }
  } finally {
    await service?.stop("SIGTERM");
    await killQemus(dirs);
    await removeServiceDirs(dirs);
  }
  return report;
}

/** Sends `command` for `definition`, SIGKILLs the service after `delayMs`; true when answered. */
async function sendAndKill(
  service: ServiceProcess,
  definition: DomainDefinition,
  command: string,
  delayMs: number,
): Promise<boolean> {
  let answered = false;
  const request = command === "define"
    ? service.client.define({ definition })
    : service.client.action(definition.name, command as "start" | "destroy" | "suspend");
  const settled = request.then(() => answered = true, () => {});
  await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, delayMs))]);
  const status = await service.stop("SIGKILL");
  if (status.signal !== "SIGKILL") {
    throw new Error(`the service ended by itself:\n${service.log()}`);
  }
  await settled;
  return answered;
}

/** Compares the restarted service with what was told, and counts QEMUs per domain. */
async function checkRound(
  service: ServiceProcess,
  dirs: ServiceDirs,
  definitions: DomainDefinition[],
  told: Map<string, StateText>,
  inFlight: { name: string; command: string; answered: boolean },
  report: KillReport,
  counted: Set<string>,
): Promise<string> {
  const qemus = liveQemus(dirs.runtimeDir);
  const seen: string[] = [];
  for (const definition of definitions) {
    const view = await service.client.state(definition.name);
    const now = `${view.stateName} (${view.reasonName})`;
    const last = told.get(definition.name)!;
    const allowed = inFlight.name === definition.name && !inFlight.answered
      ? outcomes(inFlight.command, last)
      : [last];
    if (!allowed.includes(now)) {
      report.mismatches++;
      report.problems.push(
        `${definition.name}: recovered '${now}', told '${last}' with ${
          inFlight.name === definition.name ? inFlight.command : "nothing"
        } in flight`,
      );
    }
    const pids = qemus.get(definition.uuid!.toLowerCase()) ?? [];
    const active = !now.startsWith("shut off");
    // A QEMU that stays orphaned (or doubled) is counted once, not in every later round.
    if (pids.length > 1) {
      const key = `${definition.uuid} ${pids.join(",")}`;
      if (!counted.has(key)) {
        counted.add(key);
        report.doubles++;
        report.problems.push(`${definition.name}: ${pids.length} QEMUs (${pids.join(", ")})`);
      }
    } else if (!active && pids.length === 1) {
      if (!counted.has(`orphan ${pids[0]}`)) {
        counted.add(`orphan ${pids[0]}`);
        report.orphans++;
        report.problems.push(`${definition.name}: '${now}' but QEMU ${pids[0]} lives`);
      }
    } else if (active && pids.length === 0) {
      report.mismatches++;
      report.problems.push(`${definition.name}: '${now}' but no QEMU lives`);
    }
    // What the restarted service shows is what the next round starts from.
    told.set(definition.name, now);
    seen.push(`${definition.name}=${now}`);
  }
  return seen.join(", ");
}

/** Live (not zombie) QEMU processes started under `runtimeDir`, by the `-uuid` they run. */
function liveQemus(runtimeDir: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const args = commandLine(pid);
    if (args === undefined || !args.some((arg) => arg.includes(runtimeDir))) continue;
    const uuidIndex = args.indexOf("-uuid");
    if (uuidIndex === -1 || !args[0].includes("qemu")) continue;
    const stat = readProcessStat(pid);
    if (stat === undefined || stat.state === "Z" || stat.state === "X") continue;
    const uuid = args[uuidIndex + 1].toLowerCase();
    found.set(uuid, [...(found.get(uuid) ?? []), pid]);
  }
  return found;
}

function commandLine(pid: number): string[] | undefined {
  try {
    const bytes = Deno.readFileSync(`/proc/${pid}/cmdline`).subarray(0, CMDLINE_MAX_BYTES);
    return new TextDecoder().decode(bytes).split("\0");
  } catch {
    return undefined; // Gone, or not ours to read.
  }
}

/** Ends every QEMU of this run, by pid. */
async function killQemus(dirs: ServiceDirs): Promise<void> {
  for (const pids of liveQemus(dirs.runtimeDir).values()) {
    for (const pid of pids) {
      const startTimeTicks = readProcessStat(pid)?.startTimeTicks;
      if (startTimeTicks === undefined) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // It exited in between.
      }
      await waitForExit(pid, { startTimeTicks, timeoutMs: CLEANUP_EXIT_TIMEOUT_MS });
    }
  }
}

function count(text: string, phrase: string): number {
  return text.split(phrase).length - 1;
}
