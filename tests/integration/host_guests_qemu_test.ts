/**
 * The host's guests stopped and started as libvirt-guests does, on the real service with real
 * test guests that count on their serial consoles (`evirt.count=1`):
 *
 * - `on_shutdown = suspend`: `evirt host shutdown-guests` managed-saves every running guest;
 *   the service is stopped (SIGTERM) and started again with `on_boot = start` after a simulated
 *   boot: the autostart guest is restored by autostart and reported "already active", the
 *   other restored by the start of the host's guests, and both counts go on from where they
 *   were (one boot each).
 * - `on_shutdown = shutdown` with a guest that ignores ACPI: one after the other, the guest is
 *   reported after `shutdown_timeout` ("failed to complete in time", status 0) and left
 *   running; in parallel, "Timeout expired while shutting down domains" and status 1. A
 *   SIGTERM of the service in between touches no guest.
 * - SIGKILL of the service in the middle of a suspend pass (the first guest saved, the second's
 *   image being written): after the restart every listed guest is running or managed-saved,
 *   and `on_boot = start` restores the saved one and finds the other running (its partial image
 *   removed) or restores it too; their counts go on.
 *
 * Every QEMU is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_COUNT_SWITCH,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  readSerialLog,
  serialCounts,
  waitForSerialMarker,
} from "../support/guest.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import {
  removeServiceDirs,
  type ServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { guestDefinition } from "./_qemu_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64");

/** Bound on a guest reaching a state after a pass, in ms. */
const STATE_TIMEOUT_MS = 30_000;

/** A counting guest with an appended serial log (`serial`), ACPI unless `deaf`. */
function countingGuest(name: string, serial: string, deaf = false): DomainDefinition {
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.devices.serials[0].sources[0].append = "on";
  // With `acpi=off` the guest's kernel never sees the power button: system_powerdown is lost.
  definition.os.cmdline = `${guestKernelCmdline()} ${GUEST_COUNT_SWITCH}${deaf ? " acpi=off" : ""}`;
  return definition;
}

function count(text: string, marker: string): number {
  return text.split("\n").filter((line) => line.trim() === marker).length;
}

/** Waits until the guest printed a count above `above`; answers the counts. */
async function waitForCount(serial: string, above: number): Promise<number[]> {
  const deadline = Date.now() + GUEST_BOOT_TIMEOUT_MS;
  for (;;) {
    const counts = serialCounts(readSerialLog(serial));
    if (counts.length > 0 && counts[counts.length - 1] > above) return counts;
    if (Date.now() > deadline) {
      throw new Error(
        `no count above ${above}: ${JSON.stringify(readSerialLog(serial).slice(-300))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `name` shows `state (reason)`. */
async function waitForState(service: ServiceProcess, name: string, text: string): Promise<void> {
  const deadline = Date.now() + STATE_TIMEOUT_MS;
  let now = "";
  while (Date.now() < deadline) {
    const view = await service.client.state(name);
    now = `${view.stateName} (${view.reasonName})`;
    if (now === text) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} is '${now}', not '${text}', after ${STATE_TIMEOUT_MS} ms`);
}

/** Waits until the service's start of the host's guests is over. */
async function waitForStartPass(service: ServiceProcess): Promise<string[]> {
  const deadline = Date.now() + STATE_TIMEOUT_MS;
  for (;;) {
    const view = await service.client.guests({ waitSeconds: 1 });
    if (view.pass !== null && !view.pass.running) return view.pass.lines;
    if (Date.now() > deadline) {
      throw new Error(`the start pass still runs: ${JSON.stringify(view)}`);
    }
  }
}

/**
 * The counts go on across the save: after the last count before it, the next one (allowing
 * one line cut by the save), never 1 again.
 */
function assertContinues(counts: number[], lastBefore: number, name: string): void {
  const index = counts.lastIndexOf(lastBefore);
  assert.ok(index >= 0 && index + 1 < counts.length, `${name}: counts after ${lastBefore}`);
  const next = counts[index + 1];
  assert.ok(next === lastBefore + 1 || next === lastBefore + 2, `${name}: ${lastBefore} → ${next}`);
  for (let each = 1; each < counts.length; each++) {
    assert.ok(counts[each] > counts[each - 1], `${name}: the count never starts again`);
  }
}

/** Removes the boot marker: the next start autostarts, as after a host's boot. */
function simulateBoot(dirs: ServiceDirs): void {
  Deno.removeSync(`${dirs.runtimeDir}/autostarted`);
}

testIf(
  "on_shutdown = suspend, then on_boot = start: both guests restored, the counts go on, the autostart one not started twice",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    // BYPASS_CACHE=1: the saves and the restores of the start pass go past the page cache.
    const env = { EVIRT_ON_SHUTDOWN: "suspend", EVIRT_ON_BOOT: "start", EVIRT_BYPASS_CACHE: "1" };
    let service: ServiceProcess | undefined = await startServiceProcess(dirs, env);
    try {
      const names = ["plain", "auto"];
      const serials = names.map((name) => `${base}/${name}.serial`);
      for (const [index, name] of names.entries()) {
        await service.client.define({ definition: countingGuest(name, serials[index]) });
        await service.client.action(name, "start");
      }
      await service.client.setAutostart("auto", true);
      for (const serial of serials) await waitForCount(serial, 5);

      const run = await runEvirt(["host", "shutdown-guests"], service.env);
      assert.equal(run.code, 0, run.stderr);
      // A save longer than 5 s repeats its "..." line, as libvirt-guests does.
      const printed = run.stdout.trim().split("\n").filter((line, index, all) =>
        !line.endsWith(": ...") || all.indexOf(line) === index
      );
      assert.deepEqual(printed, [
        "Running guests on evirt:///system URI: plain, auto",
        "Suspending guests on evirt:///system URI...",
        "Suspending plain: ...",
        "Suspending plain: done",
        "Suspending auto: ...",
        "Suspending auto: done",
      ]);
      const lastBefore = serials.map((serial) => {
        const counts = serialCounts(readSerialLog(serial));
        return counts[counts.length - 1];
      });
      for (const name of names) await waitForState(service, name, "shut off (saved)");
      const listed = await service.client.guests();
      assert.deepEqual(
        listed.listed.map((guest) => [guest.name, guest.action, guest.managedSave]),
        [["plain", "suspend", true], ["auto", "suspend", true]],
      );

      const status = await runEvirt(["host", "guests"], service.env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^ plain +\S+ +suspend +managed save$/m);
      assert.match(status.stdout, /^ auto +\S+ +suspend +managed save$/m);

      await service.stop("SIGTERM");
      service = undefined;
      simulateBoot(dirs);
      service = await startServiceProcess(dirs, env);
      const lines = await waitForStartPass(service);
      assert.deepEqual(lines, [
        "Resuming guests on evirt:///system URI...",
        "Resuming guest plain: done",
        "Resuming guest auto: already active",
      ]);
      for (const name of names) await waitForState(service, name, "running (restored)");
      assert.deepEqual((await service.client.guests()).listed, []);
      for (const [index, serial] of serials.entries()) {
        const counts = await waitForCount(serial, lastBefore[index] + 3);
        assertContinues(counts, lastBefore[index], names[index]);
        assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1, "one boot");
      }
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service?.stop("SIGTERM").catch(() => {});
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "on_shutdown = shutdown with a guest that ignores ACPI: reported after shutdown_timeout and left running; in parallel the timeout fails the pass",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const env = { EVIRT_ON_SHUTDOWN: "shutdown", EVIRT_SHUTDOWN_TIMEOUT: "5" };
    let service: ServiceProcess | undefined = await startServiceProcess(dirs, env);
    try {
      const deafSerial = `${base}/deaf.serial`;
      const politeSerial = `${base}/polite.serial`;
      await service.client.define({ definition: countingGuest("deaf", deafSerial, true) });
      await service.client.define({ definition: countingGuest("polite", politeSerial) });
      await service.client.action("deaf", "start");
      await service.client.action("polite", "start");
      await waitForCount(deafSerial, 2);
      await waitForSerialMarker(politeSerial, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });

      const bad = await runEvirt(
        ["host", "shutdown-guests", "--on-shutdown", "hibernate"],
        service.env,
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /unknown on-shutdown 'hibernate': expected suspend or shutdown/);
      const refused = await service.client.request("POST", "/v1/host/guests/stop?on_shutdown=x")
        .then(() => "answered", (error) => String(error));
      assert.match(
        refused,
        /on_shutdown/,
        "the API refuses an unknown on_shutdown, nothing listed",
      );
      assert.deepEqual((await service.client.guests()).listed, []);

      const serial = await runEvirt(["host", "shutdown-guests"], service.env);
      // libvirt-guests' serial shutdown reports the timeout and keeps its status.
      assert.equal(serial.code, 0, serial.stderr);
      assert.deepEqual(serial.stdout.trim().split("\n"), [
        "Running guests on evirt:///system URI: deaf, polite",
        "Shutting down guests on evirt:///system URI...",
        "Starting shutdown on guest: deaf",
        "Waiting for guest deaf to shut down, 5 seconds left",
        "Shutdown of guest deaf failed to complete in time.",
        "Starting shutdown on guest: polite",
        "Shutdown of guest polite complete.",
      ]);
      const deafState = await service.client.state("deaf");
      assert.equal(deafState.stateName, "running", "nothing destroys it");
      await waitForState(service, "polite", "shut off (shutdown)");

      // A plain stop of the service touches no guest.
      await service.stop("SIGTERM");
      service = await startServiceProcess(dirs, {
        ...env,
        EVIRT_PARALLEL_SHUTDOWN: "2",
      });
      assert.equal((await service.client.state("deaf")).stateName, "running");
      // on_boot = ignore dropped the list at the start, as libvirt-guests' start.
      assert.deepEqual(await waitForStartPass(service), [
        "evirt is configured not to start any guests on boot",
      ]);
      assert.deepEqual((await service.client.guests()).listed, []);
      const before = serialCounts(readSerialLog(deafSerial)).length;

      const parallel = await runEvirt(["host", "shutdown-guests"], service.env);
      assert.equal(parallel.code, 1, "a parallel shutdown that timed out fails");
      assert.deepEqual(parallel.stdout.trim().split("\n"), [
        "Running guests on evirt:///system URI: deaf",
        "Shutting down guests on evirt:///system URI...",
        "Starting shutdown on guest: deaf",
        "Waiting for 1 guests to shut down, 5 seconds left",
        "Timeout expired while shutting down domains",
      ]);
      assert.equal((await service.client.state("deaf")).stateName, "running");
      assert.ok(serialCounts(readSerialLog(deafSerial)).length > before, "it still counts");
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service?.stop("SIGTERM").catch(() => {});
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "SIGKILL of the service during a suspend pass: every listed guest is running or saved, and on_boot = start restores the saved one",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const env = { EVIRT_ON_SHUTDOWN: "suspend", EVIRT_ON_BOOT: "start" };
    let service: ServiceProcess | undefined = await startServiceProcess(dirs, env);
    try {
      const names = ["first", "second"];
      const serials = names.map((name) => `${base}/${name}.serial`);
      for (const [index, name] of names.entries()) {
        await service.client.define({ definition: countingGuest(name, serials[index]) });
        await service.client.action(name, "start");
      }
      for (const serial of serials) await waitForCount(serial, 5);

      const recorded = await service.client.stopGuests();
      // Intent before action: the whole list is recorded when the stop answers.
      assert.deepEqual(recorded.listed.map((guest) => guest.name), names);
      // Killed once the first guest is saved, while the second's image is being written.
      const image = `${dirs.stateDir}/save/second.save`;
      // Bounded; a save takes seconds here, more on a busy machine.
      const deadline = Date.now() + 60_000;
      let firstSaved = false;
      while (Date.now() < deadline) {
        firstSaved ||= (await service.client.state("first")).reasonName === "saved";
        const size = (() => {
          try {
            return Deno.statSync(image).size;
          } catch {
            return 0;
          }
        })();
        if (firstSaved && size > 100_000) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(
        firstSaved,
        `the first guest was saved before the kill: ${
          JSON.stringify(await service.client.state("first"))
        } ${JSON.stringify((await service.client.guests()).pass)}`,
      );
      await service.stop("SIGKILL");
      service = undefined;

      service = await startServiceProcess(dirs, env);
      const lines = await waitForStartPass(service);
      assert.equal(lines[0], "Resuming guests on evirt:///system URI...");
      assert.deepEqual(lines.slice(1).map((line) => line.replace(/: .*$/, "")), [
        "Resuming guest first",
        "Resuming guest second",
      ]);
      // The saved one is restored; the one cut short was saved (restored) or runs on (its
      // partial image removed by the save's recovery).
      assert.equal(lines[1], "Resuming guest first: done");
      assert.match(lines[2], /^Resuming guest second: (done|already active)$/);
      await waitForState(service, "first", "running (restored)");
      for (const name of names) {
        const state = await service.client.state(name);
        assert.equal(state.stateName, "running", `${name} runs again`);
      }
      assert.deepEqual((await service.client.guests()).listed, []);
      for (const [index, serial] of serials.entries()) {
        const counts = await waitForCount(serial, serialCounts(readSerialLog(serial)).at(-1)! + 3);
        for (let each = 1; each < counts.length; each++) {
          assert.ok(counts[each] > counts[each - 1], `${names[index]}: the count goes on`);
        }
        assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1, "one boot");
      }
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service?.stop("SIGTERM").catch(() => {});
      await removeServiceDirs(dirs);
    }
  },
);
