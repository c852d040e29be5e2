/**
 * The real `virsh` drives an `fs` pool in evirt and in the running libvirtd 9.0, side by side:
 * the same pool XML (same name and uuid) on two loop devices of the same size, each daemon
 * formatting its own with `pool-build --no-overwrite` and mounting it with `pool-start`.
 * `pool-build` (twice: the second is refused), `pool-start`, `pool-info`, `vol-list --details`
 * `vol-info` and `pool-dumpxml` print the same, the target path aside; `pool-destroy` unmounts both. The same
 * for a `logical` pool (volume group side only: pvcreate, vgcreate, vgchange, vgs, vgremove).
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import {
  attachLoopDevice,
  cleanUpStorage,
  type LoopDevice,
  loopDeviceSkip,
  lvmSkip,
} from "../support/loop_devices.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

const DEVICE_BYTES = 64 * 1024 * 1024;

function mounted(target: string): boolean {
  return Deno.readTextFileSync("/proc/mounts").split("\n").some((line) =>
    line.split(" ")[1] === target
  );
}

testIf(
  "virsh sees evirt's fs pool on a loop device as it sees libvirtd's on another",
  loopDeviceSkip() ?? missing("virsh", "mkfs.ext4", "blkid", LIBVIRTD_SOCKET),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const name = `${ORACLE_PREFIX}pools14-fs-${crypto.randomUUID().slice(0, 8)}`;
    const uuid = crypto.randomUUID();
    const loops: LoopDevice[] = [];
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    let oracleDefined = false;
    try {
      loops.push(await attachLoopDevice(base, DEVICE_BYTES));
      loops.push(await attachLoopDevice(base, DEVICE_BYTES));
      // Targets of the same length, so virsh's columns line up the same.
      const targets = [`${base}/mnt-e`, `${base}/mnt-l`];
      const xmlPaths = [`${base}/evirt.xml`, `${base}/libvirt.xml`];
      for (const index of [0, 1]) {
        await Deno.writeTextFile(
          xmlPaths[index],
          `<pool type='fs'><name>${name}</name><uuid>${uuid}</uuid><source>` +
            `<device path='${loops[index].device}'/><format type='ext4'/></source>` +
            `<target><path>${targets[index]}</path></target></pool>`,
        );
      }
      const evirt = (...args: string[]) => runVirsh(uri, args);
      const both = async (...args: string[]): Promise<[VirshRun, VirshRun]> => {
        const swap = (index: number) =>
          args.map((arg) => arg === xmlPaths[0] ? xmlPaths[index] : arg);
        return [await evirt(...swap(0)), await oracleVirsh(swap(1))];
      };
      const same = (left: VirshRun, right: VirshRun, what: string) => {
        const clean = (text: string) => text.replaceAll(targets[0], "<target>");
        const cleanTheirs = (text: string) =>
          text.replaceAll(targets[1], "<target>").replaceAll(xmlPaths[1], xmlPaths[0])
            .replaceAll(loops[1].device, loops[0].device);
        assert.equal(
          left.code,
          right.code,
          `${what}: exit codes (${left.stderr} / ${right.stderr})`,
        );
        assert.equal(clean(left.stdout), cleanTheirs(right.stdout), `${what}: stdout`);
        assert.equal(clean(left.stderr), cleanTheirs(right.stderr), `${what}: stderr`);
      };

      await t.step("define, build (formatting), build refused, start", async () => {
        const [mine, theirs] = await both("pool-define", xmlPaths[0]);
        oracleDefined = theirs.code === 0;
        same(mine, theirs, "pool-define");
        same(...await both("pool-build", name, "--no-overwrite"), "pool-build --no-overwrite");
        same(...await both("pool-build", name, "--no-overwrite"), "pool-build refused");
        same(...await both("pool-start", name), "pool-start");
        assert.ok(mounted(targets[0]) && mounted(targets[1]), "both mounted");
      });

      await t.step("pool-info, vol-list --details and vol-info print the same", async () => {
        same(...await both("pool-info", name), "pool-info");
        same(...await both("vol-create-as", name, "a.raw", "1M"), "vol-create-as");
        same(...await both("vol-list", "--details", name), "vol-list --details");
        for (const volume of ["a.raw", "lost+found"]) {
          same(...await both("vol-info", "--pool", name, volume), `vol-info ${volume}`);
        }
        same(...await both("pool-info", name), "pool-info with a volume");
        same(...await both("pool-dumpxml", name), "pool-dumpxml");
      });

      await t.step("destroy unmounts, undefine", async () => {
        same(...await both("pool-destroy", name), "pool-destroy");
        assert.ok(!mounted(targets[0]) && !mounted(targets[1]), "both unmounted");
        same(...await both("pool-undefine", name), "pool-undefine");
        oracleDefined = false;
      });
    } finally {
      if (oracleDefined) {
        await oracleVirsh(["pool-destroy", name]);
        await oracleVirsh(["pool-undefine", name]);
      }
      await service.stop("SIGTERM");
      try {
        await cleanUpStorage(base, [], loops);
      } finally {
        await removeServiceDirs(dirs);
      }
    }
  },
);

testIf(
  "virsh sees evirt's logical pool as it sees libvirtd's, each on its own loop device",
  lvmSkip() ?? missing("virsh", "blkid", LIBVIRTD_SOCKET),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const name = `${ORACLE_PREFIX}pools14-lvm-${crypto.randomUUID().slice(0, 8)}`;
    const uuid = crypto.randomUUID();
    // Two volume groups cannot share a name: the groups differ, the pool names do not.
    const suffix = crypto.randomUUID().slice(0, 8);
    const groups = [`evirtpools14e${suffix}`, `evirtpools14l${suffix}`];
    const loops: LoopDevice[] = [];
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    let oracleDefined = false;
    try {
      loops.push(await attachLoopDevice(base, DEVICE_BYTES));
      loops.push(await attachLoopDevice(base, DEVICE_BYTES));
      const xmlPaths = [`${base}/evirt.xml`, `${base}/libvirt.xml`];
      for (const index of [0, 1]) {
        await Deno.writeTextFile(
          xmlPaths[index],
          `<pool type='logical'><name>${name}</name><uuid>${uuid}</uuid><source>` +
            `<device path='${loops[index].device}'/><name>${groups[index]}</name>` +
            `<format type='lvm2'/></source><target><path>/dev/${groups[index]}</path></target>` +
            `</pool>`,
        );
      }
      const evirt = (...args: string[]) => runVirsh(uri, args);
      const both = async (...args: string[]): Promise<[VirshRun, VirshRun]> => {
        const swap = (index: number) =>
          args.map((arg) => arg === xmlPaths[0] ? xmlPaths[index] : arg);
        return [await evirt(...swap(0)), await oracleVirsh(swap(1))];
      };
      const same = (left: VirshRun, right: VirshRun, what: string) => {
        const theirs = (text: string) =>
          text.replaceAll(groups[1], groups[0]).replaceAll(xmlPaths[1], xmlPaths[0])
            .replaceAll(loops[1].device, loops[0].device);
        assert.equal(
          left.code,
          right.code,
          `${what}: exit codes (${left.stderr} / ${right.stderr})`,
        );
        assert.equal(left.stdout, theirs(right.stdout), `${what}: stdout`);
        assert.equal(left.stderr, theirs(right.stderr), `${what}: stderr`);
      };

      await t.step("start refused before build; build; build refused; start", async () => {
        const [mine, theirs] = await both("pool-define", xmlPaths[0]);
        oracleDefined = theirs.code === 0;
        same(mine, theirs, "pool-define");
        same(...await both("pool-start", name), "pool-start before build");
        same(...await both("pool-build", name), "pool-build");
        same(...await both("pool-build", name), "pool-build refused");
        same(...await both("pool-start", name), "pool-start");
      });

      await t.step("pool-info and vol-list --details print the same", async () => {
        same(...await both("pool-info", name), "pool-info");
        same(...await both("vol-list", "--details", name), "vol-list --details");
        same(...await both("pool-refresh", name), "pool-refresh");
        same(...await both("pool-dumpxml", name), "pool-dumpxml");
      });

      await t.step(
        "vol-create-as runs libvirt's lvcreate: same outcome, same message",
        async () => {
          // Without the kernel's device-mapper (a container) both fail the same way.
          for (const extra of [[], ["--allocation", "0"]]) {
            const [mine, theirs] = await both("vol-create-as", name, "lv1", "8M", ...extra);
            same(mine, theirs, `vol-create-as ${extra.join(" ")}`);
            if (mine.code !== 0) continue;
            same(...await both("vol-list", "--details", name), "vol-list --details with a volume");
            same(...await both("vol-info", "--pool", name, "lv1"), "vol-info lv1");
            same(...await both("vol-delete", "--pool", name, "lv1"), "vol-delete lv1");
          }
        },
      );

      await t.step("destroy, delete (the group goes), undefine", async () => {
        same(...await both("pool-destroy", name), "pool-destroy");
        same(...await both("pool-delete", name), "pool-delete");
        for (const loop of loops) {
          const blkid = await new Deno.Command("blkid", { args: ["-p", loop.device] }).output();
          assert.equal(blkid.code, 2, `${loop.device} is blank again`);
        }
        same(...await both("pool-undefine", name), "pool-undefine");
        oracleDefined = false;
      });
    } finally {
      if (oracleDefined) {
        await oracleVirsh(["pool-destroy", name]);
        await oracleVirsh(["pool-undefine", name]);
      }
      await service.stop("SIGTERM");
      try {
        await cleanUpStorage(base, groups, loops);
      } finally {
        await removeServiceDirs(dirs);
      }
    }
  },
);
