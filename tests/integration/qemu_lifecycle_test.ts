/**
 * The QEMU driver on real QEMU with the test guest, through the host actor (reference §3):
 * start, suspend/resume, reboot (one REBOOT), reset (one REBOOT), graceful shutdown by ACPI,
 * destroy, a QEMU killed with SIGKILL, failed starts. Every QEMU started is killed by pid in
 * `finally`.
 */

import assert from "node:assert/strict";
import { claimPathFor, isClaimHeld } from "../../drivers/qemu/instance_claim.ts";
import { isProcessGone, readProcessStat } from "../../src/host/process_state.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { DomainState } from "../../src/model/lifecycle.ts";
import { loggedEvents } from "../support/domains.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_POWERDOWN_MARKER,
  GUEST_READY_MARKER,
  guestSkipReason,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, openQemuRig } from "./_qemu_guest.ts";

/** Bound on a state change the guest or QEMU brings about, in milliseconds. */
const STATE_TIMEOUT_MS = 15_000;

const skip = guestSkipReason() ?? missing("qemu-system-x86_64");

testIf(
  "QemuDriver runs the guest: start, suspend, resume, reboot and reset (one REBOOT each), ACPI shutdown",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const definition = guestDefinition("life", { serial: { file: serial } });
      await rig.host.define(definition);
      await rig.host.start("life");
      assert.equal(rig.stateText("life"), "running (booted)");
      const pid = rig.pid("life");
      const startTimeTicks = readProcessStat(pid)!.startTimeTicks;
      if (Deno.uid() === 0) {
        // Confined as libvirt's DAC driver confines it: never root.
        assert.notEqual(Deno.statSync(`/proc/${pid}`).uid, 0, "QEMU does not run as root");
      }
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      await rig.host.suspend("life");
      assert.equal(rig.stateText("life"), "paused (user)");
      await rig.host.resume("life");
      assert.equal(rig.stateText("life"), "running (unpaused)");
      await assert.rejects(
        () => rig.host.resume("life"),
        (error) =>
          isVirtError(error, ErrorCode.OPERATION_INVALID) &&
          error.message === "domain is already running",
        "libvirt's QEMU driver refuses to resume a running domain",
      );
      await rig.host.suspend("life");
      await rig.host.suspend("life");
      assert.equal(rig.stateText("life"), "paused (user)", "a second suspend changes nothing");
      await rig.host.resume("life");

      let before = (await loggedEvents(rig.store)).length;
      await rig.host.reboot("life");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        count: 2,
      });
      await rig.host.idle();
      assert.deepEqual((await loggedEvents(rig.store)).slice(before), ["reboot"]);
      assert.equal(rig.stateText("life"), "running (booted)", "libvirt's after a fake reboot");
      assert.match(readSerialLog(serial), new RegExp(GUEST_POWERDOWN_MARKER));

      before = (await loggedEvents(rig.store)).length;
      await rig.host.reset("life");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        count: 3,
      });
      await rig.host.idle();
      assert.deepEqual((await loggedEvents(rig.store)).slice(before), ["reboot"]);
      assert.equal(rig.pid("life"), pid, "reboot and reset keep the same QEMU");

      before = (await loggedEvents(rig.store)).length;
      await rig.host.shutdown("life");
      await rig.host.waitFor(
        rig.host.lookup("life").uuid,
        (summary) => summary.state === DomainState.SHUTOFF,
        STATE_TIMEOUT_MS,
      );
      assert.equal(rig.stateText("life"), "shut off (shutdown)");
      assert.deepEqual((await loggedEvents(rig.store)).slice(before), [
        "Shutdown Finished after guest request",
        "Stopped Shutdown",
      ]);
      assert.ok(isProcessGone(pid, startTimeTicks), "QEMU ended after the guest shut down");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver reports a QEMU killed with SIGKILL as shut off (crashed), STOPPED/failed",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      await rig.host.define(
        guestDefinition("victim", { serial: { file: `${rig.dir}/serial.log` } }),
      );
      await rig.host.start("victim");
      const before = (await loggedEvents(rig.store)).length;
      const killedAt = performance.now();
      Deno.kill(rig.pid("victim"), "SIGKILL");
      await rig.host.waitFor(
        rig.host.lookup("victim").uuid,
        (summary) => summary.state === DomainState.SHUTOFF,
        STATE_TIMEOUT_MS,
      );
      const detectedMs = performance.now() - killedAt;
      assert.equal(rig.stateText("victim"), "shut off (crashed)");
      assert.deepEqual((await loggedEvents(rig.store)).slice(before), ["Stopped Failed"]);
      console.log(`kill -9 → STOPPED/failed in ${detectedMs.toFixed(1)} ms`);
      assert.equal(rig.host.context("victim").runtime, null);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver destroys a domain and starts one paused: STOPPED/destroyed, STARTED then SUSPENDED",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      await rig.host.define(guestDefinition("doomed", { serial: "pty" }));
      await rig.host.start("doomed", { paused: true });
      assert.equal(rig.stateText("doomed"), "paused (user)");
      const runtime = rig.host.context("doomed").runtime!;
      assert.match(String(runtime.consolePty), /^\/dev\/pts\/[0-9]+$/);
      const pid = rig.pid("doomed");
      const startTimeTicks = readProcessStat(pid)!.startTimeTicks;
      await rig.host.destroy("doomed");
      assert.equal(rig.stateText("doomed"), "shut off (destroyed)");
      assert.ok(isProcessGone(pid, startTimeTicks));
      assert.deepEqual((await loggedEvents(rig.store)).slice(-3), [
        "Started Booted",
        "Suspended Paused",
        "Stopped Destroyed",
      ]);
      assert.throws(() => Deno.statSync(String(runtime.runtimeDir)), Deno.errors.NotFound);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver refuses a start QEMU cannot do with QEMU's own message and leaves nothing running",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const image = `${rig.dir}/not-qcow2.img`;
      Deno.writeFileSync(image, new Uint8Array(1024 * 1024));
      const definition = guestDefinition("broken", { serial: "pty" });
      definition.devices.disks.push({
        type: "file",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: image, hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      });
      await rig.host.define(definition);
      const error = await rig.host.start("broken").catch((caught) => caught);
      assert.ok(isVirtError(error, ErrorCode.INTERNAL_ERROR), String(error));
      assert.match(error.message, /Image is not in qcow2 format/);
      assert.equal(rig.stateText("broken"), "shut off (unknown)");
      const log = Deno.readTextFileSync(`${rig.dir}/log/broken.log`);
      assert.match(log, /starting up/);
      assert.match(log, /Image is not in qcow2 format/);
      // No runtime folder is left; only the domain's claim file, which no process holds.
      assert.deepEqual([...Deno.readDirSync(`${rig.dir}/run/qemu`)].map((entry) => entry.name), [
        "claims",
      ]);
      const claim = claimPathFor(`${rig.dir}/run/qemu`, definition.uuid!);
      assert.equal(await isClaimHeld(claim), false);

      definition.devices.disks[0].source = { file: `${rig.dir}/missing.img`, hosts: [] };
      await rig.host.define(definition);
      const missingError = await rig.host.start("broken").catch((caught) => caught);
      assert.ok(isVirtError(missingError, ErrorCode.SYSTEM_ERROR), String(missingError));
      assert.equal(missingError.where, "/domain/devices/disk[1]/source/@file");
      assert.match(missingError.message, /No such file or directory/);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver turns a reboot of a domain with on_reboot destroy into its end: SHUTDOWN then STOPPED",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      await rig.host.define(
        guestDefinition("once", { serial: { file: serial }, onReboot: "destroy" }),
      );
      await rig.host.start("once");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const before = (await loggedEvents(rig.store)).length;
      await rig.host.reboot("once");
      await rig.host.waitFor(
        rig.host.lookup("once").uuid,
        (summary) => summary.state === DomainState.SHUTOFF,
        STATE_TIMEOUT_MS,
      );
      assert.equal(rig.stateText("once"), "shut off (shutdown)");
      assert.deepEqual((await loggedEvents(rig.store)).slice(before), [
        "Shutdown Finished after guest request",
        "Stopped Shutdown",
      ]);
    } finally {
      await rig.close();
    }
  },
);
