import assert from "node:assert/strict";
import {
  privateBusConfig,
  privateBusFiles,
  startPrivateBus,
  stopPrivateBus,
} from "../../../drivers/qemu/private_dbus.ts";
import { missing, testIf } from "../../support/environment.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** Longest the daemon may take to end after SIGTERM, in milliseconds. */
const END_TIMEOUT_MS = 5_000;

Deno.test("the private bus configuration listens in the runtime folder with libvirt's policy", () => {
  const files = privateBusFiles("/run/evirt/qemu/1-vm");
  const config = privateBusConfig(files);
  assert.ok(config.includes("<listen>unix:path=/run/evirt/qemu/1-vm/dbus.sock</listen>"));
  assert.ok(config.includes("<pidfile>/run/evirt/qemu/1-vm/dbus.pid</pidfile>"));
  assert.ok(config.includes("<auth>EXTERNAL</auth>"));
  assert.ok(config.includes("<allow own='*'/>"));
});

Deno.test("stopping a private bus that never ran does nothing", async () => {
  await withTempDir("evirt-dbus-", async (dir) => {
    stopPrivateBus(privateBusFiles(dir));
    // A pid file naming a process that is not this bus's daemon (this test's) is left alone.
    await Deno.writeTextFile(`${dir}/dbus.pid`, `${Deno.pid}\n`);
    stopPrivateBus(privateBusFiles(dir));
  });
});

testIf(
  "a private bus daemon listens once started and ends when stopped",
  missing("dbus-daemon"),
  async () => {
    await withTempDir("evirt-dbus-", async (dir) => {
      const files = privateBusFiles(dir);
      await startPrivateBus(files, undefined, AbortSignal.timeout(10_000));
      const pid = Number(Deno.readTextFileSync(files.pidFile).trim());
      try {
        assert.ok(Deno.lstatSync(files.socket).isSocket);
        const connection = await Deno.connect({ transport: "unix", path: files.socket });
        connection.close();
      } finally {
        stopPrivateBus(files);
      }
      const deadline = Date.now() + END_TIMEOUT_MS;
      while (Date.now() < deadline && alive(pid)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(alive(pid), false, `dbus-daemon ${pid} still runs`);
    });
  },
);

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A zombie has ended (its parent, the forking dbus-daemon, is gone; init reaps it).
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}
