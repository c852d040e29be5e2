/**
 * A LUKS disk end to end through the service and the real `virsh`: a secret defined and given
 * the image's passphrase (`secret-define`, `secret-set-value`), a domain whose disk names the
 * secret starts and runs; with the secret's value changed to a wrong passphrase the start
 * fails with QEMU's reason; with the secret undefined it fails with libvirt's `Secret not
 * found`. Every QEMU is ended by `destroy` or by the service's stop.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { makeLuksImage } from "../support/luks_image.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const SECRET_UUID = "5f3a2f0e-9c1d-4b7a-8e2f-6d0c1b2a3e4f";
const PASSPHRASE = "service passphrase";

testIf(
  "a domain with a LUKS disk starts with its secret's passphrase through the service",
  missing("virsh", "qemu-system-x86_64", "qemu-img"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const image = `${base}/disk.luks`;
    try {
      await makeLuksImage(image, "raw", PASSPHRASE);
    } catch (error) {
      // Nothing else exists yet: the folders go with the failure.
      await removeServiceDirs(dirs);
      throw error;
    }
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = (...args: string[]) => runVirsh(uri, args);
    try {
      Deno.writeTextFileSync(
        `${base}/secret.xml`,
        `<secret ephemeral='no' private='yes'><uuid>${SECRET_UUID}</uuid>` +
          `<usage type='volume'><volume>${image}</volume></usage></secret>`,
      );
      Deno.writeTextFileSync(
        `${base}/domain.xml`,
        `<domain type='qemu'><name>luks-e2e</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${image}'/>
      <target dev='vda' bus='virtio'/>
      <encryption format='luks'><secret type='passphrase' uuid='${SECRET_UUID}'/></encryption>
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>`,
      );
      const ok = async (...args: string[]) => {
        const run = await virsh(...args);
        assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
        return run.stdout;
      };
      await ok("secret-define", `${base}/secret.xml`);
      await ok("secret-set-value", SECRET_UUID, "--base64", btoa(PASSPHRASE));
      await ok("define", `${base}/domain.xml`);
      await ok("start", "luks-e2e");
      assert.equal((await ok("domstate", "luks-e2e")).trim(), "running");
      assert.match(await ok("domblklist", "luks-e2e"), /vda\s+\S*disk\.luks/);
      await ok("destroy", "luks-e2e");

      await ok("secret-set-value", SECRET_UUID, "--base64", btoa("a wrong passphrase"));
      const wrong = await virsh("start", "luks-e2e");
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /Invalid password, cannot unlock any keyslot/);

      await ok("secret-undefine", SECRET_UUID);
      const gone = await virsh("start", "luks-e2e");
      assert.equal(gone.code, 1);
      assert.match(
        gone.stderr,
        new RegExp(`Secret not found: no secret with matching uuid '${SECRET_UUID}'`),
      );
      assert.equal((await ok("domstate", "luks-e2e")).trim(), "shut off");
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
