/**
 * A full disk under the event log with a real QEMU guest: the state directory is a small tmpfs
 * the test fills. `destroy` kills QEMU and the domain shows shut off (destroyed) with its fact
 * pending; `suspend` stops the CPUs and shows paused (user); `start` leaves a launched QEMU with
 * its CPUs stopped, ended once the launch is written. After freeing space the facts are appended
 * by themselves, and a restart on the same state directory finds the right state and reason.
 * Every QEMU started is killed by pid in `finally`, and every mount removed.
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { isProcessGone, readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { openSqliteStore } from "../../src/log/sqlite_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { rejection } from "../support/rejection.ts";
import { type SmallTmpfs, TMPFS_SKIP_REASON, withSmallTmpfs } from "../support/small_tmpfs.ts";
import { guestDefinition, killAll } from "./_qemu_guest.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

/** Size of the state directory's file system, in KiB. */
const STATE_FS_KIB = 4096;

/** How long held facts may take to be written once space is freed, in ms. */
const WRITTEN_TIMEOUT_MS = 15_000;

/** How long a killed QEMU may take to be gone, in ms. */
const EXIT_TIMEOUT_MS = 10_000;

const skip = TMPFS_SKIP_REASON ?? guestSkipReason() ?? missing("qemu-system-x86_64");

interface Rig {
  host: Host;
  store: EventStore;
  close(): Promise<void>;
}

interface Dirs {
  state: string;
  run: string;
  log: string;
  serial: string;
}

async function openRig(dirs: Dirs): Promise<Rig> {
  const store = await openSqliteStore(dirs.state);
  try {
    const driver = await QemuDriver.create({
      runtimeDir: dirs.run,
      logDir: dirs.log,
      log: () => {},
    });
    const host = await Host.open({ store, drivers: [driver], log: () => {} });
    return {
      host,
      store,
      async close() {
        try {
          await host.close();
        } finally {
          await store.close();
        }
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Runs `fn` with a tmpfs state directory and normal runtime folders; kills every QEMU seen. */
async function withQemuOnFullableDisk(
  fn: (tmpfs: SmallTmpfs, dirs: Dirs, seen: (host: Host, name: string) => number) => Promise<void>,
): Promise<void> {
  const dir = searchableTempDirSync("evirt-full-disk-qemu-");
  const started = new Set<{ pid: number; startTimeTicks: number }>();
  const seen = (host: Host, name: string) => {
    const pid = host.context(name).runtime?.pid;
    if (typeof pid !== "number") throw new Error(`${name} has no pid`);
    const stat = readProcessStat(pid);
    if (stat !== undefined) started.add({ pid, startTimeTicks: stat.startTimeTicks });
    return pid;
  };
  try {
    await withSmallTmpfs(STATE_FS_KIB, (tmpfs) =>
      fn(tmpfs, {
        state: `${tmpfs.dir}/state`,
        run: `${dir}/run`,
        log: `${dir}/log`,
        serial: `${dir}/serial.log`,
      }, seen));
  } finally {
    await killAll(started);
    await Deno.remove(dir, { recursive: true });
  }
}

/** Pids of live QEMU processes started with `-uuid uuid` (read from /proc). */
function qemuProcessesOf(uuid: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
    } catch {
      continue;
    }
    const at = argv.indexOf("-uuid");
    if (at >= 0 && argv[at + 1] === uuid && !isProcessGone(Number(entry.name))) {
      pids.push(Number(entry.name));
    }
  }
  return pids;
}

function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}

async function untilWritten(host: Host, name: string): Promise<void> {
  await host.waitFor(
    host.lookup(name).uuid,
    (summary) => summary.pendingFacts === null,
    WRITTEN_TIMEOUT_MS,
  );
  await host.idle();
}

testIf(
  "real QEMU, full state directory: destroy cannot record its intent, so QEMU runs on and the domain stays running; after freeing space destroy ends it, also across a restart",
  skip,
  () =>
    withQemuOnFullableDisk(async (tmpfs, dirs, seen) => {
      let rig = await openRig(dirs);
      let pid: number;
      try {
        await rig.host.define(guestDefinition("full", { serial: { file: dirs.serial } }));
        await rig.host.start("full");
        pid = seen(rig.host, "full");
        await tmpfs.fill();
        const error = await rejection(rig.host.destroy("full"));
        assert.ok(isVirtError(error));
        assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
        assert.match(error.message, /^cannot write the event log: no space left on device/);
        // Intent before action: nothing was done, and the record says so.
        assert.ok(!isProcessGone(pid), "QEMU runs on");
        assert.equal(stateText(rig.host, "full"), "running (booted)");
        assert.equal(rig.host.lookup("full").pendingFacts, null);
        await tmpfs.free();
        await rig.host.destroy("full");
        assert.ok(await waitForExit(pid, { timeoutMs: EXIT_TIMEOUT_MS }), "QEMU is gone");
        assert.equal(stateText(rig.host, "full"), "shut off (destroyed)");
      } finally {
        await rig.close();
      }
      rig = await openRig(dirs);
      try {
        assert.equal(stateText(rig.host, "full"), "shut off (destroyed)");
        assert.ok(isProcessGone(pid));
      } finally {
        await rig.close();
      }
    }),
);

testIf(
  "real QEMU, full state directory: suspend stops the CPUs and shows paused (user) pending; after freeing space and a restart QEMU runs on, paused (user)",
  skip,
  () =>
    withQemuOnFullableDisk(async (tmpfs, dirs, seen) => {
      let rig = await openRig(dirs);
      let pid: number;
      try {
        await rig.host.define(guestDefinition("full", { serial: { file: dirs.serial } }));
        await rig.host.start("full");
        pid = seen(rig.host, "full");
        await tmpfs.fill();
        const error = await rejection(rig.host.suspend("full"));
        assert.equal(
          error.message,
          "cannot write the event log: no space left on device; the domain was suspended and the fact is pending",
        );
        assert.equal(stateText(rig.host, "full"), "paused (user)");
        await tmpfs.free();
        await untilWritten(rig.host, "full");
        assert.equal(stateText(rig.host, "full"), "paused (user)");
      } finally {
        await rig.close();
      }
      // Reconcile at start-up asks QEMU itself: a QEMU whose CPUs ran would be recorded resumed.
      rig = await openRig(dirs);
      try {
        assert.equal(stateText(rig.host, "full"), "paused (user)");
        assert.equal(rig.host.context("full").runtime?.pid, pid);
        assert.ok(!isProcessGone(pid));
        await rig.host.destroy("full");
      } finally {
        await rig.close();
      }
    }),
);

testIf(
  "real QEMU, full state directory: start cannot record its intent, so it answers code 38 and spawns no QEMU; after freeing space it starts",
  skip,
  () =>
    withQemuOnFullableDisk(async (tmpfs, dirs) => {
      const rig = await openRig(dirs);
      const definition = guestDefinition("full", { serial: { file: dirs.serial } });
      try {
        await rig.host.define(definition);
        const head = rig.store.headPosition();
        await tmpfs.fill();
        const error = await rejection(rig.host.start("full"));
        assert.match(error.message, /^cannot write the event log: no space left on device/);
        assert.equal(stateText(rig.host, "full"), "shut off (unknown)");
        assert.equal(rig.host.context("full").runtime, null, "no instance is recorded");
        assert.deepEqual(qemuProcessesOf(rig.host.lookup("full").uuid), [], "no QEMU was spawned");
        assert.equal(rig.store.headPosition(), head, "nothing was appended");
        await tmpfs.free();
        await rig.host.start("full");
        const facts = await rig.store.readAll({ afterPosition: head });
        assert.deepEqual(facts.map((fact) => fact.type), [
          "domain.launching",
          "domain.launched",
          "domain.started",
        ]);
        await rig.host.destroy("full");
      } finally {
        await rig.close();
        // Only if the test failed: the QEMU this test launched, found by its unique uuid.
        for (const pid of qemuProcessesOf(definition.uuid!)) Deno.kill(pid, "SIGKILL");
      }
    }),
);
