import assert from "node:assert/strict";
import {
  isProcessGone,
  parseProcessStat,
  readPidFile,
  readProcessStat,
  waitForExit,
} from "../../../src/host/process_state.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

/** Spawns `sleep SECONDS`; the caller kills and awaits it. */
function spawnSleep(seconds: number): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: [String(seconds)], stdout: "null", stderr: "null" })
    .spawn();
}

/** A pid no process has (searching downward from the top of the usual range). */
function unusedPid(): number {
  for (let pid = 4194000; pid > 4190000; pid--) {
    if (readProcessStat(pid) === undefined) return pid;
  }
  throw new Error("No unused pid found");
}

Deno.test("readProcessStat reads state, parent and start time of a live process", async () => {
  const child = spawnSleep(30);
  try {
    const stat = readProcessStat(child.pid);
    assert.ok(stat !== undefined);
    assert.equal(stat.pid, child.pid);
    assert.equal(stat.comm, "sleep");
    assert.equal(stat.ppid, Deno.pid);
    assert.match(stat.state, /^[RS]$/);
    assert.ok(stat.startTimeTicks >= readProcessStat(Deno.pid)!.startTimeTicks);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("readProcessStat returns undefined for a pid nobody has", () => {
  assert.equal(readProcessStat(unusedPid()), undefined);
});

Deno.test("readProcessStat refuses a malformed pid with INVALID_ARG", () => {
  for (const pid of [0, -1, 1.5, Number.NaN, 5_000_000]) {
    assert.throws(
      () => readProcessStat(pid),
      (error) => error instanceof VirtError && error.code === ErrorCode.INVALID_ARG,
    );
  }
});

Deno.test("parseProcessStat finds fields after an executable name with spaces and parentheses", () => {
  const fields = "S 42 1 1 0 -1 4194560 91 0 0 0 31 5 0 0 20 0 1 0 987654 0 0";
  assert.deepEqual(parseProcessStat(7, `7 (qemu (x) y) ${fields}`), {
    pid: 7,
    comm: "qemu (x) y",
    state: "S",
    ppid: 42,
    processGroup: 1,
    terminal: 0,
    startTimeTicks: 987654,
    userTimeTicks: 31,
    systemTimeTicks: 5,
  });
});

Deno.test("parseProcessStat reads a launcher's group and terminal after a name with parentheses", () => {
  const stat = parseProcessStat(
    4242,
    "4242 (a (b) c) S 41 40 39 34816 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1 1",
  );
  assert.deepEqual(
    [stat.comm, stat.state, stat.ppid, stat.processGroup, stat.terminal, stat.startTimeTicks],
    ["a (b) c", "S", 41, 40, 34816, 777],
  );
});

Deno.test("parseProcessStat refuses text that is not a stat line for the pid", () => {
  const fields = "S 42 1 1 0 -1 4194560 91 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
  for (
    const text of ["", "garbage", `8 (x) ${fields}`, "7 (x) S 1 2", `7 (x) ? ${fields.slice(2)}`]
  ) {
    assert.throws(
      () => parseProcessStat(7, text),
      (error) => error instanceof VirtError && error.code === ErrorCode.INTERNAL_ERROR,
      text,
    );
  }
});

Deno.test("isProcessGone is false for a live process and true once it exits", async () => {
  const child = spawnSleep(30);
  const start = readProcessStat(child.pid)!.startTimeTicks;
  assert.equal(isProcessGone(child.pid, start), false);
  assert.equal(isProcessGone(child.pid), false);
  child.kill("SIGKILL");
  await child.status;
  assert.equal(isProcessGone(child.pid, start), true);
});

Deno.test("isProcessGone treats a different start time as a reused pid", () => {
  const start = readProcessStat(Deno.pid)!.startTimeTicks;
  assert.equal(isProcessGone(Deno.pid, start), false);
  assert.equal(isProcessGone(Deno.pid, start + 1), true);
});

Deno.test("waitForExit sees a zombie as gone while its pid still exists", async () => {
  // `sh` starts a short sleep, prints its pid and becomes `sleep 30`, which never reaps it: the
  // short sleep turns into a zombie that stays until its parent dies.
  const parent = new Deno.Command("sh", {
    args: ["-c", "sleep 0.05 & echo $!; exec sleep 30"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = parent.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    const zombiePid = Number(new TextDecoder().decode(value).trim());
    assert.ok(zombiePid > 0);
    const start = readProcessStat(zombiePid)?.startTimeTicks;
    assert.ok(start !== undefined, "the child ran long enough to be seen");
    assert.equal(await waitForExit(zombiePid, { startTimeTicks: start, timeoutMs: 5000 }), true);
    const stat = readProcessStat(zombiePid);
    assert.equal(stat?.state, "Z");
    assert.equal(stat?.ppid, parent.pid);
  } finally {
    parent.kill("SIGKILL");
    await parent.stdout.cancel().catch(() => {});
    await parent.status;
  }
});

Deno.test("waitForExit returns false when the process outlives the timeout", async () => {
  const child = spawnSleep(30);
  try {
    const started = performance.now();
    assert.equal(await waitForExit(child.pid, { timeoutMs: 40 }), false);
    assert.ok(performance.now() - started >= 39);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("waitForExit detects a SIGTERM'd process within a few poll intervals", async () => {
  const child = spawnSleep(30);
  const start = readProcessStat(child.pid)!.startTimeTicks;
  const waiting = waitForExit(child.pid, { startTimeTicks: start, timeoutMs: 5000 });
  child.kill("SIGTERM");
  assert.equal(await waiting, true);
  await child.status;
});

Deno.test("waitForExit returns true at once for a pid nobody has", async () => {
  assert.equal(await waitForExit(unusedPid(), { timeoutMs: 1000 }), true);
});

Deno.test("waitForExit stops with OPERATION_ABORTED when its signal fires", async () => {
  const child = spawnSleep(30);
  try {
    const controller = new AbortController();
    const waiting = waitForExit(child.pid, { timeoutMs: 5000, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(
      waiting,
      (error) => error instanceof VirtError && error.code === ErrorCode.OPERATION_ABORTED,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("waitForExit refuses a timeout that is not a positive integer", async () => {
  await assert.rejects(
    waitForExit(Deno.pid, { timeoutMs: 0 }),
    (error) => error instanceof VirtError && error.where === "timeoutMs",
  );
});

Deno.test("readPidFile reads the pid QEMU wrote", async () => {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, "4321\n");
    assert.equal(await readPidFile(path), 4321);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("readPidFile refuses a missing file with SYSTEM_ERROR", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    await assert.rejects(
      readPidFile(`${dir}/absent.pid`),
      (error) =>
        error instanceof VirtError && error.code === ErrorCode.SYSTEM_ERROR &&
        /^failed to read pid file '.*absent\.pid': /.test(error.message),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("readPidFile refuses content that is not one pid", async () => {
  const path = Deno.makeTempFileSync();
  try {
    for (
      const text of ["", "0\n", "abc\n", "12 34\n", "-5\n", "99999999\n", `1${" ".repeat(100)}`]
    ) {
      Deno.writeTextFileSync(path, text);
      await assert.rejects(
        readPidFile(path),
        (error) => error instanceof VirtError && error.code === ErrorCode.INTERNAL_ERROR,
        JSON.stringify(text),
      );
    }
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test({
  name: "isProcessGone is false while a zombie leader's other threads still run",
  ignore: (() => {
    try {
      return !new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return true;
    }
  })(),
  fn: async () => {
    // The main thread exits at once; a second thread lives on for a moment, as QEMU's threads
    // do while it is torn down (the process still holds its files then).
    const script = "import threading, time, ctypes\n" +
      "threading.Thread(target=time.sleep, args=(0.5,)).start()\n" +
      "ctypes.CDLL(None).pthread_exit(None)\n";
    const child = new Deno.Command("python3", { args: ["-c", script], stdin: "null" }).spawn();
    try {
      let stat = readProcessStat(child.pid);
      for (let look = 0; look < 200 && stat?.state !== "Z"; look++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        stat = readProcessStat(child.pid);
      }
      assert.equal(stat?.state, "Z", "the leader exited");
      assert.equal(isProcessGone(child.pid, stat.startTimeTicks), false);
      assert.equal(await waitForExit(child.pid, { timeoutMs: 5_000 }), true);
    } finally {
      await child.status;
    }
  },
});
