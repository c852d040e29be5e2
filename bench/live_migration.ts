/**
 * Live migration of the test guest with 256 MiB of RAM (counting on its console five times a
 * second: `evirt.count=1`), evirt beside the floor measured in the same run:
 *
 * - evirt: two real services of one fleet on a NATS server this script starts, the guest moved
 *   back and forth with `POST /v1/domains/:ref/migrate?live=true` (intents on both sides, the
 *   destination launched listening, QMP `migrate` over loopback TCP, the lease's commit, the
 *   source ended): the wall time of the request, and QEMU's own total time and downtime;
 * - bare QEMU: the same guest under QEMUs this script starts (no sandbox), moved back and forth
 *   with QMP alone (`-incoming defer`, `migrate-incoming`, `migrate`, `cont`): the same figures.
 *
 * libvirtd 9.0 is not beside them: a migration needs two libvirtd instances, and the one this
 * machine runs (qemu:///system) refuses a migration to itself; a second one is not set up here.
 *
 * Both use libvirt's settings: no bandwidth limit, QEMU's default downtime limit (300 ms).
 * Usage: `deno run -A bench/live_migration.ts`; `EVIRT_BENCH_ITERATIONS` (default 3) moves each.
 * Every QEMU and service started is killed by pid before the script ends. Needs the test guest
 * (`tests/fixtures/build_guest.sh`), `qemu-system-x86_64` and `nats-server`.
 *
 * Two runs here (2 cores shared with other work, TCG, median of 3 moves each): evirt wall
 * 2933 / 1660 ms, QEMU total 1657 / 1019 ms, downtime 40 / 18 ms; bare QEMU wall 2018 / 624 ms,
 * QEMU total 1081 / 135 ms, downtime 13 / 22 ms. Single runs on this machine are noisy. The
 * walls include the destination QEMU's launch; evirt's also the intents, the lease's commit and
 * the source's end.
 *
 * @module
 */

import { median } from "./_figures.ts";
import {
  benchGuestDefinition,
  GUEST_MIB,
  killPid,
  startBareQemu,
  withBenchGuest,
} from "./_bench_guest.ts";
import { formatDomainXml } from "../src/xml/mod.ts";
import { UNLIMITED_BANDWIDTH_MIB } from "../actors/driver_protocol.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  waitForSerialMarker,
} from "../tests/support/guest.ts";
import { withFleet } from "../tests/support/fleet_services.ts";

/** Bound on any one wait, in milliseconds. */
const WAIT_TIMEOUT_MS = 120_000;
/** Bound on the wait for a killed QEMU to be gone, in milliseconds. */
const KILL_WAIT_MS = 5_000;

/** One move's figures, in ms. */
interface Move {
  wallMs: number;
  totalMs: number;
  downtimeMs: number;
}

function summary(moves: Move[]): string {
  const pick = (key: keyof Move) => median(moves.map((move) => move[key])).toFixed(0);
  return `wall ${pick("wallMs")} ms, QEMU total ${pick("totalMs")} ms, downtime ${
    pick("downtimeMs")
  } ms (median of ${moves.length})`;
}

/** evirt: two services of one fleet, the guest moved between them `rounds` times. */
async function evirtRounds(dir: string, rounds: number): Promise<Move[]> {
  const moves: Move[] = [];
  const serial = `${dir}/evirt-serial.log`;
  const definition = benchGuestDefinition("bench-mover", serial, { counting: true, append: true });
  try {
    await withFleet(["east", "west"], async ([east, west]) => {
      await east.client.define({ xml: formatDomainXml(definition) });
      await east.client.action("bench-mover", "start");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const hosts = [east, west];
      for (let round = 0; round < rounds; round++) {
        const from = hosts[round % 2];
        const to = round % 2 === 0 ? "west" : "east";
        const started = performance.now();
        const moved = await from.client.migrateLive("bench-mover", to);
        moves.push({
          wallMs: performance.now() - started,
          totalMs: moved.totalTimeMs ?? 0,
          downtimeMs: moved.downtimeMs ?? 0,
        });
      }
      await hosts[rounds % 2].client.action("bench-mover", "destroy");
    });
  } finally {
    for (const pid of qemuPidsNaming(definition.uuid!)) await killPid(pid, KILL_WAIT_MS);
  }
  return moves;
}

function qemuPidsNaming(text: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const line = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (line.includes("qemu-system") && line.includes(text)) pids.push(Number(entry.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** A bare QEMU of the counting guest, its console appended to the file all of them share. */
function bareQemu(dir: string, name: string, incoming: boolean) {
  return startBareQemu(dir, name, `${dir}/bare-serial.log`, {
    counting: true,
    append: true,
    ...(incoming ? { incoming: "defer" } : {}),
  });
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Bare QEMU: the guest moved between two QEMUs by QMP alone, `rounds` times. */
async function bareRounds(dir: string, rounds: number): Promise<Move[]> {
  const moves: Move[] = [];
  const pids: number[] = [];
  let source = await bareQemu(dir, "bare-0", false);
  pids.push(source.pid);
  try {
    await waitForSerialMarker(`${dir}/bare-serial.log`, GUEST_READY_MARKER, {
      timeoutMs: GUEST_BOOT_TIMEOUT_MS,
    });
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      const target = await bareQemu(dir, `bare-${round + 1}`, true);
      pids.push(target.pid);
      const port = freePort();
      await target.monitor.execute("migrate-incoming", { uri: `tcp:127.0.0.1:${port}` });
      await source.monitor.execute("migrate-set-parameters", {
        "max-bandwidth": UNLIMITED_BANDWIDTH_MIB * 1024 * 1024,
      });
      await source.monitor.execute("migrate", { uri: `tcp:127.0.0.1:${port}` });
      let figures: { "total-time"?: number; downtime?: number } = {};
      const deadline = Date.now() + WAIT_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const reply = await source.monitor.execute<
          { status?: string; "total-time"?: number; downtime?: number }
        >("query-migrate", undefined, { timeoutMs: 10_000 });
        if (reply.status === "completed") {
          figures = reply;
          break;
        }
        if (reply.status === "failed") throw new Error("bare migration failed");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The destination has the whole state once its run state leaves `inmigrate`.
      while (Date.now() < deadline) {
        const status = await target.monitor.execute<{ status: string }>("query-status");
        if (status.status !== "inmigrate") break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await target.monitor.execute("cont");
      moves.push({
        wallMs: performance.now() - started,
        totalMs: figures["total-time"] ?? 0,
        downtimeMs: figures.downtime ?? 0,
      });
      await source.monitor.close();
      await killPid(source.pid, KILL_WAIT_MS);
      source = target;
    }
  } finally {
    await source.monitor.close().catch(() => {});
    for (const pid of pids) await killPid(pid, KILL_WAIT_MS);
  }
  return moves;
}

function main(): Promise<void> {
  return withBenchGuest("evirt-bench-migration-", async (dir, rounds) => {
    const evirt = await evirtRounds(dir, rounds);
    const bare = await bareRounds(dir, rounds);
    console.log(`live migration of a ${GUEST_MIB} MiB guest (loopback TCP, TCG):`);
    console.log(`  evirt (two fleet services): ${summary(evirt)}`);
    console.log(`  bare QEMU over QMP:         ${summary(bare)}`);
    console.log("  libvirtd 9.0: not measured (needs two libvirtd instances; one runs here)");
  });
}

if (import.meta.main) await main();
