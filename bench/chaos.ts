/**
 * Chaos runner: the kill rounds of `tests/integration/service_kill_test.ts` by the hundred. The
 * real service is SIGKILLed at random instants of start, destroy, suspend and define on real
 * QEMU guests and restarted each time; the counts say what recovery got wrong:
 *
 * - acknowledged-vs-recovered mismatches (a state or reason neither told nor an outcome of the
 *   command in flight, or an active record without a QEMU);
 * - orphan QEMUs (alive while the log says shut off);
 * - double instances (two QEMUs for one domain).
 *
 * Goal: 0, 0, 0 over 200 kills. Each kill costs a service restart, so 200 take several minutes.
 *
 * Usage: `deno run -A bench/chaos.ts`; `EVIRT_CHAOS_KILLS` (default 200), `EVIRT_CHAOS_SEED`.
 * Needs QEMU, `flock` and the test guest (`tests/fixtures/build_guest.sh`).
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import { runKillRounds } from "../tests/integration/_service_kill.ts";
import { missing } from "../tests/support/environment.ts";
import { guestSkipReason } from "../tests/support/guest.ts";

/** Kills unless `EVIRT_CHAOS_KILLS` says otherwise: the goal is stated over 200. */
const KILLS_DEFAULT = 200;

async function main(): Promise<void> {
  const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "flock");
  if (skip !== undefined) {
    console.log(`chaos: not run here (${skip})`);
    return;
  }
  const kills = parsePositiveInteger(Deno.env.toObject(), "EVIRT_CHAOS_KILLS", KILLS_DEFAULT);
  const seed = Number(Deno.env.get("EVIRT_CHAOS_SEED") ?? Date.now() % 1_000_000);
  const startedMs = performance.now();
  const report = await runKillRounds({
    rounds: kills,
    seed,
    log: Deno.env.get("EVIRT_CHAOS_VERBOSE") === "1" ? (line) => console.log(line) : undefined,
  });
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(
    [
      `chaos: ${report.kills} SIGKILLs of the service (EVIRT_CHAOS_SEED=${seed}), ${report.acknowledged} commands answered before their kill, ${
        seconds.toFixed(0)
      } s`,
      `recoveries: ${report.adoptedStarts} QEMUs of interrupted starts adopted, ${report.finishedEnds} interrupted destroys finished`,
      `acknowledged-vs-recovered mismatches  ${report.mismatches}`,
      `orphan QEMUs                          ${report.orphans}`,
      `double instances                      ${report.doubles}`,
      `goal 0, 0, 0: ${
        report.mismatches + report.orphans + report.doubles === 0 ? "met" : "MISSED"
      }`,
      ...report.problems.slice(0, 20).map((problem) => `  ${problem}`),
    ].join("\n"),
  );
}

if (import.meta.main) await main();
