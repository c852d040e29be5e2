/**
 * Restart safety of storage pools: the service is SIGKILLed while it zero-fills a new volume;
 * after the restart the log, the pool's directory and what virsh lists agree — the half-written
 * file is gone and no volume is counted that was not completed — and a file made behind the
 * service's back while it was down appears after the restart.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** The volume is large enough that its zero-fill is still running when the kill lands. */
const VOLUME_BYTES = 512 * 1024 * 1024;
const KILL_POLL_MS = 2;
const KILL_WAIT_MS = 20_000;

testIf(
  "a volume create cut by SIGKILL leaves no half volume after the restart",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const poolDir = `${base}/images`;
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = async (...args: string[]) => {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    let service: ServiceProcess | undefined = await startServiceProcess(dirs);
    try {
      await Deno.writeTextFile(
        `${base}/pool.xml`,
        `<pool type='dir'><name>p</name><target><path>${poolDir}</path></target></pool>`,
      );
      await virsh("pool-define", `${base}/pool.xml`);
      await virsh("pool-start", "p", "--build");
      // Allocation = capacity: the whole file is zero-filled, which takes a while.
      const creating = runVirsh(uri, ["vol-create-as", "p", "big", String(VOLUME_BYTES)]);
      const deadline = Date.now() + KILL_WAIT_MS;
      let killedMidway = false;
      while (Date.now() < deadline) {
        const stat = await Deno.stat(`${poolDir}/big`).catch(() => undefined);
        const allocated = (stat?.blocks ?? 0) * 512;
        if (allocated > 0 && allocated < VOLUME_BYTES) {
          await service.stop("SIGKILL");
          killedMidway = true;
          break;
        }
        if (allocated >= VOLUME_BYTES) break;
        await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
      }
      const created = await creating;
      if (!killedMidway) await service.stop("SIGKILL");
      service = undefined;
      await Deno.writeFile(`${poolDir}/made-while-down.img`, new Uint8Array(4096));

      service = await startServiceProcess(dirs);
      const listed = await virsh("vol-list", "p");
      const names = listed.split("\n").slice(2).map((line) => line.trim().split(/\s+/)[0])
        .filter((name) => name !== "");
      const onDisk = [...Deno.readDirSync(poolDir)].map((entry) => entry.name).sort();
      assert.deepEqual(names, onDisk, "virsh lists exactly what is in the directory");
      assert.ok(names.includes("made-while-down.img"));
      if (killedMidway) {
        assert.notEqual(created.code, 0, "the interrupted create did not report success");
        assert.ok(!names.includes("big"), "no half-written volume");
      } else {
        // The create finished before the kill could land: then it is complete and listed.
        assert.equal((await Deno.stat(`${poolDir}/big`)).blocks! * 512, VOLUME_BYTES);
      }
      console.log(`killed midway: ${killedMidway}`);
    } finally {
      await service?.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
