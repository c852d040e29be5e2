/**
 * A domain disk `<disk type='volume'>` on the real service: its start fails with libvirt's
 * error while the pool is missing or inactive, succeeds once the volume exists (the live XML
 * keeps the pool and volume), and the volume is not deleted while the domain runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StorageClient } from "../../src/client/storage_client.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";

Deno.test("a volume disk resolves at start, and its volume is kept while the domain runs", async () => {
  const dirs = await serviceDirs();
  const base = dirs.stateDir.replace(/\/state$/, "");
  const service = await startServiceProcess(dirs);
  const storage = new StorageClient(service.client);
  try {
    await service.client.define({
      xml: `<domain type='test'><name>vd</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
        `<os><type>hvm</type></os><devices><disk type='volume' device='disk'>` +
        `<source pool='vp' volume='v.raw'/><target dev='vda' bus='virtio'/></disk>` +
        `</devices></domain>`,
    });
    await assert.rejects(
      () => service.client.action("vd", "start"),
      (error) => isVirtError(error, ErrorCode.NO_STORAGE_POOL),
    );
    await storage.definePool(
      `<pool type='dir'><name>vp</name><target><path>${base}/vp</path></target></pool>`,
    );
    await storage.poolAction("vp", "build");
    await assert.rejects(
      () => service.client.action("vd", "start"),
      (error) =>
        isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
        /storage pool 'vp' containing volume 'v.raw' is not active/.test(String(error)),
    );
    await storage.poolAction("vp", "start");
    await assert.rejects(
      () => service.client.action("vd", "start"),
      (error) => isVirtError(error, ErrorCode.NO_STORAGE_VOL),
    );
    await storage.createVolume(
      "vp",
      "<volume><name>v.raw</name><capacity>1048576</capacity></volume>",
    );
    await service.client.action("vd", "start");
    const live = await service.client.xml("vd");
    assert.match(live, /<disk type='volume' device='disk'>/);
    assert.match(live, /<source pool='vp' volume='v.raw'/);
    await assert.rejects(
      () => storage.deleteVolume("vp", "v.raw"),
      (error) =>
        isVirtError(error, ErrorCode.OPERATION_INVALID) &&
        /'v.raw' is still in use/.test(String(error)),
    );
    assert.equal((await storage.volumes("vp")).length, 1, "nothing deleted");
    await service.client.action("vd", "destroy");
    await storage.deleteVolume("vp", "v.raw");
    assert.deepEqual(await storage.volumes("vp"), []);
  } finally {
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});
