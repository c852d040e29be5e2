/**
 * A save cut short by a crash, on real QEMU: the service recorded the save intent and paused
 * the guest, then died. After the restart the log explains the domain either way, and never
 * records a save whose image is incomplete:
 *
 * - the image is partial (its magic still `LibvirtQemudPart`): it is removed and the guest runs
 *   again, running (save canceled);
 * - the image is complete: the save is finished, the QEMU ended, shut off (saved).
 *
 * A real SIGKILL of the service in the middle of a save follows (the same outcomes, whichever
 * instant the kill hits). Every QEMU started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import type { Host } from "../../actors/host.ts";
import { isProcessGone } from "../../src/host/process_state.ts";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { encodeSaveHeader, readSaveHeader } from "../../src/storage/save_image.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { guestDefinition, killAll, processOf } from "./_qemu_guest.ts";
import { appendAsDeadService, openHost, stateText } from "./_crash_host.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "flock");

testIf(
  "a save cut short by a crash: a partial image is removed and the guest runs again; a complete one is recorded saved",
  skip,
  async () => {
    const dir = searchableTempDirSync("evirt-save-crash-");
    const store = createMemoryStore();
    const started: { pid: number; startTimeTicks: number }[] = [];
    let host: Host | undefined = await openHost(dir, store);
    try {
      const names = ["partial", "complete"];
      for (const name of names) {
        await host.define(guestDefinition(name, { serial: { file: `${dir}/${name}.log` } }));
        await host.start(name);
        started.push(processOf(host.context(name).runtime!));
      }
      const uuids = names.map((name) => host!.lookup(name).uuid);
      const sockets = names.map((name) => host!.context(name).runtime!.monitorSocket as string);
      await host.close();
      host = undefined;
      for (const [index, name] of names.entries()) {
        const path = `${dir}/${name}.save`;
        await appendAsDeadService(store, uuids[index], [
          { type: "domain.saving", body: { path, wasRunning: true, managed: false } },
          { type: "domain.suspended", body: { detail: "paused", reason: "save" } },
        ]);
        const monitor = await QmpMonitor.connect(sockets[index]);
        try {
          await new QmpCommands(monitor).stop();
        } finally {
          await monitor.close();
        }
        const header = encodeSaveHeader(
          { xml: "<domain/>", wasRunning: true },
          name === "complete",
        );
        Deno.writeFileSync(path, new Uint8Array([...header, 1, 2, 3]));
      }

      host = await openHost(dir, store);
      assert.equal(stateText(host, "partial"), "running (save canceled)");
      assert.throws(() => Deno.statSync(`${dir}/partial.save`), Deno.errors.NotFound);
      assert.equal(isProcessGone(started[0].pid, started[0].startTimeTicks), false);
      assert.equal(stateText(host, "complete"), "shut off (saved)");
      assert.equal((await readSaveHeader(`${dir}/complete.save`)).complete, true);
      assert.equal(isProcessGone(started[1].pid, started[1].startTimeTicks), true);
      // Both intents are settled: a second restart changes nothing.
      await host.close();
      host = await openHost(dir, store);
      assert.equal(stateText(host, "partial"), "running (save canceled)");
      assert.equal(stateText(host, "complete"), "shut off (saved)");
    } finally {
      await host?.close();
      await killAll(started);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf(
  "SIGKILL of the service during a save: after the restart the image is complete and recorded, or gone and the guest runs",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const image = `${base}/guest.save`;
    let service = await startServiceProcess(dirs);
    try {
      const serial = `${base}/serial.log`;
      const definition = guestDefinition("killed", { serial: { file: serial } });
      await service.client.define({ definition });
      await service.client.action("killed", "start");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const path = `/v1/domains/killed/save?file=${encodeURIComponent(image)}`;
      const save = service.client.request("POST", path).catch(() => undefined);
      // Kill while the stream is being written: the image exists, still partial.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const size = (() => {
          try {
            return Deno.statSync(image).size;
          } catch {
            return 0;
          }
        })();
        if (size > 100_000) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await service.stop("SIGKILL");
      await save;
      service = await startServiceProcess(dirs);
      const state = await service.client.state("killed");
      const complete = await readSaveHeader(image).then((header) => header.complete, () => false);
      if (complete) {
        assert.deepEqual([state.state, state.reason], [5, 5], "shut off (saved)");
      } else {
        assert.throws(() => Deno.statSync(image), Deno.errors.NotFound, "partial image removed");
        assert.equal(state.state, 1, "running again");
        assert.equal(state.reason, 7, "running (save canceled)");
      }
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM").catch(() => {});
      await removeServiceDirs(dirs);
    }
  },
);
