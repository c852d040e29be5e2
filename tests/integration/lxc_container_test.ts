/**
 * Real containers on the LXC driver: the busybox rootfs of `tests/fixtures/build_rootfs.sh`
 * started as `<domain type='lxc'>`, its console, freezer, shutdown, destroy, memory limit and
 * refusals of bad input. Every container started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { cgroupOfRecord, cgroupPids, memoryLimitHits } from "../../src/host/cgroups.ts";
import { LxcDriver } from "../../drivers/lxc/lxc_driver.ts";
import { isProcessGone } from "../../src/host/process_state.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { testIf } from "../support/environment.ts";
import {
  containerDefinition,
  containerSkipReason,
  filesystemElement,
  INIT_MARKER,
  openLxcRig,
} from "./_lxc_rig.ts";

/** Longest wait for something a container prints or writes, in ms. */
const WAIT_MS = 10_000;

/**
 * Longest wait for the memory test's allocation to be killed, in ms. Its shell reads the pipe
 * 128 bytes a read (busybox ash's command substitution): the 32 MiB it reaches before the kill
 * are about 260,000 reads beside `head` and `tr`, about 1 s of CPU on an idle core, many times
 * that on a loaded 2-core machine (the 10 s of WAIT_MS ran out there).
 */
const ALLOCATION_WAIT_MS = 60_000;

/** Largest console output kept, in characters. */
const SCREEN_MAX_CHARS = 64 * 1024;

async function waitFor<T>(
  what: string,
  look: () => T | undefined,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = look();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads a console pty in the background, keeping the latest output. */
function readConsole(path: string): { screen(): string; close(): void } {
  const file = Deno.openSync(path, { read: true, write: true });
  let screen = "";
  const reading = (async () => {
    const buffer = new Uint8Array(4096);
    for (;;) {
      let count: number | null;
      try {
        count = await file.read(buffer);
      } catch {
        return;
      }
      if (count === null) return;
      screen = (screen + new TextDecoder().decode(buffer.subarray(0, count))).slice(
        -SCREEN_MAX_CHARS,
      );
    }
  })();
  return {
    screen: () => screen,
    close() {
      try {
        file.close();
      } catch {
        // Closed.
      }
      void reading;
    },
  };
}

function counterIn(path: string): number | undefined {
  try {
    const value = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

const skip = containerSkipReason();

testIf(
  "a container's init runs as pid 1 with the domain's name as host name, seen on the console",
  skip,
  async () => {
    const rig = await openLxcRig();
    let console: ReturnType<typeof readConsole> | undefined;
    try {
      await rig.host.define(
        containerDefinition("ct-hello", {
          initArgs: ["first"],
          initEnv: { EVIRT_TEST_ENV: "from-xml" },
        }),
      );
      await rig.host.start("ct-hello", { paused: true });
      assert.equal(rig.stateText("ct-hello"), "paused (user)");
      console = readConsole(rig.host.consolePath("ct-hello"));
      await rig.host.resume("ct-hello");
      const line = await waitFor(
        "the init's first line",
        () => /EVIRT-INIT [^\r\n]*\r?\n/.exec(console!.screen())?.[0],
      );
      assert.match(
        line,
        new RegExp(
          `^${INIT_MARKER} pid=1 hostname=ct-hello procs=\\d+ arg1=first env=from-xml dir=/`,
        ),
      );
      await waitFor("counting", () => /count 3\b/.test(console!.screen()) ? true : undefined);
      assert.equal(rig.stateText("ct-hello"), "running (unpaused)");
    } finally {
      console?.close();
      await rig.close();
    }
  },
);

testIf(
  "suspend freezes the container (its counter stops) and resume continues it",
  skip,
  async () => {
    const rig = await openLxcRig();
    const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-data-" });
    try {
      await rig.host.define(
        containerDefinition("ct-freeze", {
          initEnv: { EVIRT_COUNT_FILE: "/data/count" },
          filesystems: [filesystemElement("mount", "/data", { dir: data })],
        }),
      );
      await rig.host.start("ct-freeze");
      const count = `${data}/count`;
      await waitFor("the counter", () => (counterIn(count) ?? 0) >= 2 ? true : undefined);
      await rig.host.suspend("ct-freeze");
      assert.equal(rig.stateText("ct-freeze"), "paused (user)");
      const frozenAt = counterIn(count);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(counterIn(count), frozenAt, "the counter moved while frozen");
      await rig.host.resume("ct-freeze");
      assert.equal(rig.stateText("ct-freeze"), "running (unpaused)");
      await waitFor(
        "the counter to move again",
        () => (counterIn(count) ?? 0) > (frozenAt ?? 0) ? true : undefined,
      );
    } finally {
      await rig.close();
      Deno.removeSync(data, { recursive: true });
    }
  },
);

testIf("shutdown signals the init, which ends cleanly: shut off (shutdown)", skip, async () => {
  const rig = await openLxcRig();
  let console: ReturnType<typeof readConsole> | undefined;
  try {
    await rig.host.define(containerDefinition("ct-shutdown"));
    await rig.host.start("ct-shutdown");
    const runtime = rig.runtime("ct-shutdown");
    // As with libvirt: a SIGTERM that reaches the init (pid 1 of its namespace) before it set
    // its handler is ignored, so the shutdown waits until the init runs its loop.
    console = readConsole(rig.host.consolePath("ct-shutdown"));
    await waitFor("counting", () => /count 1\b/.test(console!.screen()) ? true : undefined);
    await rig.host.shutdown("ct-shutdown");
    await waitFor(
      "shut off",
      () => rig.stateText("ct-shutdown") === "shut off (shutdown)" ? true : undefined,
    );
    assert.match(console.screen(), /EVIRT-INIT-STOP/);
    assert.deepEqual(cgroupPids(cgroupOfRecord(runtime)), []);
    assert.equal(LxcDriver.supervisorAlive(runtime), false);
  } finally {
    console?.close();
    await rig.close();
  }
});

testIf("destroy kills every process of the container's cgroup", skip, async () => {
  const rig = await openLxcRig();
  try {
    // An init that starts four more processes that ignore SIGTERM.
    await rig.host.define(
      containerDefinition("ct-destroy", {
        init: "/bin/sh",
        initArgs: [
          "-c",
          "for i in 1 2 3 4; do (trap '' TERM; while :; do sleep 1; done) & done; while :; do sleep 1; done",
        ],
      }),
    );
    await rig.host.start("ct-destroy");
    const runtime = rig.runtime("ct-destroy");
    const cgroup = cgroupOfRecord(runtime);
    // sh, 4 subshells and their sleeps: at least 5 processes.
    const before = await waitFor("the processes", () => {
      const pids = cgroupPids(cgroup);
      return pids.length >= 5 ? pids : undefined;
    });
    await rig.host.destroy("ct-destroy");
    assert.equal(rig.stateText("ct-destroy"), "shut off (destroyed)");
    assert.deepEqual(cgroupPids(cgroup), []);
    assert.deepEqual(before.filter((pid) => !isProcessGone(pid)), [], "processes left");
    assert.equal(LxcDriver.supervisorAlive(runtime), false);
  } finally {
    await rig.close();
  }
});

testIf(
  "the memory limit is a cgroup limit: a process allocating past it is killed",
  skip,
  async () => {
    const rig = await openLxcRig();
    const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-data-" });
    try {
      await rig.host.define(
        containerDefinition("ct-memory", {
          memoryKiB: 32 * 1024,
          init: "/bin/sh",
          initArgs: [
            "-c",
            // 96 MiB held in a shell variable by a subshell; the init itself stays small.
            "(v=$(head -c 100663296 /dev/zero | tr '\\0' a); echo survived > /data/result); echo done >> /data/result; while :; do sleep 1; done",
          ],
          filesystems: [filesystemElement("mount", "/data", { dir: data })],
        }),
      );
      await rig.host.start("ct-memory");
      const cgroup = cgroupOfRecord(rig.runtime("ct-memory"));
      const limit = Number(
        Deno.readTextFileSync(
          cgroup.layout === "v1"
            ? `${cgroup.memory}/memory.limit_in_bytes`
            : `${cgroup.unified}/memory.max`,
        ).trim(),
      );
      assert.equal(limit, 32 * 1024 * 1024);
      const result = await waitFor("the allocation's end", () => {
        try {
          const text = Deno.readTextFileSync(`${data}/result`);
          return text.includes("done") ? text : undefined;
        } catch {
          return undefined;
        }
      }, ALLOCATION_WAIT_MS);
      assert.equal(result.includes("survived"), false, "the allocation was not stopped");
      assert.ok(memoryLimitHits(cgroup) > 0, "the cgroup counted no OOM kill");
      assert.equal(rig.stateText("ct-memory"), "running (booted)");
    } finally {
      await rig.close();
      Deno.removeSync(data, { recursive: true });
    }
  },
);

function mountinfo(): string[] {
  // Mount ids and the optional fields stay; only the set of mounts is compared.
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter((line) => line !== "")
    .sort();
}

testIf(
  "bad input is refused with a clear error and leaves nothing mounted or running",
  skip,
  async () => {
    const rig = await openLxcRig();
    const before = mountinfo();
    try {
      const cases: Array<
        {
          name: string;
          options: Parameters<typeof containerDefinition>[1];
          code: number;
          message: RegExp;
          atDefine: boolean;
        }
      > = [
        {
          name: "ct-no-init",
          options: { init: "/sbin/no-such-init" },
          code: 9,
          message: /init '\/sbin\/no-such-init' does not exist/,
          atDefine: false,
        },
        {
          name: "ct-no-root",
          options: { rootDir: `${rig.dir}/no-such-root` },
          code: 9,
          message: /root filesystem '.*no-such-root' cannot be used/,
          atDefine: false,
        },
        {
          name: "ct-escape",
          options: {
            filesystems: [filesystemElement("ram", "/tmp/../../etc", { usageKiB: 1024 })],
          },
          code: 67,
          message: /leaves the container's root file system/,
          atDefine: true,
        },
      ];
      for (const { name, options, code, message, atDefine } of cases) {
        const attempt = async () => {
          await rig.host.define(containerDefinition(name, options));
          await rig.host.start(name);
        };
        await assert.rejects(attempt, (error) => {
          assert.ok(isVirtError(error, code), `${name}: ${error}`);
          assert.match((error as Error).message, message);
          return true;
        });
        if (!atDefine) assert.equal(rig.stateText(name), "shut off (unknown)");
        assert.deepEqual(mountinfo(), before, `${name} left mounts`);
      }
      assert.deepEqual([...Deno.readDirSync(`${rig.dir}/run/lxc`)], [], "runtime folders left");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "reboot starts the container again: a new init, one REBOOT, still running",
  skip,
  async () => {
    const rig = await openLxcRig();
    let console: ReturnType<typeof readConsole> | undefined;
    const facts: string[] = [];
    rig.host.onApplied((_uuid, applied) => {
      for (const { fact } of applied) facts.push(fact.type);
    });
    try {
      await rig.host.define(containerDefinition("ct-reboot"));
      await rig.host.start("ct-reboot");
      console = readConsole(rig.host.consolePath("ct-reboot"));
      await waitFor("counting", () => /count 1\b/.test(console!.screen()) ? true : undefined);
      const before = LxcDriver.initOf(rig.runtime("ct-reboot"));
      assert.ok(before !== undefined);
      await rig.host.reboot("ct-reboot");
      await waitFor("the REBOOT", () => facts.includes("domain.rebooted") ? true : undefined);
      const after = LxcDriver.initOf(rig.runtime("ct-reboot"));
      assert.ok(after !== undefined && after.pid !== before.pid, "the init was not replaced");
      assert.ok(isProcessGone(before.pid, before.startTimeTicks));
      await waitFor(
        "the new init on the same console",
        () =>
          (console!.screen().match(/EVIRT-INIT pid=1 hostname=ct-reboot/g) ?? []).length === 2
            ? true
            : undefined,
      );
      assert.equal(facts.filter((type) => type === "domain.rebooted").length, 1);
      assert.equal(facts.includes("domain.stopped"), false);
      assert.equal(rig.stateText("ct-reboot"), "running (booted)");
    } finally {
      console?.close();
      await rig.close();
    }
  },
);

testIf(
  "an init that exits on its own, whatever its status, leaves shut off (shutdown) as libvirt's controller",
  skip,
  async () => {
    const rig = await openLxcRig();
    try {
      await rig.host.define(
        containerDefinition("ct-exit", { init: "/bin/sh", initArgs: ["-c", "sleep 0.2; exit 3"] }),
      );
      await rig.host.start("ct-exit");
      const runtime = rig.runtime("ct-exit");
      await waitFor(
        "shut off",
        () => rig.stateText("ct-exit").startsWith("shut off") ? true : undefined,
      );
      assert.equal(rig.stateText("ct-exit"), "shut off (shutdown)");
      assert.deepEqual(cgroupPids(cgroupOfRecord(runtime)), []);
      assert.equal(LxcDriver.supervisorAlive(runtime), false);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "a reboot inside the container (init killed by SIGHUP) starts it again with one REBOOT",
  skip,
  async () => {
    const rig = await openLxcRig();
    const data = Deno.makeTempDirSync({ prefix: "evirt-lxc-data-" });
    const facts: string[] = [];
    rig.host.onApplied((_uuid, applied) => {
      for (const { fact } of applied) facts.push(fact.type);
    });
    try {
      await rig.host.define(
        containerDefinition("ct-guest-reboot", {
          init: "/bin/sh",
          initArgs: [
            "-c",
            // reboot(2) in a pid namespace ends its init with SIGHUP.
            "echo booted >> /data/boots; sleep 0.2; [ $(wc -l < /data/boots) -lt 2 ] && reboot -f; while :; do sleep 1; done",
          ],
          filesystems: [filesystemElement("mount", "/data", { dir: data })],
        }),
      );
      await rig.host.start("ct-guest-reboot");
      await waitFor("the REBOOT", () => facts.includes("domain.rebooted") ? true : undefined);
      await waitFor("the second boot", () => {
        try {
          return Deno.readTextFileSync(`${data}/boots`).split("\n").length === 3 ? true : undefined;
        } catch {
          return undefined;
        }
      });
      assert.equal(facts.filter((type) => type === "domain.rebooted").length, 1);
      assert.equal(facts.includes("domain.stopped"), false);
      assert.equal(rig.stateText("ct-guest-reboot"), "running (booted)");
    } finally {
      await rig.close();
      Deno.removeSync(data, { recursive: true });
    }
  },
);
