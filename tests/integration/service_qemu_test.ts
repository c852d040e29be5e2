/**
 * A real guest under the real service: started through the API, the service SIGKILLed while the
 * guest runs, restarted on the same directories — the same QEMU process is still running,
 * reconnected, with its state, reason and id unchanged — then destroyed. No QEMU is left behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { killQemus, QEMU_EXIT_TIMEOUT_MS, serviceQemuPids } from "../support/service_qemus.ts";
import { guestDefinition } from "./_qemu_guest.ts";

testIf(
  "service restart after SIGKILL keeps a running QEMU guest, reconnected, state and id unchanged",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const dirs = await serviceDirs();
    const serialPath = `${dirs.stateDir}/../serial.log`;
    let service: ServiceProcess | undefined = await startServiceProcess(dirs);
    let pid: number | undefined;
    try {
      const definition = guestDefinition("guest", { serial: { file: serialPath } });
      await service.client.define({ definition });
      await service.client.action("guest", "start");
      await waitForSerialMarker(serialPath, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      const before = await service.client.info("guest");
      const runtime = await service.client.definition("guest");
      assert.equal(before.stateName, "running");
      assert.equal(before.reasonName, "booted");
      pid = pidOf(dirs.runtimeDir);
      const startTime = readProcessStat(pid)?.startTimeTicks;

      await service.stop("SIGKILL");
      service = undefined;
      // The guest does not notice: its QEMU keeps running without the service.
      assert.equal(readProcessStat(pid)?.startTimeTicks, startTime);
      assert.notEqual(readProcessStat(pid)?.state, "Z");

      service = await startServiceProcess(dirs);
      const after = await service.client.info("guest");
      assert.equal(after.stateName, "running");
      assert.equal(after.reasonName, "booted");
      assert.equal(after.id, before.id);
      assert.equal(readProcessStat(pid)?.startTimeTicks, startTime);
      assert.deepEqual((await service.client.definition("guest")).definition, runtime.definition);
      // Reconnected: commands reach the same QEMU.
      await service.client.action("guest", "suspend");
      assert.equal((await service.client.state("guest")).reasonName, "user");
      await service.client.action("guest", "resume");
      await service.client.action("guest", "destroy");
      assert.equal((await service.client.state("guest")).reasonName, "destroyed");
      assert.ok(await waitForExit(pid, { timeoutMs: QEMU_EXIT_TIMEOUT_MS }), "QEMU still running");
      pid = undefined;
    } finally {
      if (pid !== undefined) await killQemus([pid]);
      await service?.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/** The pid of the one QEMU the service started, from its pid file under the runtime folder. */
function pidOf(runtimeDir: string): number {
  const [pid] = serviceQemuPids(runtimeDir);
  if (pid === undefined) throw new Error("no QEMU pid file");
  return pid;
}
