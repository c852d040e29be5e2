/**
 * Live disk hotplug of evirt beside bare QMP, in one run on the same running test guest
 * (i440fx, ACPI PCI hotplug, the guest's kernel acknowledging each unplug):
 *
 * - attach: evirt `attach-device --live` (definition completed, nodes and device added, the
 *   `domain.device_attached` fact durable in a SQLite log) vs bare `blockdev-add` ×2 +
 *   `device_add` of the same disk on the same monitor;
 * - detach: evirt `detach-device --live` answered once the guest released the disk (intent
 *   fact, `device_del`, DEVICE_DELETED recorded) vs bare `device_del` then polling QOM every
 *   5 ms until the device is gone, then `blockdev-del` ×2 (retried until the node is free).
 *
 * Usage: `deno run -A bench/device_hotplug.ts`; `EVIRT_BENCH_ITERATIONS` (default 20) rounds.
 * Needs qemu-system-x86_64 and the test guest (`.cache/guest`); the QEMU started is destroyed
 * and killed by pid before the script ends.
 *
 * @module
 */

import { medianSummary } from "./_figures.ts";
import { Host } from "../actors/host.ts";
import { QemuDriver } from "../drivers/qemu/qemu_driver.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";
import { type DomainDefinition, emptyDevices } from "../src/model/domain.ts";
import { parseDeviceXml } from "../src/xml/parse_device.ts";
import { guestInitrdPath, guestKernelCmdline, guestKernelPath } from "../tests/support/guest.ts";
import { searchableTempDirSync } from "../tests/support/temp_dir.ts";

const ITERATIONS_DEFAULT = 20;
/** Bound on any one wait, in milliseconds. */
const WAIT_TIMEOUT_MS = 10_000;
const POLL_MS = 5;

function guest(name: string, serial: string): DomainDefinition {
  const devices = emptyDevices();
  devices.serials.push({ type: "file", sources: [{ path: serial }] });
  devices.memballoon = { model: "none" };
  return {
    type: "qemu",
    name,
    uuid: crypto.randomUUID(),
    memoryKiB: 128 * 1024,
    vcpus: 1,
    features: { acpi: {} },
    os: {
      type: "hvm",
      machine: "pc",
      kernel: guestKernelPath(),
      initrd: guestInitrdPath,
      cmdline: guestKernelCmdline(),
      boot: [],
    },
    devices,
  };
}

async function until(predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS;
  // Bounded by WAIT_TIMEOUT_MS.
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const iterations = parsePositiveInteger(
  Deno.env.toObject(),
  "EVIRT_BENCH_ITERATIONS",
  ITERATIONS_DEFAULT,
);
if (guestKernelPath() === undefined) {
  console.log("skipped: the test guest is not built (.cache/guest)");
  Deno.exit(0);
}
const dir = searchableTempDirSync("evirt-hotplug-bench-");
const driver = await QemuDriver.create({
  runtimeDir: `${dir}/run`,
  logDir: `${dir}/log`,
  log: () => {},
});
Deno.mkdirSync(`${dir}/state`);
const store = await openSqliteStore(`${dir}/state`);
const host = await Host.open({ store, drivers: [driver], log: () => {} });
let pid: number | undefined;
try {
  const serial = `${dir}/serial.log`;
  await host.define(guest("bench", serial));
  await host.start("bench");
  pid = host.context("bench").runtime?.pid as number;
  await until(() => {
    try {
      return Deno.readTextFileSync(serial).includes("GUEST-READY");
    } catch {
      return false;
    }
  }, "the guest");
  const image = `${dir}/disk.img`;
  using file = Deno.openSync(image, { create: true, write: true });
  file.truncateSync(16 * 1024 * 1024);
  Deno.chmodSync(image, 0o666);
  const xml = `<disk type='file' device='disk'><driver name='qemu' type='raw'/>` +
    `<source file='${image}'/><target dev='vdb' bus='virtio'/></disk>`;
  const change = parseDeviceXml(xml);
  const qmp = driver.qmpOf(host.context("bench").uuid);
  const figures = {
    evirtAttach: [] as number[],
    evirtDetach: [] as number[],
    bareAttach: [] as number[],
    bareDetach: [] as number[],
  };
  for (let round = 0; round < iterations; round++) {
    let started = performance.now();
    await host.changeDevice("bench", { action: "attach", change, live: true });
    figures.evirtAttach.push(performance.now() - started);
    started = performance.now();
    const pending = await host.changeDevice("bench", { action: "detach", change, live: true });
    if (pending.length > 0) throw new Error(`the guest did not release the disk: ${pending}`);
    figures.evirtDetach.push(performance.now() - started);

    started = performance.now();
    await qmp.blockdevAdd({
      driver: "file",
      filename: image,
      "node-name": "bare-storage",
      "read-only": false,
    });
    await qmp.blockdevAdd({
      driver: "raw",
      file: "bare-storage",
      "node-name": "bare-format",
      "read-only": false,
    });
    await qmp.deviceAdd({
      driver: "virtio-blk-pci",
      id: "bare-disk",
      drive: "bare-format",
      bus: "pci.0",
      addr: "0x9",
    });
    figures.bareAttach.push(performance.now() - started);
    started = performance.now();
    await qmp.deviceDel("bare-disk");
    await until(
      () => qmp.qomGet("/machine/peripheral/bare-disk", "type").then(() => false, () => true),
      "the bare unplug",
    );
    // The device leaves QOM a moment before it lets go of its node: retry until it has.
    await until(() => qmp.blockdevDel("bare-format").then(() => true, () => false), "the node");
    await qmp.blockdevDel("bare-storage");
    figures.bareDetach.push(performance.now() - started);
  }
  console.log(`device hotplug, ${iterations} rounds on one running guest:`);
  console.log(
    `  attach  evirt ${medianSummary(figures.evirtAttach)}   bare QMP ${
      medianSummary(figures.bareAttach)
    }`,
  );
  console.log(
    `  detach  evirt ${medianSummary(figures.evirtDetach)}   bare QMP ${
      medianSummary(figures.bareDetach)
    }`,
  );
  await host.destroy("bench");
} finally {
  await host.close();
  if (pid !== undefined) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  Deno.removeSync(dir, { recursive: true });
}
