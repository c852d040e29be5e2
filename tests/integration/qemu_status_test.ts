/**
 * `QemuDriver.status` on real QEMU: where a watched instance is, read over its own monitor
 * without disturbing it (what the host resyncs from when observations were refused). Every QEMU
 * started is killed by pid in `finally` (the rig's `close`).
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { guestDefinition, openQemuRig } from "./_qemu_guest.ts";

/** Bound on one status read, in milliseconds (TCG on a shared machine). */
const STATUS_TIMEOUT_MS = 10_000;

testIf(
  "QemuDriver.status reads a watched instance's run state without disturbing it",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      await rig.host.define(
        guestDefinition("status", { serial: { file: `${rig.dir}/serial.log` } }),
      );
      await rig.host.start("status");
      const status = async () => {
        const { handle } = rig.host.inspect("status");
        assert.ok(handle !== undefined, "the domain runs");
        return await rig.driver.status(handle, AbortSignal.timeout(STATUS_TIMEOUT_MS));
      };
      assert.deepEqual(await status(), { kind: "running" });
      await rig.host.suspend("status");
      assert.deepEqual(await status(), { kind: "paused", reason: "user" });
      // The monitor is still the driver's: commands and their observations carry on.
      await rig.host.resume("status");
      assert.equal(rig.stateText("status"), "running (unpaused)");
      assert.deepEqual(await status(), { kind: "running" });
      const { handle } = rig.host.inspect("status");
      await rig.host.destroy("status");
      assert.deepEqual(
        await rig.driver.status(handle!, AbortSignal.timeout(STATUS_TIMEOUT_MS)),
        { kind: "gone" },
      );
    } finally {
      await rig.close();
    }
  },
);
