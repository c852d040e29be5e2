/**
 * Huge-page guest memory through the QEMU driver, on a stand-in folder for a hugetlbfs mount
 * (this host may have no huge pages): the start makes the domain's folder under the mount, names
 * it in the runtime record and gives QEMU its RAM from it; a restarted service (the mount gone)
 * finds the guest, and its destroy removes the folder the record names.
 */

import assert from "node:assert/strict";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { missing, testIf } from "../support/environment.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { killAll } from "./_qemu_guest.ts";

/** Bound on the start and the destroy, in milliseconds. */
const CASE_TIMEOUT_MS = 30_000;

const XML = `<domain type='qemu'>
  <name>huge</name>
  <uuid>6b3e6e4c-5a2f-4d43-9b9e-4b0c9a1f7a11</uuid>
  <memory unit='MiB'>64</memory>
  <memoryBacking><hugepages/></memoryBacking>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>`;

testIf(
  "QemuDriver gives huge-page RAM from the domain's folder under the mount and removes it at the end",
  missing("qemu-system-x86_64"),
  async () => {
    const root = searchableTempDirSync("evirt-hugepages-");
    const mount = `${root}/hugepages`;
    Deno.mkdirSync(mount);
    const driver = await QemuDriver.create({
      runtimeDir: `${root}/run`,
      logDir: `${root}/log`,
      log: () => {},
      hugetlbfs: [{ path: mount, pageSizeKiB: 2048 }],
    });
    const definition = applyDomainDefaults(parseDomainXml(XML));
    const request = { uuid: definition.uuid!, name: definition.name, id: 7, definition };
    let launched: { pid: number; startTimeTicks: number } | undefined;
    try {
      const planned = driver.plan(request);
      const folder = `${mount}/libvirt/qemu/domain-7-huge`;
      assert.equal(planned.hugepageFolders, JSON.stringify([folder]));
      const runtime = await driver.launch(request, AbortSignal.timeout(CASE_TIMEOUT_MS));
      launched = { pid: Number(runtime.pid), startTimeTicks: Number(runtime.startTimeTicks) };
      assert.equal(runtime.hugepageFolders, JSON.stringify([folder]));
      assert.ok(Deno.statSync(folder).isDirectory);
      const commandLine = Deno.readTextFileSync(`/proc/${runtime.pid}/cmdline`).split("\0");
      assert.ok(
        commandLine.includes(
          `memory-backend-file,id=pc.ram,size=64M,mem-path=${folder},prealloc=on`,
        ),
        commandLine.join(" "),
      );
      // A service restarted where the mount is gone still finds the guest and, at its end,
      // removes the folder its runtime record names.
      driver.unwatch(request.uuid);
      const restarted = await QemuDriver.create({
        runtimeDir: `${root}/run`,
        logDir: `${root}/log`,
        log: () => {},
        hugetlbfs: [],
      });
      try {
        const handle = { ...request, runtime };
        const reality = await restarted.probe(handle, AbortSignal.timeout(CASE_TIMEOUT_MS));
        assert.equal(reality.kind, "paused");
        await restarted.terminate(
          handle,
          { graceful: false },
          AbortSignal.timeout(CASE_TIMEOUT_MS),
        );
        launched = undefined;
        restarted.unwatch(request.uuid);
      } finally {
        await restarted.close();
      }
      assert.throws(() => Deno.statSync(folder), Deno.errors.NotFound);
    } finally {
      if (launched !== undefined) {
        driver.unwatch(request.uuid);
        await killAll([launched]);
      }
      await driver.close();
      Deno.removeSync(root, { recursive: true });
    }
  },
);
