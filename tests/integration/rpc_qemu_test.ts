/**
 * Real QEMU guests driven by the real `virsh` over libvirt's protocol: `virsh console` reads the
 * guest's boot text through an RPC stream and Ctrl-] ends it; `virsh domblkinfo` follows
 * reference §4 (inactive) and the HTTP API (running); `virsh shutdown` powers the guest off
 * through ACPI. Then the fault test: the service is SIGKILLed while a `virsh event --loop`
 * and a python3-libvirt client are connected — both see the connection close, the guest keeps
 * running, and both reconnect to the restarted service. Every QEMU is killed by pid in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import { runChild } from "../support/child_process.ts";
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
import { runVirsh, socketUri, VIRSH_TIMEOUT_MS } from "../support/virsh.ts";
import { runEvirt } from "../support/cli_process.ts";
import { killQemus, QEMU_EXIT_TIMEOUT_MS, serviceQemuPids } from "../support/service_qemus.ts";
import { guestDefinition } from "./_qemu_guest.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../support/python_libvirt.ts";

/** How long a guest may take to power off after an ACPI shutdown, in ms. */
const SHUTDOWN_TIMEOUT_MS = 20_000;
/** How long a client may take to notice the service died, in ms. */
const CLOSE_NOTICE_TIMEOUT_MS = 15_000;
/** Longest console output kept, in characters. */
const SCREEN_MAX_CHARS = 1024 * 1024;

async function waitForState(uri: string, name: string, text: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = (await runVirsh(uri, ["domstate", "--reason", name])).stdout.trim();
    if (last === text) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} is '${last}', not '${text}', after ${timeoutMs} ms`);
}

testIf(
  "virsh console shows a real guest booting over an RPC stream and virsh shutdown powers it off",
  guestSkipReason() ?? missing("qemu-system-x86_64", "virsh", "script"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    try {
      const definition = guestDefinition("talker", { serial: "pty" });
      const diskPath = `${dirs.stateDir}/../talker.img`;
      await Deno.writeFile(diskPath, new Uint8Array(8192));
      await Deno.truncate(diskPath, 64 << 20);
      definition.devices.disks.push({
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "raw" },
        source: { file: diskPath, hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      });
      await service.client.define({ definition });
      // Inactive block info: reference §4's raw-file row, and what evirt's CLI prints.
      const stat = await Deno.stat(diskPath);
      const inactive = await runVirsh(uri, ["domblkinfo", "talker", "vda"]);
      assert.equal(
        inactive.stdout,
        `Capacity:       ${stat.size}\nAllocation:     ${
          stat.blocks! * 512
        }\nPhysical:       ${stat.size}\n\n`,
      );
      const cli = await runEvirt(["domblkinfo", "talker", "vda"], {
        ...service.env,
        EVIRT_DEFAULT_URI: "evirt:///system",
      });
      assert.equal(inactive.stdout, cli.stdout);
      // Started paused, so the console is attached before the guest prints anything.
      assert.equal((await runVirsh(uri, ["start", "--paused", "talker"])).code, 0);
      // virsh console needs a terminal: `script` gives it a pty.
      const console = new Deno.Command("script", {
        args: ["-qfc", `virsh -c '${uri}' console talker`, "/dev/null"],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
        signal: AbortSignal.timeout(GUEST_BOOT_TIMEOUT_MS + VIRSH_TIMEOUT_MS),
      }).spawn();
      let screen = "";
      const reading = (async () => {
        for await (const chunk of console.stdout.pipeThrough(new TextDecoderStream())) {
          screen = (screen + chunk).slice(-SCREEN_MAX_CHARS);
        }
      })();
      const writer = console.stdin.getWriter();
      try {
        const attached = Date.now() + VIRSH_TIMEOUT_MS;
        while (!screen.includes("Escape character") && Date.now() < attached) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.match(screen, /Connected to domain 'talker'/);
        assert.equal((await runVirsh(uri, ["resume", "talker"])).code, 0);
        const booted = Date.now() + GUEST_BOOT_TIMEOUT_MS;
        while (!screen.includes(GUEST_READY_MARKER) && Date.now() < booted) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.ok(screen.includes(GUEST_READY_MARKER), `no boot text: ${screen.slice(-400)}`);
        // Running block info comes from QEMU, with the same numbers as the HTTP API.
        const running = await runVirsh(uri, ["domblkinfo", "talker", "vda"]);
        const http = await service.client.blockInfo("talker", "vda");
        assert.equal(
          running.stdout,
          `Capacity:       ${http.capacityBytes}\nAllocation:     ${http.allocationBytes}\n` +
            `Physical:       ${http.physicalBytes}\n\n`,
        );
        await writer.write(new Uint8Array([0x1d]));
      } finally {
        await writer.close().catch(() => {});
        const status = await console.status;
        await reading;
        assert.equal(status.code, 0, screen.slice(-400));
      }
      const shutdown = await runVirsh(uri, ["shutdown", "talker"]);
      assert.equal(shutdown.stdout, "Domain 'talker' is being shutdown\n\n");
      await waitForState(uri, "talker", "shut off (shutdown)", SHUTDOWN_TIMEOUT_MS);
    } finally {
      const pids = serviceQemuPids(dirs.runtimeDir);
      await service.stop("SIGTERM");
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);

const PYTHON_WATCHER = `
import sys, threading, time, json
import libvirt
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(sys.argv[1])
conn.setKeepAlive(1, 3)
closed = threading.Event()
reasons = []
def on_close(c, reason, opaque):
    reasons.append(reason)
    closed.set()
conn.registerCloseCallback(on_close, None)
print("ready", flush=True)
closed.wait(float(sys.argv[2]))
print(json.dumps({"reasons": reasons}), flush=True)
`;

testIf(
  "SIGKILL of the service closes virsh and python clients, the guest keeps running, reconnect works",
  guestSkipReason() ?? missing("qemu-system-x86_64", "virsh") ?? pythonLibvirtSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const serialPath = `${base}/serial.log`;
    let service: ServiceProcess | undefined = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const pids: number[] = [];
    try {
      await service.client.define({
        definition: guestDefinition("survivor", { serial: { file: serialPath } }),
      });
      assert.equal((await runVirsh(uri, ["start", "survivor"])).code, 0);
      await waitForSerialMarker(serialPath, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      pids.push(...serviceQemuPids(dirs.runtimeDir));
      assert.equal(pids.length, 1);
      const startTime = readProcessStat(pids[0])?.startTimeTicks;

      const events = new Deno.Command("virsh", {
        args: ["-c", uri, "event", "--loop", "--all"],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(CLOSE_NOTICE_TIMEOUT_MS * 2),
      }).spawn();
      await Deno.writeTextFile(`${base}/watcher.py`, PYTHON_WATCHER);
      const watcher = new Deno.Command(SYSTEM_PYTHON, {
        args: [`${base}/watcher.py`, uri, String(CLOSE_NOTICE_TIMEOUT_MS / 1000)],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(CLOSE_NOTICE_TIMEOUT_MS * 2),
      }).spawn();
      const watcherOut = watcher.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const first = await watcherOut.read();
      assert.equal(first.value?.trim(), "ready");
      // Let virsh register its callbacks.
      await new Promise((resolve) => setTimeout(resolve, 1500));

      const killedAt = Date.now();
      await service.stop("SIGKILL");
      service = undefined;

      const eventsStatus = await events.output();
      assert.ok(Date.now() - killedAt < CLOSE_NOTICE_TIMEOUT_MS, "virsh event did not notice");
      assert.notEqual(eventsStatus.code, 0);
      let watcherText = "";
      for (;;) {
        const chunk = await watcherOut.read();
        if (chunk.done) break;
        watcherText += chunk.value;
      }
      await watcher.status;
      await watcher.stderr.cancel();
      const { reasons } = JSON.parse(watcherText.trim());
      // VIR_CONNECT_CLOSE_REASON_ERROR 0, EOF 1, KEEPALIVE 2: any of them is "closed".
      assert.equal(reasons.length, 1, watcherText);

      // The guest does not notice.
      assert.equal(readProcessStat(pids[0])?.startTimeTicks, startTime);
      assert.notEqual(readProcessStat(pids[0])?.state, "Z");

      service = await startServiceProcess(dirs);
      assert.match((await runVirsh(uri, ["list"])).stdout, /^ \d+ +survivor +running$/m);
      const python = await runChild(
        SYSTEM_PYTHON,
        ["-c", `import libvirt; print(libvirt.open("${uri}").lookupByName("survivor").info()[0])`],
        {},
        VIRSH_TIMEOUT_MS,
      );
      assert.equal(python.stdout.trim(), "1");
      assert.equal((await runVirsh(uri, ["destroy", "survivor"])).code, 0);
      assert.ok(
        await waitForExit(pids[0], { timeoutMs: QEMU_EXIT_TIMEOUT_MS }),
        "QEMU still running",
      );
    } finally {
      await service?.stop("SIGTERM");
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);
