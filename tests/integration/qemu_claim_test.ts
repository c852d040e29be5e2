/**
 * One QEMU per domain on real QEMU: a second launch of a domain is refused while any QEMU of it
 * lives, even one no record knows; and a QEMU spawned by a start whose service died before
 * recording it is found from the launch intent, adopted and ended (its start was never
 * acknowledged), after which the domain starts normally with exactly one QEMU. Every QEMU
 * started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { claimPathFor, isClaimHeld } from "../../drivers/qemu/instance_claim.ts";
import { isProcessGone } from "../../src/host/process_state.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { domainStream } from "../../src/model/facts.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { guestDefinition, killAll, processOf } from "./_qemu_guest.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "flock");

async function driverIn(dir: string): Promise<QemuDriver> {
  return await QemuDriver.create({ runtimeDir: `${dir}/run`, logDir: `${dir}/log`, log: () => {} });
}

testIf(
  "QemuDriver refuses a second QEMU of a domain while one lives, recorded or not",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-claim-it-");
    const started: { pid: number; startTimeTicks: number }[] = [];
    const first = await driverIn(dir);
    const second = await driverIn(dir);
    try {
      const definition = guestDefinition("only", { serial: { file: `${dir}/serial.log` } });
      const request = { uuid: definition.uuid!, name: "only", id: 1, definition };
      const runtime = await first.launch(request, AbortSignal.timeout(30_000));
      started.push(processOf(runtime));
      // Another driver (as after a restart that lost the record) with another id and folder.
      const error = await second.launch({ ...request, id: 2 }, AbortSignal.timeout(30_000))
        .catch((caught) => caught);
      assert.ok(isVirtError(error, ErrorCode.OPERATION_FAILED), String(error));
      assert.match(error.message, /domain 'only' is already running/);
      assert.equal(isProcessGone(started[0].pid, started[0].startTimeTicks), false);
      await first.terminate(
        { uuid: request.uuid, name: "only", id: 1, definition, runtime },
        { graceful: false },
        AbortSignal.timeout(15_000),
      );
      assert.equal(await isClaimHeld(runtime.claimPath as string), false);
    } finally {
      await first.close();
      await second.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "Host recovery adopts a QEMU spawned before its start was recorded, and a retry starts one QEMU",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-claim-it-");
    const started: { pid: number; startTimeTicks: number }[] = [];
    const store = createMemoryStore();
    const crashed = await driverIn(dir);
    let host: Host | undefined;
    try {
      const definition = guestDefinition("adopted", { serial: { file: `${dir}/serial.log` } });
      const uuid = definition.uuid!;
      const request = { uuid, name: "adopted", id: 5, definition };
      // What a service that died right after spawning QEMU leaves: the intent, and a QEMU.
      await store.append(domainStream(uuid), [
        { type: "domain.defined", body: { definition, detail: "added" } as never },
        {
          type: "domain.launching",
          body: {
            id: 5,
            definition: null,
            persistent: true,
            runtime: crashed.plan(request),
          } as never,
        },
      ], 0);
      const orphan = await crashed.launch(request, AbortSignal.timeout(30_000));
      const identity = processOf(orphan);
      started.push(identity);
      await crashed.close();

      host = await Host.open({ store, drivers: [await driverIn(dir)], log: () => {} });
      const summary = host.lookup("adopted");
      assert.equal(
        `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`,
        "shut off (failed)",
      );
      assert.equal(isProcessGone(identity.pid, identity.startTimeTicks), true, "adopted and ended");
      const types = (await store.readAll({ afterPosition: 0 })).map((fact) => fact.type);
      assert.deepEqual(types.slice(1), [
        "domain.launching",
        "domain.launched",
        "domain.ending",
        "domain.stopped",
      ]);

      await host.start("adopted");
      const runtime = host.context("adopted").runtime!;
      started.push(processOf(runtime));
      assert.equal(host.lookup("adopted").id, 6, "the intent's id is never reused");
      assert.equal(await isClaimHeld(claimPathFor(`${dir}/run/qemu`, uuid)), true);
      await host.destroy("adopted");
    } finally {
      await host?.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
