import assert from "node:assert/strict";
import { buildCommandLine } from "../../../drivers/qemu/command_line.ts";
import { isProcessGone, readProcessStat } from "../../../src/host/process_state.ts";
import { QmpMonitor } from "../../../drivers/qemu/qmp_monitor.ts";
import { endQemu, onlineCpuList, spawnQemu } from "../../../drivers/qemu/qemu_process.ts";
import { ErrorCode, isVirtError, VirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";
import { qemuDefinition } from "./_qemu_definitions.ts";

Deno.test("onlineCpuList keeps the CPUs of a cpuset that are online", () => {
  assert.equal(onlineCpuList("1-4,8-20,525", "0-1"), "1");
  assert.equal(onlineCpuList("0-7,^1", "0-3"), "0,2,3");
});

Deno.test("onlineCpuList refuses a cpuset without an online CPU or that cannot be parsed", () => {
  for (const cpuset of ["4-7", "x", "3-1"]) {
    assert.throws(
      () => onlineCpuList(cpuset, "0-1"),
      (error: unknown) =>
        error instanceof VirtError && error.code === ErrorCode.CONFIG_UNSUPPORTED &&
        error.where === "/domain/vcpu/@cpuset",
    );
  }
});

Deno.test("endQemu ends a process with SIGTERM and leaves a gone one alone", async () => {
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const identity = { pid: child.pid, startTimeTicks: readProcessStat(child.pid)!.startTimeTicks };
  await endQemu(identity, { graceful: true }, AbortSignal.timeout(5000));
  assert.equal((await child.status).signal, "SIGTERM");
  await endQemu(identity, { graceful: true }, AbortSignal.timeout(5000));
});

Deno.test("endQemu refuses when a graceful end fails and sends SIGKILL otherwise", async () => {
  const stubborn = () =>
    new Deno.Command("sh", { args: ["-c", "trap '' TERM; while :; do sleep 0.05; done"] }).spawn();
  const first = stubborn();
  // Give the shell time to install its trap.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const identity = { pid: first.pid, startTimeTicks: readProcessStat(first.pid)!.startTimeTicks };
  const error = await endQemu(identity, { graceful: true, graceMs: 100 }, AbortSignal.timeout(5000))
    .catch((caught) => caught);
  assert.ok(isVirtError(error, ErrorCode.SYSTEM_ERROR), String(error));
  assert.match(error.message, /failed to terminate process/);
  await endQemu(identity, { graceful: false, graceMs: 100 }, AbortSignal.timeout(5000));
  assert.equal((await first.status).signal, "SIGKILL");
});

testIf(
  "spawnQemu starts QEMU detached in its own session, logs its command line and QEMU's failures",
  missing("qemu-system-x86_64"),
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-spawn-" });
    Deno.chmodSync(dir, 0o711); // Searchable by the unprivileged QEMU user.
    try {
      const paths = { monitorSocketPath: `${dir}/monitor.sock`, pidFilePath: `${dir}/qemu.pid` };
      const line = buildCommandLine(qemuDefinition(), {
        emulator: "qemu-system-x86_64",
        accelerator: "tcg",
        sandbox: true,
        nowMs: Date.now(),
        ...paths,
      });
      const request = {
        emulator: "qemu-system-x86_64",
        args: line.args,
        pidFilePath: paths.pidFilePath,
        env: {},
        homeDir: dir,
        logPath: `${dir}/vm.log`,
      };
      // Started once its monitor greets, as the driver waits for it.
      const greeted = async (_: unknown, signal: AbortSignal) => {
        const monitor = await QmpMonitor.connect(paths.monitorSocketPath, {
          connectTimeoutMs: 10_000,
          signal,
        });
        await monitor.close();
      };
      const identity = await spawnQemu(request, AbortSignal.timeout(10_000), greeted);
      // Its own session (so signals to the service's group miss it): field 6 of /proc/PID/stat.
      const stat = Deno.readTextFileSync(`/proc/${identity.pid}/stat`);
      const session = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
      assert.equal(session, identity.pid, "a session leader");
      assert.equal(
        readProcessStat(identity.pid)?.comm.startsWith("qemu"),
        true,
        "the pid is QEMU's",
      );
      assert.ok(Deno.statSync(paths.monitorSocketPath).isSocket);
      await endQemu(identity, { graceful: false }, AbortSignal.timeout(10_000));
      assert.ok(isProcessGone(identity.pid, identity.startTimeTicks));
      assert.match(
        Deno.readTextFileSync(`${dir}/vm.log`),
        /starting up\nLC_ALL=C .*setsid .*-pidfile/,
      );

      const failing = {
        ...request,
        args: [...line.args.slice(0, -2), "-device", "no-such-device", ...line.args.slice(-2)],
      };
      const error = await spawnQemu(failing, AbortSignal.timeout(10_000), greeted)
        .catch((caught) => caught);
      assert.ok(isVirtError(error, ErrorCode.INTERNAL_ERROR), String(error));
      assert.match(error.message, /^process exited while connecting to monitor: .*no-such-device/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
