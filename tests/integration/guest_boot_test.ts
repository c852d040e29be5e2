import assert from "node:assert/strict";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { shutdownData } from "../../drivers/qemu/qmp_events.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_POWERDOWN_MARKER,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelCmdline,
  guestKernelPath,
  guestSkipReason,
  guestWriteDoneMarker,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { startTestQemu } from "../support/test_qemu.ts";

/** Bound on `system_powerdown` → SHUTDOWN once the guest is ready (observed 20–40 ms). */
const POWERDOWN_TIMEOUT_MS = 10_000;

/** Bound on QEMU exiting after the guest powered off, in milliseconds. */
const EXIT_TIMEOUT_MS = 10_000;

/** The write the guest is told to make: 2 MiB at 100 MiB, so the highest offset is 102 MiB. */
const WRITE = { device: "vda", offsetMib: 100, lengthMib: 2 };
const WRITE_END_BYTES = (WRITE.offsetMib + WRITE.lengthMib) * 1024 * 1024;

testIf(
  "the test guest boots to GUEST-READY, writes through evirt.write and powers off on system_powerdown",
  guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img"),
  async () => {
    const diskDir = Deno.makeTempDirSync({ prefix: "evirt-guest-disk-" });
    const diskPath = `${diskDir}/disk.raw`;
    let qemu: Awaited<ReturnType<typeof startTestQemu>> | undefined;
    try {
      const made = await new Deno.Command("qemu-img", {
        args: ["create", "-q", "-f", "raw", diskPath, "256M"],
      }).output();
      assert.ok(made.success, new TextDecoder().decode(made.stderr));
      const started = performance.now();
      qemu = await startTestQemu({
        daemonize: false,
        args: [
          "-m",
          "128",
          "-kernel",
          guestKernelPath()!,
          "-initrd",
          guestInitrdPath,
          "-append",
          guestKernelCmdline([WRITE]),
          "-chardev",
          "file,id=ser0,path=@DIR@/serial.log",
          "-serial",
          "chardev:ser0",
          "-blockdev",
          `driver=file,filename=${diskPath},node-name=f0`,
          "-blockdev",
          "driver=raw,file=f0,node-name=d0",
          "-device",
          "virtio-blk-pci,drive=d0,id=vda0",
        ],
      });
      const spawnMs = performance.now() - started;
      await waitForSerialMarker(qemu.serialPath, GUEST_READY_MARKER, {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      const readyMs = performance.now() - started;
      await waitForSerialMarker(qemu.serialPath, guestWriteDoneMarker(WRITE), {
        timeoutMs: 10_000,
      });
      const writtenMs = performance.now() - started;
      assert.doesNotMatch(readSerialLog(qemu.serialPath), /EVIRT-(WRITE|INIT)-FAILED/);

      const qmp = new QmpCommands(qemu.monitor);
      const nodes = await qmp.queryBlockstats({ queryNodes: true }, { timeoutMs: 5000 });
      const fileNode = nodes.find((node) => node["node-name"] === "f0");
      assert.ok(fileNode !== undefined, JSON.stringify(nodes.map((node) => node["node-name"])));
      assert.equal(fileNode.stats.wr_highest_offset, WRITE_END_BYTES);
      // Byte counters live on the device's backend; its protocol node is the file node.
      const backends = await qmp.queryBlockstats({}, { timeoutMs: 5000 });
      const disk = backends.find((backend) => backend.qdev?.includes("vda0"));
      assert.ok(disk !== undefined, JSON.stringify(backends.map((backend) => backend.qdev)));
      assert.ok(disk.stats.wr_bytes >= WRITE.lengthMib * 1024 * 1024, `${disk.stats.wr_bytes}`);
      assert.equal(disk.parent?.["node-name"], "f0");
      assert.equal(disk.parent?.stats.wr_highest_offset, WRITE_END_BYTES);

      const beforePowerdown = qemu.events.length;
      const pressed = performance.now();
      await qmp.systemPowerdown();
      const shutdown = await qemu.waitForEvent("SHUTDOWN", {
        timeoutMs: POWERDOWN_TIMEOUT_MS,
        from: beforePowerdown,
      });
      const shutdownMs = performance.now() - pressed;
      assert.deepEqual(shutdownData(shutdown), { guest: true, reason: "guest-shutdown" });
      assert.ok(qemu.events.slice(beforePowerdown).some((event) => event.event === "POWERDOWN"));
      assert.match(readSerialLog(qemu.serialPath), new RegExp(GUEST_POWERDOWN_MARKER));

      // Without -no-shutdown QEMU exits after the guest's poweroff.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        qemu.child!.status,
        new Promise<undefined>((resolve) =>
          timer = setTimeout(() => resolve(undefined), EXIT_TIMEOUT_MS)
        ),
      ]);
      clearTimeout(timer);
      assert.ok(status !== undefined, "QEMU exited after the guest powered off");
      assert.equal(status.code, 0);
      assert.equal((await qemu.monitor.closed).reason, "eof");
      console.log(
        `timing: spawn+QMP ${spawnMs.toFixed(0)} ms, boot → ${GUEST_READY_MARKER} ${
          readyMs.toFixed(0)
        } ms, → write done ${writtenMs.toFixed(0)} ms, system_powerdown → SHUTDOWN ${
          shutdownMs.toFixed(0)
        } ms`,
      );
    } finally {
      await qemu?.stop();
      Deno.removeSync(diskDir, { recursive: true });
    }
  },
);
