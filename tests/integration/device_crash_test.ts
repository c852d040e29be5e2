/**
 * A live detach survives a SIGKILL of the service: the removal is recorded as pending (its
 * intent, durable in the SQLite log) while the paused guest cannot answer; the service is
 * killed; the guest runs again and lets go of the disk while no service listens; the restarted
 * service finds the device gone and records its removal, so the live XML no longer shows it.
 * Every QEMU the service started is ended in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { guestDefinition } from "./_qemu_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64");

/** Bound on the guest's release of the disk once it runs again, in milliseconds. */
const RELEASE_TIMEOUT_MS = 15_000;

const DISK_XML = (path: string) =>
  `<disk type='file' device='disk'><driver name='qemu' type='raw'/>` +
  `<source file='${path}'/><target dev='vdb' bus='virtio'/></disk>`;

testIf(
  "a live detach pending when the service is SIGKILLed completes after the restart",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    let service: ServiceProcess = await startServiceProcess(dirs);
    let pids: number[] = [];
    try {
      const serial = `${base}/serial.log`;
      const definition = guestDefinition("crashy", { serial: { file: serial } });
      definition.os.machine = "pc";
      const disk = `${base}/data.img`;
      Deno.writeFileSync(disk, new Uint8Array(4 * 1024 * 1024), { mode: 0o600 });
      definition.devices.disks.push({
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "raw" },
        source: { file: disk, hosts: [] },
        target: { dev: "vdb", bus: "virtio" },
      });
      await service.client.define({ definition });
      await service.client.action("crashy", "start");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      pids = serviceQemuPids(dirs.runtimeDir);
      // Paused, the guest cannot answer: the removal stays pending past libvirt's 5 s.
      await service.client.action("crashy", "suspend");
      const { pending } = await service.client.changeDevice("crashy", "detach", DISK_XML(disk), {
        live: true,
      });
      assert.deepEqual(pending, ["virtio-disk1"]);
      await service.stop("SIGKILL");

      const [folder] = [...Deno.readDirSync(`${dirs.runtimeDir}/qemu`)]
        .filter((entry) => entry.isDirectory && entry.name.startsWith("domain-"));
      const monitor = await QmpMonitor.connect(
        `${dirs.runtimeDir}/qemu/${folder.name}/monitor.sock`,
      );
      try {
        const qmp = new QmpCommands(monitor);
        await qmp.cont();
        const deadline = Date.now() + RELEASE_TIMEOUT_MS;
        // Bounded by RELEASE_TIMEOUT_MS.
        while (
          await qmp.qomGet("/machine/peripheral/virtio-disk1", "type").then(() => true, () => false)
        ) {
          assert.ok(Date.now() < deadline, "the guest released the disk");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await monitor.close();
      }

      service = await startServiceProcess(dirs);
      const { definition: live } = await service.client.definition("crashy");
      assert.equal(live.devices.disks.some((each) => each.target.dev === "vdb"), false);
      assert.doesNotMatch(await service.client.xml("crashy"), /vdb/);
      assert.match(await service.client.xml("crashy", { inactive: true }), /vdb/, "live only");
    } finally {
      pids = [...new Set([...pids, ...serviceQemuPids(dirs.runtimeDir)])];
      await service.stop("SIGTERM").catch(() => undefined);
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);
