/**
 * `logical` pools on real loop devices with Debian's lvm2: build probes the devices and refuses
 * one that holds a file system unless `--overwrite`, then makes the physical volumes and the
 * volume group; start checks the group and activates it; figures come from `vgs`; delete
 * removes the group and clears its devices; recovery finishes an interrupted build from what
 * LVM reports. Logical volumes need the kernel's device-mapper: where it is absent, lvcreate
 * fails, and the failure leaves nothing behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StoragePools } from "../../actors/storage_pools.ts";
import { poolStateName } from "../../actors/pool_machine.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { STORAGE_FACT_TYPES } from "../../src/model/storage_facts.ts";
import { probeDeviceSignature } from "../../src/storage/device_probe.ts";
import { runStorageCommand } from "../../src/storage/storage_command.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  attachLoopDevice,
  cleanUpStorage,
  deviceMapperSkip,
  type LoopDevice,
  lvmSkip,
} from "../support/loop_devices.ts";

const SKIP = lvmSkip() ?? missing("blkid", "mkfs.ext4");

const DEVICE_BYTES = 64 * 1024 * 1024;

function logicalPoolXml(name: string, devices: string[]): string {
  return `<pool type='logical'><name>${name}</name><source>` +
    devices.map((device) => `<device path='${device}'/>`).join("") +
    `<name>${name}</name><format type='lvm2'/></source>` +
    `<target><path>/dev/${name}</path></target></pool>`;
}

/** Runs `fn` with a temp dir, two loop devices and a unique VG name; cleans up all of them. */
async function withDevices(
  fn: (dir: string, loops: LoopDevice[], group: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-lvm-pool-" });
  const group = `evirtpools14${crypto.randomUUID().slice(0, 8)}`;
  const loops: LoopDevice[] = [];
  try {
    loops.push(await attachLoopDevice(dir, DEVICE_BYTES));
    loops.push(await attachLoopDevice(dir, DEVICE_BYTES));
    await fn(dir, loops, group);
  } finally {
    try {
      await cleanUpStorage(dir, [group], loops);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
}

async function physicalVolumes(group: string): Promise<string[]> {
  const output = await runStorageCommand(["pvs", "--noheadings", "-o", "pv_name,vg_name"]);
  return output.split("\n").map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1] === group).map((fields) => fields[0]).sort();
}

testIf(
  "a logical pool builds a volume group, starts, reports vgs figures and is deleted",
  SKIP,
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const devices = loops.map((loop) => loop.device);
      const pool = await pools.define(logicalPoolXml(group, devices));
      await assert.rejects(pools.commands.start(pool.uuid, 0), {
        code: 67,
        message: `cannot find logical volume group name '${group}'`,
      });
      await pools.commands.build(pool.uuid, 0);
      assert.deepEqual(await physicalVolumes(group), [...devices].sort());
      await assert.rejects(pools.commands.build(pool.uuid, 0), {
        code: 76,
        message: `Device '${devices[0]}' already formatted using 'LVM2_member'`,
      });
      await pools.commands.start(pool.uuid, 0);
      assert.equal(poolStateName(pools.actors()[0].snapshot), "running");
      assert.deepEqual(pools.commands.volumes(pool.uuid), []);
      const vgs = (await runStorageCommand([
        "vgs",
        "--noheadings",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        "vg_size,vg_free",
        group,
      ])).trim().split(/\s+/).map(BigInt);
      const { figures } = await pools.commands.info(pool.uuid);
      assert.equal(figures.capacityBytes, vgs[0]);
      assert.equal(figures.availableBytes, vgs[1]);
      assert.equal(figures.allocationBytes, vgs[0] - vgs[1]);
      assert.ok(figures.capacityBytes > 100n * 1024n * 1024n, "two 64 MiB devices");
      await pools.commands.refresh(pool.uuid);
      const restarted = await StoragePools.open({ store });
      assert.equal(poolStateName(restarted.actors()[0].snapshot), "running", "an empty group runs");
      await pools.commands.destroy(pool.uuid);
      await pools.commands.delete(pool.uuid, 0);
      assert.deepEqual(await physicalVolumes(group), []);
      for (const device of devices) assert.deepEqual(await probeDeviceSignature(device), {});
      await store.close();
    });
  },
);

testIf(
  "a logical pool whose volume group vanished is inaccessible, and destroy stops it",
  SKIP,
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const pool = await pools.define(logicalPoolXml(group, [loops[0].device]));
      await pools.commands.start(pool.uuid, 1);
      await runStorageCommand(["vgremove", "-f", group]);
      await assert.rejects(pools.commands.refresh(pool.uuid), {
        code: 38,
        message: `storage pool '${group}': volume group '${group}' is not there`,
      });
      assert.equal((await pools.commands.info(pool.uuid)).state, 4);
      await pools.commands.destroy(pool.uuid);
      assert.equal(poolStateName(pools.actors()[0].snapshot), "inactive");
      await store.close();
    });
  },
);

testIf(
  "a logical pool missing one of its devices is degraded, and whole again once it returns",
  SKIP,
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const pool = await pools.define(logicalPoolXml(group, loops.map((loop) => loop.device)));
      await pools.commands.start(pool.uuid, 1);
      assert.equal((await pools.commands.info(pool.uuid)).state, 2);
      const detached = await new Deno.Command("losetup", { args: ["-d", loops[1].device] })
        .output();
      assert.equal(detached.code, 0);
      // Cleanup must not detach the old number, which another process may take from now on.
      const gone = loops.splice(1, 1)[0];
      await pools.commands.refresh(pool.uuid);
      assert.equal(poolStateName(pools.actors()[0].snapshot), "degraded");
      assert.equal((await pools.commands.info(pool.uuid)).state, 3);
      assert.equal(
        pools.actors()[0].snapshot.context.inaccessibleReason,
        `volume group '${group}' is missing a physical volume`,
      );
      // The device comes back (on whichever loop device is free; LVM finds it by its uuid).
      const back = await new Deno.Command("losetup", { args: ["-f", "--show", gone.image] })
        .output();
      assert.equal(back.code, 0);
      loops.push({ device: new TextDecoder().decode(back.stdout).trim(), image: gone.image });
      await pools.commands.refresh(pool.uuid);
      assert.equal(poolStateName(pools.actors()[0].snapshot), "running");
      await pools.commands.destroy(pool.uuid);
      await store.close();
    });
  },
);

testIf(
  "a logical pool refuses a device holding a file system unless --overwrite",
  SKIP,
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      await runStorageCommand(["mkfs", "-t", "ext4", "-F", loops[1].device]);
      const pool = await pools.define(logicalPoolXml(group, loops.map((loop) => loop.device)));
      await assert.rejects(pools.commands.build(pool.uuid, 4), {
        code: 76,
        message: `Format of device '${
          loops[1].device
        }' does not match the expected format 'LVM2_member', forced overwrite is necessary`,
      });
      // The first device had been made a physical volume: the failed build removed it again.
      assert.deepEqual(await probeDeviceSignature(loops[0].device), {});
      assert.equal((await probeDeviceSignature(loops[1].device)).type, "ext4");
      assert.equal(poolStateName(pools.actors()[0].snapshot), "inactive");
      await pools.commands.build(pool.uuid, 8);
      assert.equal((await probeDeviceSignature(loops[1].device)).type, "LVM2_member");
      await store.close();
    });
  },
);

testIf(
  "recovery finishes a logical build a crash interrupted, from what LVM reports",
  SKIP,
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const first = await StoragePools.open({ store });
      const devices = loops.map((loop) => loop.device);
      const pool = await first.define(logicalPoolXml(group, devices));
      const intent = {
        type: "pool.building" as const,
        body: { path: `/dev/${group}`, overwrite: false, format: "LVM2_member", devices },
      };
      // Crash before vgcreate: no volume group, so the build is abandoned.
      await first.actors()[0].append([intent]);
      const second = await StoragePools.open({ store });
      let facts = await store.readAll({ afterPosition: 0 });
      assert.equal(facts.at(-1)?.type, "storage.intent_abandoned");
      // Crash after vgcreate: the group is there, so the build is recorded as done.
      await second.actors()[0].append([intent]);
      for (const device of devices) await runStorageCommand(["pvcreate", device]);
      await runStorageCommand(["vgcreate", group, ...devices]);
      const third = await StoragePools.open({ store });
      facts = await store.readAll({ afterPosition: 0 });
      assert.equal(facts.at(-1)?.type, "pool.built");
      await third.commands.start(pool.uuid, 0);
      assert.equal(poolStateName(third.actors()[0].snapshot), "running");
      // Crash after a volume create's intent: whatever LVM made is removed, nothing counted.
      await third.actors()[0].append([{
        type: "volume.creating",
        body: { name: "lv1", path: `/dev/${group}/lv1`, format: "raw", capacityBytes: 8388608 },
      }]);
      const fourth = await StoragePools.open({ store });
      assert.equal(fourth.actors()[0].snapshot.context.intent, null);
      assert.deepEqual(fourth.commands.volumes(pool.uuid), []);
      const lvs = await runStorageCommand(["lvs", "--noheadings", "-o", "lv_name", group]);
      assert.equal(lvs.trim(), "");
      await fourth.commands.destroy(pool.uuid);
      await store.close();
    });
  },
);

testIf(
  "a logical volume create that LVM refuses leaves no volume and no pending intent",
  SKIP ?? (deviceMapperSkip() === undefined ? "device-mapper is available here" : undefined),
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const pool = await pools.define(logicalPoolXml(group, [loops[0].device]));
      await pools.commands.start(pool.uuid, 1);
      const head = store.headPosition();
      await assert.rejects(
        pools.commands.createVolume(
          pool.uuid,
          "<volume><name>lv1</name><capacity>8388608</capacity></volume>",
          0,
        ),
        (error: Error & { code?: number }) =>
          error.code === 1 && error.message.includes("lvcreate --name lv1 -L 8192K"),
      );
      const facts = await store.readAll({ afterPosition: head });
      assert.deepEqual(facts.map((fact) => fact.type), [
        "volume.creating",
        "storage.intent_abandoned",
      ]);
      const lvs = await runStorageCommand(["lvs", "--noheadings", "-o", "lv_name", group]);
      assert.equal(lvs.trim(), "");
      await pools.commands.destroy(pool.uuid);
      await store.close();
    });
  },
);

testIf(
  "logical volumes are made with lvcreate, listed from lvs, refused a resize, and removed",
  SKIP ?? deviceMapperSkip(),
  async () => {
    await withDevices(async (_dir, loops, group) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const pool = await pools.define(logicalPoolXml(group, [loops[0].device]));
      await pools.commands.start(pool.uuid, 1);
      await pools.commands.createVolume(
        pool.uuid,
        "<volume><name>lv1</name><capacity>8388608</capacity></volume>",
        0,
      );
      const volume = pools.commands.volume(pool.uuid, "lv1");
      assert.equal(volume.type, "block");
      assert.equal(volume.path, `/dev/${group}/lv1`);
      assert.equal(volume.capacityBytes, 8388608);
      await assert.rejects(pools.commands.resizeVolume(pool.uuid, "lv1", 16777216n, 0), {
        code: 3,
      });
      await pools.commands.deleteVolume(pool.uuid, "lv1", 0);
      assert.deepEqual(pools.commands.volumes(pool.uuid), []);
      await pools.commands.destroy(pool.uuid);
      await store.close();
    });
  },
);
