import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { STORAGE_FACT_TYPES } from "../../src/model/storage_facts.ts";
import { StoragePools } from "../../actors/storage_pools.ts";
import { poolStateName } from "../../actors/pool_machine.ts";
import { missing, testIf } from "../support/environment.ts";
import { withTempDir } from "../support/temp_dir.ts";

const qemuImgSkip = missing("qemu-img");

function poolXml(name: string, path: string, extra = ""): string {
  return `<pool type='dir'><name>${name}</name><target><path>${path}</path>${extra}</target></pool>`;
}

function volumeXml(name: string, capacity: string, format = "raw", extra = ""): string {
  return `<volume><name>${name}</name><capacity>${capacity}</capacity><allocation>0</allocation>` +
    `<target><format type='${format}'/></target>${extra}</volume>`;
}

Deno.test("StoragePools builds, starts, lists volumes, stops, deletes and undefines a dir pool", async () => {
  await withTempDir("evirt-pools-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const pools = await StoragePools.open({ store });
    const path = `${dir}/p1`;
    const pool = await pools.define(
      poolXml("p1", path, "<permissions><mode>0750</mode></permissions>"),
    );
    assert.deepEqual(pools.list().map((summary) => [summary.name, summary.state]), [["p1", 0]]);
    await pools.commands.build(pool.uuid, 0);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o750);
    await Deno.writeFile(`${path}/outside.img`, new Uint8Array(4096));
    await pools.commands.start(pool.uuid, 0);
    assert.equal(pools.list()[0].state, 2);
    assert.deepEqual(pools.commands.volumes(pool.uuid).map((volume) => volume.name), [
      "outside.img",
    ]);
    await pools.commands.createVolume(pool.uuid, volumeXml("a.raw", "1048576"), 0);
    const created = pools.commands.volume(pool.uuid, "a.raw");
    assert.equal(created.capacityBytes, 1048576);
    assert.equal(created.allocationBytes, 0, "a raw volume with allocation 0 is sparse");
    assert.equal((await Deno.stat(`${path}/a.raw`)).mode! & 0o777, 0o600);
    await pools.commands.resizeVolume(pool.uuid, "a.raw", 2n * 1048576n, 0);
    assert.equal((await Deno.stat(`${path}/a.raw`)).size, 2 * 1048576);
    await pools.commands.wipeVolume(pool.uuid, "a.raw", 0, 0);
    await pools.commands.deleteVolume(pool.uuid, "a.raw", 0);
    await pools.commands.deleteVolume(pool.uuid, "outside.img", 0);
    assert.deepEqual(pools.commands.volumes(pool.uuid), []);
    await pools.commands.destroy(pool.uuid);
    await pools.commands.delete(pool.uuid, 0);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    await pools.undefine(pool.uuid);
    assert.deepEqual(pools.list(), []);
    await store.close();
  });
});

Deno.test("StoragePools replay gives the same pools as the live fold", async () => {
  await withTempDir("evirt-pools-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const live = await StoragePools.open({ store });
    const pool = await live.define(poolXml("p", `${dir}/p`));
    await live.commands.start(pool.uuid, 1);
    await live.commands.createVolume(pool.uuid, volumeXml("v", "4096"), 0);
    await live.commands.setAutostart(pool.uuid, true);
    const replayed = await StoragePools.open({ store });
    const [a] = live.actors();
    const [b] = replayed.actors();
    assert.deepEqual(b.snapshot.context, a.snapshot.context);
    assert.equal(poolStateName(b.snapshot), poolStateName(a.snapshot));
    await store.close();
  });
});

Deno.test("StoragePools recovery refreshes running pools: files made or removed behind its back", async () => {
  await withTempDir("evirt-pools-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const first = await StoragePools.open({ store });
    const pool = await first.define(poolXml("p", `${dir}/p`));
    await first.commands.start(pool.uuid, 1);
    await first.commands.createVolume(pool.uuid, volumeXml("gone", "4096"), 0);
    await Deno.remove(`${dir}/p/gone`);
    await Deno.writeFile(`${dir}/p/new`, new Uint8Array(10));
    const second = await StoragePools.open({ store });
    assert.deepEqual(second.commands.volumes(pool.uuid).map((volume) => volume.name), ["new"]);
    const facts = await store.readAll({ afterPosition: 0 });
    assert.equal(facts.at(-1)?.type, "pool.refreshed");
    await store.close();
  });
});

Deno.test("StoragePools refresh records only the volumes that appeared, changed or went", async () => {
  await withTempDir("evirt-pools-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const pools = await StoragePools.open({ store });
    const pool = await pools.define(poolXml("p", `${dir}/p`));
    await Deno.mkdir(`${dir}/p`);
    for (const name of ["a", "b", "c"]) await Deno.writeFile(`${dir}/p/${name}`, new Uint8Array(8));
    await pools.commands.start(pool.uuid, 0);
    const lastRefresh = async () => {
      const facts = await store.readAll({ afterPosition: 0 });
      const fact = facts.findLast((entry) => entry.type === "pool.refreshed");
      return fact?.body as { changed: { name: string }[]; removed: string[] };
    };
    assert.deepEqual((await lastRefresh()).changed.map((volume) => volume.name), ["a", "b", "c"]);
    // Unchanged: the explicit refresh still records (its event), but nothing in it.
    await pools.commands.refresh(pool.uuid);
    assert.deepEqual(await lastRefresh(), { changed: [], removed: [] });
    await Deno.remove(`${dir}/p/a`);
    await Deno.writeFile(`${dir}/p/b`, new Uint8Array(4096));
    await Deno.writeFile(`${dir}/p/d`, new Uint8Array(8));
    await pools.commands.refresh(pool.uuid);
    const changes = await lastRefresh();
    assert.deepEqual(changes.changed.map((volume) => volume.name), ["b", "d"]);
    assert.deepEqual(changes.removed, ["a"]);
    assert.deepEqual(pools.commands.volumes(pool.uuid).map((volume) => volume.name), [
      "b",
      "c",
      "d",
    ]);
    assert.equal(pools.commands.volume(pool.uuid, "b").capacityBytes, 4096);
    // Replay folds the changes to the same set.
    const replayed = await StoragePools.open({ store });
    assert.deepEqual(replayed.commands.volumes(pool.uuid), pools.commands.volumes(pool.uuid));
    await pools.close();
    await replayed.close();
    await store.close();
  });
});

Deno.test("StoragePools recovery removes the half-made file of an interrupted volume create", async () => {
  await withTempDir("evirt-pools-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const first = await StoragePools.open({ store });
    const pool = await first.define(poolXml("p", `${dir}/p`));
    await first.commands.start(pool.uuid, 1);
    // What a crash between the intent and the outcome leaves: the intent and a partial file.
    const [actor] = first.actors();
    await actor.append([{
      type: "volume.creating",
      body: { name: "half", path: `${dir}/p/half`, format: "raw", capacityBytes: 1 << 20 },
    }]);
    await Deno.writeFile(`${dir}/p/half`, new Uint8Array(100));
    const second = await StoragePools.open({ store });
    await assert.rejects(Deno.stat(`${dir}/p/half`), Deno.errors.NotFound);
    assert.deepEqual(second.commands.volumes(pool.uuid), []);
    assert.equal(second.actors()[0].snapshot.context.intent, null);
    await store.close();
  });
});

Deno.test("StoragePools refuses bad input with libvirt's codes and changes nothing", async () => {
  await withTempDir("evirt-pools-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const pools = await StoragePools.open({ store });
    const pool = await pools.define(poolXml("p", `${dir}/p`));
    await assert.rejects(pools.commands.start(pool.uuid, 0), { code: 38 });
    await assert.rejects(pools.commands.createVolume(pool.uuid, volumeXml("v", "1"), 0), {
      code: 55,
      message: "storage pool 'p' is not active",
    });
    await pools.commands.start(pool.uuid, 1);
    const head = store.headPosition();
    await assert.rejects(pools.commands.createVolume(pool.uuid, volumeXml("a/b", "1"), 0), {
      code: 55,
      message: "volume name 'a/b' cannot contain '/'",
    });
    await assert.rejects(
      pools.commands.createVolume(pool.uuid, volumeXml("v", "99999999999999999999"), 0),
      { code: 82 },
    );
    await assert.rejects(
      pools.commands.createVolume(pool.uuid, volumeXml("v", "1", "nonsense"), 0),
      { code: 67, message: "unknown volume format type nonsense" },
    );
    await assert.rejects(pools.commands.deleteVolume(pool.uuid, "zz", 0), { code: 50 });
    await assert.rejects(pools.commands.start(pool.uuid, 0), {
      code: 55,
      message: "storage pool 'p' is already active",
    });
    await assert.rejects(pools.undefine(pool.uuid), { code: 55 });
    await assert.rejects(pools.commands.build(pool.uuid, 4 | 8), { code: 8 });
    await assert.rejects(pools.define(poolXml("q", `${dir}/p`)), { code: 9 });
    await assert.rejects(pools.define(poolXml("p/x", `${dir}/x`)), { code: 27 });
    await assert.rejects(
      pools.define("<pool type='zfs'><name>zp</name><source><name>zp</name></source></pool>"),
      { code: 1, message: "missing backend for pool type 12 (zfs)" },
    );
    assert.equal(store.headPosition(), head, "nothing was recorded");
    assert.deepEqual([...Deno.readDirSync(`${dir}/p`)], []);
    await pools.commands.createVolume(pool.uuid, volumeXml("v", "4096"), 0);
    await assert.rejects(pools.commands.resizeVolume(pool.uuid, "v", 10n, 0), { code: 8 });
    await assert.rejects(pools.commands.createVolume(pool.uuid, volumeXml("v", "1"), 0), {
      code: 90,
    });
    await store.close();
  });
});

testIf(
  "StoragePools creates a qcow2 volume on a backing volume with qemu-img",
  qemuImgSkip,
  async () => {
    await withTempDir("evirt-pools-", async (dir) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const pools = await StoragePools.open({ store });
      const pool = await pools.define(poolXml("p", `${dir}/p`));
      await pools.commands.start(pool.uuid, 1);
      await pools.commands.createVolume(pool.uuid, volumeXml("base.raw", "1048576"), 0);
      await pools.commands.createVolume(
        pool.uuid,
        volumeXml(
          "top.qcow2",
          "2097152",
          "qcow2",
          `<backingStore><path>${dir}/p/base.raw</path><format type='raw'/></backingStore>`,
        ),
        0,
      );
      const top = pools.commands.volume(pool.uuid, "top.qcow2");
      assert.equal(top.format, "qcow2");
      assert.equal(top.capacityBytes, 2097152);
      assert.equal(top.backingPath, `${dir}/p/base.raw`);
      await pools.commands.resizeVolume(pool.uuid, "top.qcow2", 4194304n, 0);
      assert.equal(pools.commands.volume(pool.uuid, "top.qcow2").capacityBytes, 4194304);
      await store.close();
    });
  },
);
