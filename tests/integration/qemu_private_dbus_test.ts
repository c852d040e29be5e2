/**
 * A D-Bus display without p2p or an address through the QEMU driver: the start runs the
 * domain's private `dbus-daemon` from its runtime folder before QEMU, QEMU's display joins that
 * bus (it owns `org.qemu` there), the live XML names the bus as libvirt's does, and the end of the domain ends the daemon — also when a
 * restarted service ends a guest it found again.
 */

import assert from "node:assert/strict";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { liveFactsOf, withLiveFacts } from "../../src/model/live_facts.ts";
import { formatDomainXml, parseDomainXml } from "../../src/xml/mod.ts";
import { runChild } from "../support/child_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { killAll } from "./_qemu_guest.ts";

/** Bound on the start and the destroy, in milliseconds. */
const CASE_TIMEOUT_MS = 30_000;
/** Bound on one `busctl` call and on the daemon's exit, in milliseconds. */
const WAIT_MS = 5_000;

const XML = `<domain type='qemu'>
  <name>dbus</name>
  <uuid>3c0d2f4e-8f1a-4a55-9d7e-2a6f0b8e5c21</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><graphics type='dbus'/><memballoon model='none'/></devices>
</domain>`;

testIf(
  "a D-Bus display gets the domain's private bus, which ends with the domain",
  missing("qemu-system-x86_64", "dbus-daemon", "busctl", "setpriv"),
  async () => {
    const root = searchableTempDirSync("evirt-dbus-");
    const driver = await QemuDriver.create({
      runtimeDir: `${root}/run`,
      logDir: `${root}/log`,
      log: () => {},
    });
    const definition = applyDomainDefaults(parseDomainXml(XML));
    const request = { uuid: definition.uuid!, name: definition.name, id: 9, definition };
    let launched: { pid: number; startTimeTicks: number } | undefined;
    let daemon: number | undefined;
    try {
      const runtime = await driver.launch(request, AbortSignal.timeout(CASE_TIMEOUT_MS));
      launched = { pid: Number(runtime.pid), startTimeTicks: Number(runtime.startTimeTicks) };
      const dir = String(runtime.runtimeDir);
      daemon = Number(Deno.readTextFileSync(`${dir}/dbus.pid`).trim());
      assert.ok(alive(daemon), "the private bus daemon runs");
      const commandLine = Deno.readTextFileSync(`/proc/${runtime.pid}/cmdline`).split("\0");
      assert.ok(
        commandLine.includes(`dbus,addr=unix:path=${dir}/dbus.sock`),
        commandLine.join(" "),
      );
      // The bus admits its daemon's user (QEMU's), as libvirt's: ask as that user.
      const { uid, gid } = credentialsOf(daemon);
      const names = await runChild(
        "setpriv",
        [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", "busctl"]
          .concat([`--address=unix:path=${dir}/dbus.sock`, "list", "--no-legend"]),
        {},
        WAIT_MS,
      );
      assert.equal(names.code, 0, names.stderr);
      assert.ok(
        names.stdout.split("\n").some((line) => line.startsWith("org.qemu ")),
        names.stdout,
      );
      // The live XML names the bus, as libvirt's.
      const live = formatDomainXml(withLiveFacts(definition, liveFactsOf(runtime)));
      assert.ok(
        live.includes(`<graphics type='dbus' address='unix:path=${dir}/dbus.sock'/>`),
        live,
      );
      // A restarted service finds the guest and, at its end, ends the daemon too.
      driver.unwatch(request.uuid);
      const restarted = await QemuDriver.create({
        runtimeDir: `${root}/run`,
        logDir: `${root}/log`,
        log: () => {},
      });
      try {
        const handle = { ...request, runtime };
        await restarted.probe(handle, AbortSignal.timeout(CASE_TIMEOUT_MS));
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
      const deadline = Date.now() + WAIT_MS;
      while (alive(daemon) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(alive(daemon), false, `dbus-daemon ${daemon} still runs`);
      daemon = undefined;
      assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
    } finally {
      if (launched !== undefined) {
        driver.unwatch(request.uuid);
        await killAll([launched]);
      }
      if (daemon !== undefined && alive(daemon)) Deno.kill(daemon, "SIGTERM");
      await driver.close();
      Deno.removeSync(root, { recursive: true });
    }
  },
);

/** The real user and group ids of `pid`. */
function credentialsOf(pid: number): { uid: number; gid: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)![1]);
  return { uid: field("Uid"), gid: field("Gid") };
}

/** Whether `pid` runs (a zombie has ended). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}
