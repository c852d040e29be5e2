/**
 * Restart safety of an `fs` pool: the service is SIGKILLed while it zero-fills a new volume on
 * the mounted loop device. The mount outlives the service; after the restart evirt finds it (the
 * pool is running, not remounted), the half-written file is gone, and virsh lists exactly what
 * is on the file system; `pool-destroy` then unmounts it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  attachLoopDevice,
  cleanUpStorage,
  type LoopDevice,
  loopDeviceSkip,
} from "../support/loop_devices.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const DEVICE_BYTES = 768 * 1024 * 1024;
/** Large enough that its zero-fill is still running when the kill lands. */
const VOLUME_BYTES = 512 * 1024 * 1024;
const KILL_POLL_MS = 2;
const KILL_WAIT_MS = 20_000;

function mountCount(target: string): number {
  return Deno.readTextFileSync("/proc/mounts").split("\n").filter((line) =>
    line.split(" ")[1] === target
  ).length;
}

testIf(
  "an fs pool's mount outlives a SIGKILLed service and its half-made volume does not",
  loopDeviceSkip() ?? missing("virsh", "mkfs.ext4", "blkid"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const target = `${base}/mnt`;
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = async (...args: string[]) => {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    const loops: LoopDevice[] = [];
    let service: ServiceProcess | undefined = await startServiceProcess(dirs);
    try {
      loops.push(await attachLoopDevice(base, DEVICE_BYTES));
      await Deno.writeTextFile(
        `${base}/pool.xml`,
        `<pool type='fs'><name>f</name><source><device path='${loops[0].device}'/>` +
          `<format type='ext4'/></source><target><path>${target}</path></target></pool>`,
      );
      await virsh("pool-define", `${base}/pool.xml`);
      await virsh("pool-build", "f", "--no-overwrite");
      await virsh("pool-start", "f");
      assert.equal(mountCount(target), 1);
      const creating = runVirsh(uri, ["vol-create-as", "f", "big", String(VOLUME_BYTES)]);
      const deadline = Date.now() + KILL_WAIT_MS;
      let killedMidway = false;
      while (Date.now() < deadline) {
        const stat = await Deno.stat(`${target}/big`).catch(() => undefined);
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
      assert.equal(mountCount(target), 1, "the mount outlives the service");

      service = await startServiceProcess(dirs);
      assert.match(await virsh("pool-info", "f"), /State:\s+running/);
      assert.equal(mountCount(target), 1, "found, not mounted twice");
      const listed = await virsh("vol-list", "f");
      const names = listed.split("\n").slice(2).map((line) => line.trim().split(/\s+/)[0])
        .filter((name) => name !== "");
      const onDisk = [...Deno.readDirSync(target)].map((entry) => entry.name).sort();
      assert.deepEqual(names, onDisk, "virsh lists exactly what is on the file system");
      if (killedMidway) {
        assert.notEqual(created.code, 0, "the interrupted create did not report success");
        assert.ok(!names.includes("big"), "no half-written volume");
      } else {
        assert.equal((await Deno.stat(`${target}/big`)).blocks! * 512, VOLUME_BYTES);
      }
      console.log(`killed midway: ${killedMidway}`);
      await virsh("pool-destroy", "f");
      assert.equal(mountCount(target), 0, "destroy unmounts");
    } finally {
      await service?.stop("SIGTERM");
      try {
        await cleanUpStorage(base, [], loops);
      } finally {
        await removeServiceDirs(dirs);
      }
    }
  },
);
