/**
 * The real service is SIGKILLed at random instants of start, destroy, suspend and define on real
 * QEMU guests, and restarted each time on the same directories: every domain shows what its
 * callers were told (or an outcome of the command in flight, with the right reason), no QEMU
 * lives for a domain recorded shut off, and never two for one domain.
 *
 * `EVIRT_SERVICE_KILL_ROUNDS` sets the number of kills (default {@linkcode ROUNDS_DEFAULT});
 * `EVIRT_SERVICE_KILL_SEED` repeats a run. `bench/chaos.ts` runs the same rounds by the hundred.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parsePositiveInteger } from "../../src/config/config.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { runKillRounds } from "./_service_kill.ts";

/** Kills in CI: each costs a service restart (~1–2 s here). */
const ROUNDS_DEFAULT = 8;

testIf(
  "service SIGKILLed mid-command recovers what was acknowledged, with no orphan and no second QEMU",
  guestSkipReason() ?? missing("qemu-system-x86_64", "flock"),
  async () => {
    const rounds = parsePositiveInteger(
      Deno.env.toObject(),
      "EVIRT_SERVICE_KILL_ROUNDS",
      ROUNDS_DEFAULT,
    );
    const seed = Number(Deno.env.get("EVIRT_SERVICE_KILL_SEED") ?? Date.now() % 1_000_000);
    console.log(`service kill test: ${rounds} kills, EVIRT_SERVICE_KILL_SEED=${seed}`);
    const report = await runKillRounds({ rounds, seed });
    console.log(
      `service kill test: ${report.acknowledged} of ${report.kills} commands answered before the kill`,
    );
    assert.deepEqual(report.problems, []);
    assert.deepEqual([report.mismatches, report.orphans, report.doubles], [0, 0, 0]);
  },
);
