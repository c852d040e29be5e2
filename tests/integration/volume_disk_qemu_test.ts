/**
 * A QEMU guest whose disk is `<disk type='volume'>` in a dir pool: QEMU opens the volume's
 * file, the live XML keeps the pool and volume, and the volume is not deleted while the guest
 * runs. The QEMU is ended in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StorageClient } from "../../src/client/storage_client.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestInitrdPath, guestKernelPath, guestSkipReason } from "../support/guest.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";

testIf(
  "a QEMU guest runs on a pool's volume named by <disk type='volume'>",
  guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img"),
  async () => {
    const dirs = await serviceDirs();
    // Its own folder: QEMU's user must reach the volume (the service's folder is 0700).
    const poolDir = await Deno.makeTempDir({ prefix: "evirt-voldisk-" });
    await Deno.chmod(poolDir, 0o755);
    const service = await startServiceProcess(dirs);
    const storage = new StorageClient(service.client);
    const name = `evirt-voldisk-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await storage.createPool(
        `<pool type='dir'><name>vq</name><target><path>${poolDir}</path></target></pool>`,
      );
      const volume = await storage.createVolume(
        "vq",
        "<volume><name>d.qcow2</name><capacity unit='M'>16</capacity>" +
          "<target><format type='qcow2'/></target></volume>",
      );
      await service.client.define({
        xml: `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${guestKernelPath()}</kernel>
    <initrd>${guestInitrdPath}</initrd><cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='vq' volume='d.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>`,
      });
      const owner = (await Deno.stat(volume.path)).uid;
      await service.client.action(name, "start");
      const [pid] = serviceQemuPids(dirs.runtimeDir);
      const argv = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0");
      const files = argv.flatMap((arg, index) =>
        arg === "-blockdev" ? [JSON.parse(argv[index + 1])] : []
      ).filter((node) => node.driver === "file").map((node) => node.filename);
      assert.deepEqual(files, [volume.path]);
      const live = await service.client.xml(name);
      assert.match(live, /<disk type='volume' device='disk'>/);
      assert.match(live, /<source pool='vq' volume='d.qcow2'/);
      await assert.rejects(
        () => storage.deleteVolume("vq", "d.qcow2"),
        (error) => isVirtError(error, ErrorCode.OPERATION_INVALID),
      );
      await service.client.action(name, "destroy");
      // The volume's owner is given back once QEMU is gone, as for a file disk.
      assert.equal((await Deno.stat(volume.path)).uid, owner);
      await storage.deleteVolume("vq", "d.qcow2");
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
      await Deno.remove(poolDir, { recursive: true });
    }
  },
);
