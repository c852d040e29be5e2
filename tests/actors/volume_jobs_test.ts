/**
 * Volume jobs of the pool commands on a real directory pool and real `qemu-img`: clones, filled
 * creates, wipes and uploads run outside the pool's queue, in parallel across volumes, with
 * progress and cancel; a busy volume (and a clone's source, for writes) is refused at once;
 * bad input changes nothing; a job a crash cut is ended at recovery as the log says.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { poolStream, STORAGE_FACT_TYPES } from "../../src/model/storage_facts.ts";
import { StoragePools } from "../../actors/storage_pools.ts";
import { missing, testIf } from "../support/environment.ts";
import { withTempDir } from "../support/temp_dir.ts";

const qemuImgSkip = missing("qemu-img");

/** Large enough that a clone or a wipe is still running when the test looks. */
const SOURCE_BYTES = 256 * 1024 * 1024;
const POLL_MS = 2;
const WAIT_MS = 30_000;

function volumeXml(name: string, capacity: number, allocation = 0, format = "raw"): string {
  return `<volume><name>${name}</name><capacity>${capacity}</capacity>` +
    `<allocation>${allocation}</allocation><target><format type='${format}'/></target></volume>`;
}

/** A file of non-zero bytes (nothing for qemu-img to skip as a hole). */
async function writeData(path: string, bytes: number): Promise<void> {
  const chunk = new Uint8Array(1024 * 1024).fill(0xab);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let written = 0; written < bytes; written += chunk.length) {
      let rest = chunk.subarray(0, Math.min(chunk.length, bytes - written));
      while (rest.length > 0) rest = rest.subarray(await file.write(rest));
    }
  } finally {
    file.close();
  }
}

async function withPool(
  fn: (rig: { pools: StoragePools; uuid: string; path: string; store: EventStore }) => Promise<
    void
  >,
): Promise<void> {
  await withTempDir("evirt-voljobs-", async (dir) => {
    const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
    const pools = await StoragePools.open({ store });
    const path = `${dir}/p`;
    const pool = await pools.define(
      `<pool type='dir'><name>p</name><target><path>${path}</path></target></pool>`,
    );
    await pools.commands.start(pool.uuid, 1);
    try {
      await fn({ pools, uuid: pool.uuid, path, store });
    } finally {
      await pools.close();
      await store.close();
    }
  });
}

/** The pool's facts, bodies as plain records. */
async function facts(
  store: EventStore,
  uuid: string,
): Promise<{ type: string; body: Record<string, unknown> }[]> {
  return (await store.readStream(poolStream(uuid))).map((fact) => ({
    type: fact.type,
    body: fact.body as Record<string, unknown>,
  }));
}

/** Waits until the volume has a job (its view answers one). */
async function jobOf(pools: StoragePools, uuid: string, name: string) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const view = (() => {
      try {
        return pools.commands.volumeJob(uuid, name);
      } catch {
        return undefined;
      }
    })();
    if (view?.job != null) return view.job;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`No job on ${name} within ${WAIT_MS} ms`);
}

function assertCode(code: number, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(isVirtError(error, code), `expected code ${code}, got ${String(error)}`);
    if (pattern !== undefined) assert.match((error as Error).message, pattern);
    return true;
  };
}

testIf(
  "clones of two volumes run at once: each starts before the other ends",
  qemuImgSkip,
  async () => {
    await withPool(async ({ pools, uuid, path, store }) => {
      await writeData(`${path}/a.raw`, SOURCE_BYTES);
      await writeData(`${path}/b.raw`, SOURCE_BYTES);
      await pools.commands.refresh(uuid);
      await Promise.all([
        pools.commands.cloneVolume(uuid, volumeXml("a-copy", 0), { pool: uuid, name: "a.raw" }, 0),
        pools.commands.cloneVolume(uuid, volumeXml("b-copy", 0), { pool: uuid, name: "b.raw" }, 0),
      ]);
      const log = await facts(store, uuid);
      const at = (type: string, name: string) =>
        log.findIndex((fact) =>
          fact.type === type &&
          (fact.body.name ?? (fact.body.volume as { name?: string } | undefined)?.name) === name
        );
      const started = [at("volume.job_started", "a-copy"), at("volume.job_started", "b-copy")];
      const ended = [at("volume.created", "a-copy"), at("volume.created", "b-copy")];
      assert.ok(started.every((index) => index >= 0) && ended.every((index) => index >= 0));
      assert.ok(Math.max(...started) < Math.min(...ended), "both jobs were under way together");
      assert.deepEqual(pools.commands.volumes(uuid).map((volume) => volume.name), [
        "a-copy",
        "a.raw",
        "b-copy",
        "b.raw",
      ]);
      assert.equal(pools.actors()[0].snapshot.context.jobs["a-copy"], undefined);
      const copy = await Deno.readFile(`${path}/b-copy`);
      assert.equal(copy.length, SOURCE_BYTES);
      assert.equal(copy[SOURCE_BYTES - 1], 0xab);
    });
  },
);

testIf(
  "a clone's target and source are busy with its name; the queue stays free",
  qemuImgSkip,
  async () => {
    await withPool(async ({ pools, uuid, path }) => {
      await writeData(`${path}/a.raw`, SOURCE_BYTES);
      await Deno.writeFile(`${path}/other.raw`, new Uint8Array(4096));
      await pools.commands.refresh(uuid);
      const cloning = pools.commands.cloneVolume(
        uuid,
        volumeXml("c", 0),
        { pool: uuid, name: "a.raw" },
        0,
      );
      const job = await jobOf(pools, uuid, "c");
      assert.equal(job.name, "vol-clone");
      assert.equal(job.bytesTotal, SOURCE_BYTES);
      const inUse = assertCode(
        ErrorCode.OPERATION_INVALID,
        /'a\.raw' is still in use\..*vol-clone/,
      );
      await assert.rejects(pools.commands.deleteVolume(uuid, "a.raw", 0), inUse);
      await assert.rejects(pools.commands.wipeVolume(uuid, "a.raw", 0, 0), inUse);
      await assert.rejects(pools.commands.resizeVolume(uuid, "a.raw", 1n << 30n, 0), inUse);
      // Reads of the source go on.
      assert.equal(pools.commands.volumeInfo(uuid, "a.raw").capacityBytes, SOURCE_BYTES);
      const allocating = assertCode(ErrorCode.OPERATION_INVALID, /'c' is still being allocated\./);
      assert.throws(() => pools.commands.volume(uuid, "c"), allocating);
      await assert.rejects(pools.commands.deleteVolume(uuid, "c", 0), allocating);
      await assert.rejects(
        pools.commands.createVolume(uuid, volumeXml("c", 4096), 0),
        assertCode(ErrorCode.STORAGE_VOL_EXIST),
      );
      await assert.rejects(
        pools.commands.refresh(uuid),
        assertCode(ErrorCode.INTERNAL_ERROR, /asynchronous jobs running\. \(busy with vol-clone/),
      );
      await assert.rejects(
        pools.commands.destroy(uuid),
        assertCode(ErrorCode.INTERNAL_ERROR, /asynchronous jobs running\. \(busy with vol-clone/),
      );
      // Another volume of the pool is served while the clone runs (the queue is not held).
      assert.equal(pools.commands.volumeJob(uuid, "c").job?.name, "vol-clone");
      await pools.commands.resizeVolume(uuid, "other.raw", 8192n, 0);
      assert.notEqual(pools.commands.volumeJob(uuid, "c").job, null, "still cloning meanwhile");
      await cloning;
      assert.equal(pools.commands.volumeJob(uuid, "c").job, null);
      await pools.commands.deleteVolume(uuid, "a.raw", 0);
    });
  },
);

testIf("a cancelled clone removes its half-made volume and records it", qemuImgSkip, async () => {
  await withPool(async ({ pools, uuid, path, store }) => {
    await writeData(`${path}/a.raw`, SOURCE_BYTES);
    await pools.commands.refresh(uuid);
    const cloning = pools.commands.cloneVolume(
      uuid,
      volumeXml("c", 0),
      { pool: uuid, name: "a.raw" },
      0,
    );
    await jobOf(pools, uuid, "c");
    const cancelled = pools.commands.cancelVolumeJob(uuid, "c");
    assert.equal(cancelled.job?.cancelled, true);
    await assert.rejects(cloning, assertCode(ErrorCode.OPERATION_ABORTED));
    await assert.rejects(Deno.stat(`${path}/c`), Deno.errors.NotFound);
    assert.deepEqual(pools.commands.volumes(uuid).map((volume) => volume.name), ["a.raw"]);
    const last = (await facts(store, uuid)).at(-1)!;
    assert.equal(last.type, "volume.job_ended");
    assert.deepEqual(
      [last.body.outcome, last.body.removed, last.body.job],
      ["cancelled", true, "clone"],
    );
    // The source is free again.
    await pools.commands.resizeVolume(uuid, "a.raw", BigInt(SOURCE_BYTES) * 2n, 0);
    assert.throws(
      () => pools.commands.cancelVolumeJob(uuid, "a.raw"),
      assertCode(ErrorCode.OPERATION_INVALID, /no job is active/),
    );
  });
});

testIf(
  "a wipe reports growing progress; cancelled, it leaves the volume and records it",
  qemuImgSkip,
  async () => {
    await withPool(async ({ pools, uuid, path, store }) => {
      await writeData(`${path}/w.raw`, SOURCE_BYTES);
      await pools.commands.refresh(uuid);
      const wiping = pools.commands.wipeVolume(uuid, "w.raw", 0, 0);
      const seen: number[] = [];
      const deadline = Date.now() + WAIT_MS;
      while (seen.length < 2 && Date.now() < deadline) {
        const done = pools.commands.volumeJob(uuid, "w.raw").job?.bytesDone ?? 0;
        if (done > 0 && done !== seen.at(-1)) seen.push(done);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      assert.equal(seen.length, 2, `progress seen: ${seen}`);
      assert.ok(seen[0] < seen[1] && seen[1] < SOURCE_BYTES, `progress grows: ${seen}`);
      pools.commands.cancelVolumeJob(uuid, "w.raw");
      await assert.rejects(wiping, assertCode(ErrorCode.OPERATION_ABORTED));
      assert.equal((await Deno.stat(`${path}/w.raw`)).size, SOURCE_BYTES, "the volume stays");
      assert.deepEqual(pools.commands.volumes(uuid).map((volume) => volume.name), ["w.raw"]);
      const ended = (await facts(store, uuid)).find((fact) => fact.type === "volume.job_ended")!;
      assert.deepEqual([ended.body.outcome, ended.body.removed], ["cancelled", false]);
      assert.match(String(ended.body.reason), /part zeroed/);
      // A wipe let run to its end zeroes the volume.
      await pools.commands.wipeVolume(uuid, "w.raw", 0, 0);
      const bytes = await Deno.readFile(`${path}/w.raw`);
      assert.ok(bytes.every((byte) => byte === 0));
    });
  },
);

testIf(
  "a filled create is a job with progress; a clone's progress grows too",
  qemuImgSkip,
  async () => {
    await withPool(async ({ pools, uuid, path }) => {
      const creating = pools.commands.createVolume(
        uuid,
        volumeXml("full", SOURCE_BYTES, SOURCE_BYTES),
        0,
      );
      const job = await jobOf(pools, uuid, "full");
      assert.equal(job.name, "vol-create");
      assert.equal(job.bytesTotal, SOURCE_BYTES);
      await creating;
      assert.ok((await Deno.stat(`${path}/full`)).blocks! * 512 >= SOURCE_BYTES, "filled");
      await writeData(`${path}/a.raw`, SOURCE_BYTES);
      await pools.commands.refresh(uuid);
      const cloning = pools.commands.cloneVolume(
        uuid,
        volumeXml("c", 0, 0, "qcow2"),
        { pool: uuid, name: "a.raw" },
        0,
      );
      const seen = new Set<number>();
      await jobOf(pools, uuid, "c");
      for (let view = pools.commands.volumeJob(uuid, "c"); view.job !== null;) {
        seen.add(view.job.bytesDone);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        try {
          view = pools.commands.volumeJob(uuid, "c");
        } catch {
          break;
        }
      }
      await cloning;
      const values = [...seen].filter((value) => value > 0);
      assert.ok(values.length >= 1, `qemu-img progress was heard: ${[...seen]}`);
      assert.ok(values.every((value) => value <= SOURCE_BYTES));
    });
  },
);

testIf(
  "closing the pools cancels a running clone, which removes its copy and records it",
  qemuImgSkip,
  async () => {
    await withPool(async ({ pools, uuid, path, store }) => {
      await writeData(`${path}/a.raw`, SOURCE_BYTES);
      await pools.commands.refresh(uuid);
      const cloning = pools.commands.cloneVolume(
        uuid,
        volumeXml("c", 0),
        { pool: uuid, name: "a.raw" },
        0,
      );
      await jobOf(pools, uuid, "c");
      const refused = assert.rejects(cloning, assertCode(ErrorCode.OPERATION_ABORTED));
      await pools.close();
      await refused;
      await assert.rejects(Deno.stat(`${path}/c`), Deno.errors.NotFound);
      const last = (await facts(store, uuid)).at(-1)!;
      assert.deepEqual([last.type, last.body.outcome, last.body.removed], [
        "volume.job_ended",
        "cancelled",
        true,
      ]);
    });
  },
);

testIf(
  "a cancelled upload keeps what it wrote and records that it did not finish",
  qemuImgSkip,
  async () => {
    await withPool(async ({ pools, uuid, path, store }) => {
      await pools.commands.createVolume(uuid, volumeXml("u.raw", 8 << 20), 0);
      let release = () => {};
      const held = new Promise<void>((resolve) => release = resolve);
      async function* body() {
        yield new Uint8Array(1 << 20).fill(0x42);
        yield new Uint8Array(1 << 20).fill(0x42);
        await held;
        yield new Uint8Array(1 << 20).fill(0x43);
      }
      const uploading = pools.commands.uploadVolume(uuid, "u.raw", body(), {
        offset: 0,
        length: 0,
      }, false);
      const refused = assert.rejects(uploading, assertCode(ErrorCode.OPERATION_ABORTED));
      const deadline = Date.now() + WAIT_MS;
      while ((pools.commands.volumeJob(uuid, "u.raw").job?.bytesDone ?? 0) < 2 << 20) {
        assert.ok(Date.now() < deadline, "the upload progressed");
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      assert.equal(pools.commands.volumeJob(uuid, "u.raw").job?.name, "vol-upload");
      // The sender is silent: the cancel stops the upload all the same.
      pools.commands.cancelVolumeJob(uuid, "u.raw");
      await refused;
      release();
      const bytes = await Deno.readFile(`${path}/u.raw`);
      assert.equal(bytes[(2 << 20) - 1], 0x42, "what was written stays");
      assert.equal(bytes[2 << 20], 0, "nothing after the cancel");
      const ended = (await facts(store, uuid)).find((fact) => fact.type === "volume.job_ended")!;
      assert.deepEqual([ended.body.job, ended.body.outcome, ended.body.removed], [
        "upload",
        "cancelled",
        false,
      ]);
      assert.match(String(ended.body.reason), /upload did not finish/);
      assert.deepEqual(pools.commands.volumes(uuid).map((volume) => volume.name), ["u.raw"]);
      assert.equal(pools.commands.volumeJob(uuid, "u.raw").job, null);
    });
  },
);

testIf("bad clone input gets libvirt's codes and changes nothing", qemuImgSkip, async () => {
  await withPool(async ({ pools, uuid, path, store }) => {
    await Deno.writeFile(`${path}/a.raw`, new Uint8Array(65536).fill(1));
    await Deno.writeFile(`${path}/b.raw`, new Uint8Array(4096));
    await pools.commands.refresh(uuid);
    const before = await facts(store, uuid);
    const files = () => [...Deno.readDirSync(path)].map((entry) => entry.name).sort();
    const listed = files();
    await assert.rejects(
      pools.commands.cloneVolume(uuid, volumeXml("x", 0), { pool: uuid, name: "nope" }, 0),
      assertCode(ErrorCode.NO_STORAGE_VOL, /no storage vol with matching name 'nope'/),
    );
    await assert.rejects(
      pools.commands.cloneVolume(uuid, volumeXml("x/y", 0), { pool: uuid, name: "a.raw" }, 0),
      assertCode(ErrorCode.OPERATION_INVALID, /cannot contain '\/'/),
    );
    await assert.rejects(
      pools.commands.cloneVolume(uuid, volumeXml("b.raw", 0), { pool: uuid, name: "a.raw" }, 0),
      assertCode(ErrorCode.STORAGE_VOL_EXIST),
    );
    await assert.rejects(
      pools.commands.cloneVolume(uuid, volumeXml("x", 0), { pool: uuid, name: "a.raw" }, 64),
      assertCode(ErrorCode.INVALID_ARG),
    );
    assert.equal((await facts(store, uuid)).length, before.length, "nothing recorded");
    assert.deepEqual(files(), listed, "nothing made");
    assert.deepEqual(pools.actors()[0].snapshot.context.jobs, {});
  });
});

testIf(
  "recovery removes a clone a crash cut and keeps a volume an upload was writing",
  qemuImgSkip,
  async () => {
    await withTempDir("evirt-voljobs-", async (dir) => {
      const store = createMemoryStore({ factTypes: STORAGE_FACT_TYPES });
      const first = await StoragePools.open({ store });
      const path = `${dir}/p`;
      const pool = await first.define(
        `<pool type='dir'><name>p</name><target><path>${path}</path></target></pool>`,
      );
      await first.commands.start(pool.uuid, 1);
      await first.commands.createVolume(pool.uuid, volumeXml("up.raw", 8192), 0);
      // What a crash leaves: two intents recorded, a half-made copy and a half-written volume.
      const actor = first.byUuid(pool.uuid);
      await actor.append([
        {
          type: "volume.job_started",
          body: {
            name: "half",
            job: "clone",
            path: `${path}/half`,
            plan: { name: "half", path: `${path}/half`, format: "raw", capacityBytes: 65536 },
            source: { pool: pool.uuid, name: "up.raw" },
            bytesTotal: 65536,
          },
        },
        {
          type: "volume.job_started",
          body: { name: "up.raw", job: "upload", path: `${path}/up.raw`, bytesTotal: 8192 },
        },
      ]);
      await Deno.writeFile(`${path}/half`, new Uint8Array(4096).fill(7));
      await Deno.writeFile(`${path}/up.raw`, new Uint8Array(4096).fill(9));

      const second = await StoragePools.open({ store });
      assert.deepEqual(second.commands.volumes(pool.uuid).map((volume) => volume.name), [
        "up.raw",
      ]);
      await assert.rejects(Deno.stat(`${path}/half`), Deno.errors.NotFound);
      assert.equal((await Deno.readFile(`${path}/up.raw`))[0], 9, "the upload's bytes stay");
      assert.deepEqual(second.actors()[0].snapshot.context.jobs, {});
      const ended = (await facts(store, pool.uuid)).filter((fact) =>
        fact.type === "volume.job_ended"
      ).map((fact) => [fact.body.name, fact.body.outcome, fact.body.removed]);
      assert.deepEqual(ended, [["half", "interrupted", true], ["up.raw", "interrupted", false]]);
      // pool-refresh agrees with what recovery left.
      await second.commands.refresh(pool.uuid);
      assert.deepEqual(second.commands.volumes(pool.uuid).map((volume) => volume.name), [
        "up.raw",
      ]);
      await store.close();
    });
  },
);
