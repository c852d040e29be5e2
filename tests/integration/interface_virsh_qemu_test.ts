/**
 * The interface verbs on a running real guest through the service's two doors: real virsh over
 * evirt's libvirt socket attaches a user-mode NIC (`attach-device --live`), reads and sets its
 * link (`domif-getlink`, `domif-setlink`, which virsh builds on dumpxml + update-device), and
 * detaches it (`detach-interface`, which virsh builds on dumpxml + detach-device) once the
 * guest lets go; evirt's own CLI does the same, and refuses as virsh refuses. Every QEMU the
 * service started is ended in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { guestDefinition } from "./_qemu_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "virsh");

const MAC = "52:54:00:4e:01:01";
const MAC_EVIRT = "52:54:00:4e:01:02";

testIf(
  "virsh and evirt's CLI attach a NIC to a running guest, set its link down and up, and detach it through the service",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const evirt = (...args: string[]) =>
      runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
    try {
      const serial = `${base}/serial.log`;
      const definition = guestDefinition("nic", { serial: { file: serial } });
      definition.os.machine = "pc";
      await service.client.define({ definition });
      assert.equal((await runVirsh(uri, ["start", "nic"])).code, 0);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      // virsh: attach-device --live, then the link through dumpxml + update-device.
      const xmlPath = `${base}/nic.xml`;
      Deno.writeTextFileSync(
        xmlPath,
        `<interface type='user'><mac address='${MAC}'/><model type='virtio'/></interface>`,
      );
      const attach = await runVirsh(uri, ["attach-device", "nic", xmlPath, "--live"]);
      assert.equal(attach.stdout, "Device attached successfully\n\n", attach.stderr);
      assert.equal((await runVirsh(uri, ["domif-getlink", "nic", MAC])).stdout, `${MAC} up\n`);
      const down = await runVirsh(uri, ["domif-setlink", "nic", MAC, "down"]);
      assert.equal(down.stdout, "Device updated successfully\n\n", down.stderr);
      assert.equal((await runVirsh(uri, ["domif-getlink", "nic", MAC])).stdout, `${MAC} down\n`);
      assert.equal((await evirt("domif-getlink", "nic", MAC)).stdout, `${MAC} down\n`);
      assert.match((await runVirsh(uri, ["dumpxml", "nic"])).stdout, /<link state='down'\/>/);
      const up = await runVirsh(uri, ["domif-setlink", "nic", MAC, "up"]);
      assert.equal(up.stdout, "Device updated successfully\n\n", up.stderr);
      assert.equal((await runVirsh(uri, ["domif-getlink", "nic", MAC])).stdout, `${MAC} up\n`);
      // The definition was not touched by the live changes.
      assert.doesNotMatch((await evirt("dumpxml", "--inactive", "nic")).stdout, /<interface/);

      // virsh's refusals for a type evirt does not run, and a model libvirt does not change live.
      const refused = await runVirsh(uri, ["attach-interface", "nic", "direct", "eth0"]);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /Failed to attach interface\nerror: unsupported configuration: network interface type 'direct' is not supported by the qemu driver/,
      );
      Deno.writeTextFileSync(
        xmlPath,
        `<interface type='user'><mac address='${MAC}'/><model type='e1000'/></interface>`,
      );
      const model = await runVirsh(uri, ["update-device", "nic", xmlPath, "--live"]);
      assert.match(
        model.stderr,
        /Operation not supported: cannot modify network device model from virtio to e1000/,
      );

      // evirt's CLI: a second NIC (no MAC given: the service makes one).
      Deno.writeTextFileSync(
        xmlPath,
        `<interface type='user'><mac address='${MAC_EVIRT}'/><model type='virtio'/></interface>`,
      );
      const second = await evirt("attach-device", "nic", xmlPath, "--live");
      assert.equal(second.stdout, "Device attached successfully\n\n", second.stderr);
      const many = await evirt("detach-interface", "nic", "user");
      assert.notEqual(many.code, 0);
      assert.equal(
        many.stderr,
        "error: Domain has 2 interfaces. Please specify which one to detach using --mac\n" +
          "error: Failed to detach interface\n",
      );
      const setlink = await evirt("domif-setlink", "nic", MAC_EVIRT, "down");
      assert.equal(setlink.stdout, "Device updated successfully\n\n", setlink.stderr);
      assert.equal((await evirt("domif-getlink", "nic", MAC_EVIRT)).stdout, `${MAC_EVIRT} down\n`);
      const byEvirt = await evirt("detach-interface", "nic", "user", "--mac", MAC_EVIRT);
      assert.equal(byEvirt.stdout, "Interface detached successfully\n\n", byEvirt.stderr);

      // virsh detach-interface: found in the live XML by MAC, removed once the guest lets go.
      const detach = await runVirsh(uri, ["detach-interface", "nic", "user", "--mac", MAC]);
      assert.equal(detach.stdout, "Interface detached successfully\n\n", detach.stderr);
      assert.doesNotMatch((await runVirsh(uri, ["dumpxml", "nic"])).stdout, /<interface/);
      const gone = await runVirsh(uri, ["domif-getlink", "nic", MAC]);
      assert.match(gone.stderr, new RegExp(`Interface \\(mac: ${MAC}\\) not found`));

      // --persistent of a running guest: the definition first, then the guest, as virsh 9.0
      // (whose second pass finds no such interface in the guest).
      for (
        const [who, run] of [["virsh", (...args: string[]) => runVirsh(uri, args)], [
          "evirt",
          evirt,
        ]] as const
      ) {
        Deno.writeTextFileSync(
          xmlPath,
          `<interface type='user'><mac address='${MAC_EVIRT}'/></interface>`,
        );
        assert.equal((await run("attach-device", "nic", xmlPath, "--config")).code, 0, who);
        const both = await run(
          "detach-interface",
          "nic",
          "user",
          "--persistent",
          "--mac",
          MAC_EVIRT,
        );
        assert.equal(
          both.stderr,
          "error: No interface found whose type is user\nerror: Failed to detach interface\n",
          who,
        );
        assert.doesNotMatch(
          (await evirt("dumpxml", "--inactive", "nic")).stdout,
          /<interface/,
          `${who}: the definition lost it`,
        );
      }
    } finally {
      const pids = serviceQemuPids(dirs.runtimeDir);
      await service.stop("SIGTERM");
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);
