import assert from "node:assert/strict";
import { QmpCommands } from "../../drivers/qemu/qmp_commands.ts";
import { QmpCommandError, QmpTimeoutError } from "../../drivers/qemu/qmp_errors.ts";
import { shutdownData } from "../../drivers/qemu/qmp_events.ts";
import { QmpMonitor } from "../../drivers/qemu/qmp_monitor.ts";
import { readProcessStat, waitForExit } from "../../src/host/process_state.ts";
import { missing, testIf } from "../support/environment.ts";
import { startTestQemu } from "../support/test_qemu.ts";

/** Bound on an event QEMU emits right after a command, in milliseconds (TCG, busy machine). */
const EVENT_TIMEOUT_MS = 5000;

/** Timeout for queries in these tests: generous, as other suites share the two cores. */
const QUERY_TIMEOUT_MS = 5000;

testIf(
  "QmpMonitor drives a real daemonized QEMU through prelaunch, cont, stop and reset",
  missing("qemu-system-x86_64"),
  async () => {
    const qemu = await startTestQemu({ daemonize: true, args: ["-S", "-m", "64"] });
    try {
      const qmp = new QmpCommands(qemu.monitor);
      const query = { timeoutMs: QUERY_TIMEOUT_MS };
      assert.equal(readProcessStat(qemu.pid)?.ppid, 1, "daemonized QEMU is re-parented to PID 1");
      assert.equal(qemu.monitor.greeting.version.qemu.major, 7);
      const prelaunch = await qmp.queryStatus(query);
      assert.equal(prelaunch.status, "prelaunch");
      assert.equal(prelaunch.running, false);

      await qmp.cont();
      await qemu.waitForEvent("RESUME", { timeoutMs: EVENT_TIMEOUT_MS });
      assert.equal((await qmp.queryStatus(query)).status, "running");

      const beforeReset = qemu.events.length;
      await qmp.systemReset();
      const hostReset = await qemu.waitForEvent("RESET", {
        timeoutMs: EVENT_TIMEOUT_MS,
        from: beforeReset,
      });
      assert.deepEqual(shutdownData(hostReset), { guest: false, reason: "host-qmp-system-reset" });

      await qmp.stop();
      await qemu.waitForEvent("STOP", { timeoutMs: EVENT_TIMEOUT_MS });
      const paused = await qmp.queryStatus(query);
      assert.equal(paused.status, "paused");
      assert.equal(paused.running, false);

      const version = await qmp.queryVersion(query);
      assert.deepEqual(version.qemu, qemu.monitor.greeting.version.qemu);
      assert.equal(await qemu.monitor.ping({ timeoutMs: QUERY_TIMEOUT_MS }), true);
      assert.equal((await qmp.queryCpusFast(query)).length, 1);
      assert.deepEqual(await qmp.queryBlock(query), []);
      assert.match(String(await qmp.qomGet("/machine", "type", query)), /q35/);
      assert.match(await qmp.humanMonitorCommand("info version"), /^7\.2/);

      const refused = await qmp.deviceDel("nope").catch((error) => error);
      assert.ok(refused instanceof QmpCommandError);
      assert.equal(refused.class, "DeviceNotFound");

      const transcript = Deno.readTextFileSync(qemu.logPath);
      assert.equal(Deno.statSync(qemu.logPath).mode! & 0o777, 0o600);
      assert.match(transcript, /Z QUERY \{"execute":"cont","id":\d+\}\n/);
      assert.match(transcript, /Z EVENT .*"event": "RESUME"/);
      assert.match(transcript, /Z REPLY \{"return": \{"status": "paused"/);
      assert.doesNotMatch(transcript, /query-cpus-fast/);
    } finally {
      await qemu.stop();
    }
  },
);

testIf(
  "QmpMonitor reconnects to a running QEMU after closing, and a second client gets no greeting",
  missing("qemu-system-x86_64"),
  async () => {
    const qemu = await startTestQemu({ daemonize: true, args: ["-S", "-m", "64"] });
    try {
      // QEMU serves one monitor client at a time: a second one waits without a greeting.
      const second = await QmpMonitor.connect(qemu.socketPath, { connectTimeoutMs: 300 })
        .catch((error) => error);
      assert.ok(second instanceof QmpTimeoutError);

      await qemu.monitor.close();
      const again = await QmpMonitor.connect(qemu.socketPath, { connectTimeoutMs: 5000 });
      try {
        assert.equal(
          (await new QmpCommands(again).queryStatus({ timeoutMs: 5000 })).status,
          "prelaunch",
        );
      } finally {
        await again.close();
      }
    } finally {
      await qemu.stop();
    }
  },
);

testIf(
  "a SIGTERM'd daemonized QEMU is seen gone by monitor end of file and by /proc",
  missing("qemu-system-x86_64"),
  async () => {
    const qemu = await startTestQemu({ daemonize: true, args: ["-S", "-m", "64"] });
    try {
      await new QmpCommands(qemu.monitor).cont();
      await qemu.waitForEvent("RESUME", { timeoutMs: EVENT_TIMEOUT_MS });
      const started = performance.now();
      Deno.kill(qemu.pid, "SIGTERM");
      const closed = await qemu.monitor.closed;
      const eofMs = performance.now() - started;
      assert.equal(closed.reason, "eof");
      // Events sent before the end of file are delivered before `closed` resolves.
      const shutdown = qemu.events.find((event) => event.event === "SHUTDOWN");
      assert.ok(shutdown !== undefined, "QEMU reports the signal as SHUTDOWN");
      assert.deepEqual(shutdownData(shutdown), { guest: false, reason: "host-signal" });
      assert.equal(
        await waitForExit(qemu.pid, { startTimeTicks: qemu.startTimeTicks, timeoutMs: 5000 }),
        true,
      );
      const goneMs = performance.now() - started;
      // PID 1 reaps late on these machines, so the pid may linger as a zombie: still "gone".
      const state = readProcessStat(qemu.pid)?.state ?? "reaped";
      assert.ok(state === "Z" || state === "reaped", state);
      console.log(
        `timing: SIGTERM → monitor EOF ${eofMs.toFixed(1)} ms, → /proc gone ${
          goneMs.toFixed(1)
        } ms (pid then ${state})`,
      );
    } finally {
      await qemu.stop();
    }
  },
);
