/**
 * The storage routes over the in-process API, through the storage client: a dir pool's
 * lifecycle, volumes made, found, resized, cloned, wiped and deleted, and refusals with
 * libvirt's codes (a missing pool or volume, a bad capacity, a read-only caller), nothing
 * changed by a refused call.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StoragePools } from "../../../../actors/storage_pools.ts";
import { EvirtClient } from "../../../../src/client/client.ts";
import { StorageClient } from "../../../../src/client/storage_client.ts";
import { createMemoryStore } from "../../../../src/log/memory_store.ts";
import { ErrorCode, isVirtError } from "../../../../src/model/errors.ts";
import { STORAGE_FACT_TYPES } from "../../../../src/model/storage_facts.ts";
import { createServiceCore, type ServiceCore } from "../../../../src/service/service.ts";
import { TestDriver } from "../../../../drivers/test/test_driver.ts";
import { missing, testIf } from "../../../support/environment.ts";

async function core(): Promise<ServiceCore> {
  return await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    events: { heartbeatMs: 60_000 },
    hostname: () => "node1",
    log: () => {},
  });
}

function joinBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(chunks.reduce((sum, each) => sum + each.length, 0));
  let at = 0;
  for (const each of chunks) {
    joined.set(each, at);
    at += each.length;
  }
  return joined;
}

async function refusedWith(code: number, call: () => Promise<unknown>): Promise<void> {
  await assert.rejects(call, (error) => isVirtError(error, code));
}

testIf(
  "storage routes run a dir pool and its volumes with libvirt's codes",
  missing("qemu-img"),
  async () => {
    const service = await core();
    const dir = await Deno.makeTempDir({ prefix: "evirt-storage-routes-" });
    const storage = await StoragePools.open({
      store: createMemoryStore({ factTypes: STORAGE_FACT_TYPES }),
    });
    service.attachStorage(storage);
    const client = new StorageClient(
      new EvirtClient((request) => service.api.handle(request, "read-write")),
    );
    const readOnly = new StorageClient(
      new EvirtClient((request) => service.api.handle(request, "read-only")),
    );
    try {
      const xml = `<pool type='dir'><name>p</name><target><path>${dir}/p</path></target></pool>`;
      const defined = await client.definePool(xml);
      assert.equal(defined.stateName, "inactive");
      assert.equal((await client.poolAction("p", "build")).name, "p");
      const started = await client.poolAction(defined.uuid, "start");
      assert.equal(started.stateName, "running");
      assert.deepEqual((await client.pools()).map((pool) => pool.name), ["p"]);
      const info = await client.poolInfo("p");
      assert.ok(info.capacityBytes > 0 && info.availableBytes > 0);
      assert.match(await client.poolXml("p"), /<pool type='dir'>/);
      assert.equal((await client.setPoolAutostart("p", true)).autostart, true);

      const made = await client.createVolume(
        "p",
        "<volume><name>a.qcow2</name><capacity unit='M'>4</capacity>" +
          "<target><format type='qcow2'/></target></volume>",
      );
      assert.equal(made.path, `${dir}/p/a.qcow2`);
      assert.equal(made.capacityBytes, 4 << 20);
      assert.equal(made.typeName, "file");
      assert.equal((await client.lookupVolume("path", made.path)).name, "a.qcow2");
      assert.equal((await client.lookupVolume("key", made.key)).pool, "p");
      assert.match(await client.volumeXml("p", "a.qcow2"), /<format type='qcow2'\/>/);
      const grown = await client.resizeVolume("p", "a.qcow2", 8n << 20n);
      assert.equal(grown.capacityBytes, 8 << 20);
      const copy = await client.cloneVolume(
        "p",
        "a.qcow2",
        "<volume><name>b.qcow2</name><capacity>0</capacity>" +
          "<target><format type='qcow2'/></target></volume>",
      );
      assert.equal(copy.capacityBytes, 8 << 20);
      assert.deepEqual((await client.volumes("p")).map((volume) => volume.name), [
        "a.qcow2",
        "b.qcow2",
      ]);

      // Upload and download, and a volume busy with a transfer refuses other calls at once.
      await client.createVolume(
        "p",
        "<volume><name>r.raw</name><capacity>2097152</capacity></volume>",
      );
      const content = new Uint8Array(1 << 20).map((_, index) => index % 253);
      const uploaded = await client.upload("p", "r.raw", ReadableStream.from([content]), {
        offset: 4096,
      });
      assert.equal(uploaded.bytes, content.length);
      assert.equal(uploaded.volume.capacityBytes, 2 << 20);
      const download = await client.download("p", "r.raw", {
        offset: 4096,
        length: content.length,
      });
      const iterator = download[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.ok(!first.done);
      await assert.rejects(
        () => client.deleteVolume("p", "r.raw"),
        (error) =>
          isVirtError(error, ErrorCode.OPERATION_INVALID) && /still in use/.test(String(error)),
      );
      await assert.rejects(
        () => client.upload("p", "r.raw", ReadableStream.from([content])),
        (error) => isVirtError(error, ErrorCode.OPERATION_INVALID),
      );
      // The job view names the transfer; cancel is refused to a read-only caller.
      const job = await readOnly.volumeJob("p", "r.raw");
      assert.equal(job.pool, "p");
      assert.equal(job.job?.name, "vol-download");
      assert.equal(job.job?.bytesTotal, 2 << 20);
      await refusedWith(ErrorCode.OPERATION_DENIED, () => readOnly.cancelVolumeJob("p", "r.raw"));
      const received: Uint8Array[] = [first.value as Uint8Array];
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        received.push(next.value as Uint8Array);
      }
      assert.deepEqual(joinBytes(received), content);
      assert.deepEqual(await client.volumeJob("p", "r.raw"), {
        pool: "p",
        volume: "r.raw",
        job: null,
      });
      await refusedWith(ErrorCode.OPERATION_INVALID, () => client.cancelVolumeJob("p", "r.raw"));
      await refusedWith(ErrorCode.NO_STORAGE_VOL, () => client.volumeJob("p", "nope"));

      // Sparse both ways: zero blocks travel as hole records and stay holes.
      const image = new Uint8Array(2 << 20);
      image.fill(9, 0, 4096);
      const sparseUp = await client.upload("p", "r.raw", ReadableStream.from([image]), {
        sparse: true,
      });
      assert.equal(sparseUp.bytes, image.length);
      assert.ok(sparseUp.volume.allocationBytes < 1 << 20, `${sparseUp.volume.allocationBytes}`);
      const pieces: (Uint8Array | number)[] = [];
      for await (const piece of await client.download("p", "r.raw", { sparse: true })) {
        pieces.push(piece);
      }
      const holes = pieces.filter((piece) => typeof piece === "number") as number[];
      assert.ok(holes.reduce((sum, each) => sum + each, 0) >= 1 << 20, JSON.stringify(holes));
      const rebuilt = new Uint8Array(image.length);
      let at = 0;
      for (const piece of pieces) {
        if (typeof piece === "number") at += piece;
        else {
          rebuilt.set(piece, at);
          at += piece.length;
        }
      }
      assert.equal(at, image.length);
      assert.deepEqual(rebuilt, image);
      await client.deleteVolume("p", "r.raw");

      // Refusals: codes as libvirt's, nothing changed.
      await refusedWith(ErrorCode.NO_STORAGE_POOL, () => client.poolInfo("nope"));
      await refusedWith(ErrorCode.NO_STORAGE_VOL, () => client.volume("p", "nope"));
      await refusedWith(ErrorCode.NO_STORAGE_VOL, () => client.lookupVolume("path", "/nope"));
      await refusedWith(ErrorCode.OPERATION_INVALID, () => client.poolAction("p", "start"));
      await refusedWith(ErrorCode.INVALID_ARG, () => client.resizeVolume("p", "a.qcow2", -1n));
      await refusedWith(ErrorCode.INVALID_ARG, () => client.wipeVolume("p", "a.qcow2", "bogus"));
      await refusedWith(
        ErrorCode.OPERATION_DENIED,
        () => readOnly.deleteVolume("p", "a.qcow2"),
      );
      assert.equal((await readOnly.volume("p", "a.qcow2")).capacityBytes, 8 << 20);

      await client.wipeVolume("p", "b.qcow2");
      await client.deleteVolume("p", "b.qcow2");
      await client.deleteVolume("p", "a.qcow2");
      assert.deepEqual(await client.volumes("p"), []);
      assert.equal((await client.poolAction("p", "destroy")).active, false);
      await client.poolAction("p", "delete");
      await client.undefinePool("p");
      assert.deepEqual(await client.pools(), []);
    } finally {
      await storage.close();
      await service.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("storage routes answer code 3 on a connection without storage pools", async () => {
  const service = await core();
  try {
    const client = new StorageClient(
      new EvirtClient((request) => service.api.handle(request, "read-write")),
    );
    await refusedWith(ErrorCode.NO_SUPPORT, () => client.pools());
  } finally {
    await service.close();
  }
});
