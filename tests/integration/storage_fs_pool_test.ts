/**
 * `fs` pools on a real loop device: build formats it only when asked (`--no-overwrite` probes
 * and refuses a formatted device), start mounts it with libvirt's options, destroy unmounts it,
 * a mount that vanished makes the pool inaccessible, and recovery after a crash finds a mount
 * made under a pending intent (adopts it) or sees none (abandons the intent).
 *
 * @module
 */

import assert from "node:assert/strict";
import { StoragePools } from "../../actors/storage_pools.ts";
import { poolStateName } from "../../actors/pool_machine.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { STORAGE_FACT_TYPES } from "../../src/model/storage_facts.ts";
import { probeDeviceSignature } from "../../src/storage/device_probe.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  attachLoopDevice,
  cleanUpStorage,
  type LoopDevice,
  loopDeviceSkip,
} from "../support/loop_devices.ts";

const SKIP = loopDeviceSkip() ?? missing("mkfs.ext4", "mkfs.ext2", "blkid", "mount", "umount");

const DEVICE_BYTES = 64 * 1024 * 1024;

function fsPoolXml(name: string, device: string, target: string, format = "ext4"): string {
  return `<pool type='fs'><name>${name}</name><source><device path='${device}'/>` +
    `<format type='${format}'/></source><target><path>${target}</path></target></pool>`;
}

function mountLine(target: string): string | undefined {
  return Deno.readTextFileSync("/proc/mounts").split("\n").find((line) =>
    line.split(" ")[1] === target
  );
}

/** Runs `fn` with a temp dir and one loop device, cleaning up mounts, device and files. */
async function withLoop(fn: (dir: string, loop: LoopDevice) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-fs-pool-" });
  const loops: LoopDevice[] = [];
  try {
    loops.push(await attachLoopDevice(dir, DEVICE_BYTES));
    await fn(dir, loops[0]);
  } finally {
    try {
      await cleanUpStorage(dir, [], loops);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
}

testIf("an fs pool formats, mounts, holds file volumes and unmounts", SKIP, async () => {
  await withLoop(async (dir, loop) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const pools = await StoragePools.open({ store });
    const target = `${dir}/mnt`;
    const pool = await pools.define(fsPoolXml("fs1", loop.device, target));
    // A build without flags makes the directory only, as libvirt's.
    await pools.commands.build(pool.uuid, 0);
    assert.ok((await Deno.stat(target)).isDirectory);
    assert.deepEqual(await probeDeviceSignature(loop.device), {});
    // Nothing to mount yet: the start fails and leaves the pool inactive, its intent abandoned.
    await assert.rejects(pools.commands.start(pool.uuid, 0), { code: 1 });
    assert.equal(poolStateName(pools.actors()[0].snapshot), "inactive");
    assert.equal(pools.actors()[0].snapshot.context.intent, null);
    assert.equal(mountLine(target), undefined);

    await pools.commands.build(pool.uuid, 4); // --no-overwrite: empty, so formatted
    assert.equal((await probeDeviceSignature(loop.device)).type, "ext4");
    await assert.rejects(pools.commands.build(pool.uuid, 4), {
      code: 76,
      message: `Device '${loop.device}' already formatted using 'ext4'`,
    });

    await pools.commands.start(pool.uuid, 0);
    const mounted = mountLine(target) ?? "";
    assert.ok(mounted.startsWith(`${loop.device} ${target} ext4 `), mounted);
    for (const option of ["nodev", "nosuid", "noexec"]) {
      assert.ok(mounted.split(" ")[3].split(",").includes(option), `${option} in ${mounted}`);
    }
    const info = await pools.commands.info(pool.uuid);
    assert.equal(info.state, 2);
    assert.ok(info.figures.capacityBytes > 50n * 1024n * 1024n, `${info.figures.capacityBytes}`);
    // ext4's own lost+found is a volume, as libvirt lists it.
    assert.deepEqual(pools.commands.volumes(pool.uuid).map((volume) => volume.name), [
      "lost+found",
    ]);
    await pools.commands.createVolume(
      pool.uuid,
      "<volume><name>a.raw</name><capacity>1048576</capacity></volume>",
      0,
    );
    assert.equal((await Deno.stat(`${target}/a.raw`)).size, 1048576);

    await pools.commands.destroy(pool.uuid);
    assert.equal(mountLine(target), undefined);
    await assert.rejects(Deno.stat(`${target}/a.raw`), Deno.errors.NotFound);
    await pools.commands.start(pool.uuid, 0);
    assert.deepEqual(pools.commands.volumes(pool.uuid).map((volume) => volume.name), [
      "a.raw",
      "lost+found",
    ]);
    await pools.commands.destroy(pool.uuid);
    await pools.commands.delete(pool.uuid, 0);
    await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
    await store.close();
  });
});

testIf(
  "an fs pool refuses to format over another file system unless told to overwrite",
  SKIP,
  async () => {
    await withLoop(async (dir, loop) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const pool = await pools.define(fsPoolXml("fs2", loop.device, `${dir}/mnt`, "ext2"));
      await pools.commands.build(pool.uuid, 4);
      const other = await pools.define(fsPoolXml("fs3", loop.device, `${dir}/mnt3`));
      const head = store.headPosition();
      await assert.rejects(pools.commands.build(other.uuid, 4), {
        code: 76,
        message:
          `Format of device '${loop.device}' does not match the expected format 'ext4', forced overwrite is necessary`,
      });
      assert.equal((await probeDeviceSignature(loop.device)).type, "ext2", "not formatted");
      const facts = await store.readAll({ afterPosition: head });
      assert.deepEqual(facts.map((fact) => fact.type), [
        "pool.building",
        "storage.intent_abandoned",
      ]);
      await pools.commands.build(other.uuid, 8); // --overwrite
      assert.equal((await probeDeviceSignature(loop.device)).type, "ext4");
      await assert.rejects(pools.commands.build(other.uuid, 4 | 8), { code: 8 });
      await store.close();
    });
  },
);

testIf(
  "an fs pool whose mount vanished becomes inaccessible, and destroy still stops it",
  SKIP,
  async () => {
    await withLoop(async (dir, loop) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const target = `${dir}/mnt`;
      const pool = await pools.define(fsPoolXml("fs4", loop.device, target));
      await pools.commands.start(pool.uuid, 4); // built with --no-overwrite, then started
      const umount = await new Deno.Command("umount", { args: [target] }).output();
      assert.equal(umount.code, 0);
      await assert.rejects(pools.commands.refresh(pool.uuid), {
        code: 38,
        message: `storage pool 'fs4': '${loop.device}' is not mounted on '${target}'`,
      });
      assert.equal(poolStateName(pools.actors()[0].snapshot), "inaccessible");
      assert.equal((await pools.commands.info(pool.uuid)).state, 4);
      // After a restart it is still inaccessible (reality wins), until it is stopped.
      const again = await StoragePools.open({ store });
      assert.equal(poolStateName(again.actors()[0].snapshot), "inaccessible");
      await again.commands.destroy(pool.uuid);
      assert.equal(poolStateName(again.actors()[0].snapshot), "inactive");
      await store.close();
    });
  },
);

testIf(
  "recovery adopts a mount a crash left under a start intent, and abandons one never made",
  SKIP,
  async () => {
    await withLoop(async (dir, loop) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const first = await StoragePools.open({ store });
      const target = `${dir}/mnt`;
      const pool = await first.define(fsPoolXml("fs5", loop.device, target));
      await first.commands.build(pool.uuid, 4);
      await Deno.writeFile(`${dir}/probe`, new Uint8Array(0));
      // A crash after the intent, before any mount: recovery abandons the intent.
      const command = ["mount", "-o", "nodev,nosuid,noexec", "-t", "ext4", loop.device, target];
      await first.actors()[0].append([{ type: "pool.starting", body: { command } }]);
      const second = await StoragePools.open({ store });
      assert.equal(poolStateName(second.actors()[0].snapshot), "inactive");
      assert.equal(second.actors()[0].snapshot.context.intent, null);
      // A crash after the mount, before its fact: recovery finds the mount and the pool runs.
      await second.actors()[0].append([{ type: "pool.starting", body: { command } }]);
      const mount = await new Deno.Command(command[0], { args: command.slice(1) }).output();
      assert.equal(mount.code, 0);
      await Deno.writeFile(`${target}/made-before-crash`, new Uint8Array(512));
      const third = await StoragePools.open({ store });
      assert.equal(poolStateName(third.actors()[0].snapshot), "running");
      assert.deepEqual(third.commands.volumes(pool.uuid).map((volume) => volume.name), [
        "lost+found",
        "made-before-crash",
      ]);
      // A crash during destroy, after its intent: recovery unmounts and records the stop.
      await third.actors()[0].append([{
        type: "pool.stopping",
        body: { command: ["umount", target] },
      }]);
      const fourth = await StoragePools.open({ store });
      assert.equal(poolStateName(fourth.actors()[0].snapshot), "inactive");
      assert.equal(mountLine(target), undefined);
      await store.close();
    });
  },
);
