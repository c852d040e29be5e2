import assert from "node:assert/strict";
import { StateLockedError } from "../../../src/log/errors.ts";
import { openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { acquireStateLock, STATE_LOCK_FILE } from "../../../src/log/state_lock.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const HOLDER = new URL("./state_lock_holder.ts", import.meta.url).pathname;
/** Longest wait for the holder process to report that it holds the lock, in ms. */
const HOLDER_READY_TIMEOUT_MS = 20_000;

interface Holder {
  process: Deno.ChildProcess;
  grandchildPid: number;
}

/** Starts a process holding the lock on `dir` and waits until it says so. */
async function startHolder(dir: string, spawnChild: boolean): Promise<Holder> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", HOLDER, dir, ...(spawnChild ? ["--spawn-child"] : [])],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => process.kill("SIGKILL"), HOLDER_READY_TIMEOUT_MS);
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Lock holder exited before locking: ${text}`);
      text += value;
    }
    const match = /^locked (\d+)\n/.exec(text);
    assert.ok(match, `unexpected holder output: ${text}`);
    return { process, grandchildPid: Number(match[1]) };
  } finally {
    clearTimeout(timer);
    await reader.cancel();
  }
}

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("evirt-lock-", fn);

Deno.test("openSqliteStore() refuses a directory another process holds, naming it", async () => {
  await withDir(async (dir) => {
    const holder = await startHolder(dir, false);
    try {
      const error = await openSqliteStore(dir).catch((error) => error);
      assert.ok(error instanceof StateLockedError, String(error));
      assert.equal(error.code, ErrorCode.OPERATION_FAILED);
      assert.equal(error.stateDir, dir);
      assert.equal(error.holderPid, holder.process.pid);
      assert.equal(
        error.message,
        `state directory '${dir}' is locked: another evirt service (pid ${holder.process.pid}) is using it`,
      );
    } finally {
      holder.process.kill("SIGKILL");
      await holder.process.status;
    }
  });
});

Deno.test("openSqliteStore() opens at once after the holder was killed", async () => {
  await withDir(async (dir) => {
    const holder = await startHolder(dir, false);
    holder.process.kill("SIGKILL");
    await holder.process.status;
    const store = await openSqliteStore(dir);
    await store.close();
  });
});

Deno.test("acquireStateLock() is not held by a killed holder's surviving child process", async () => {
  await withDir(async (dir) => {
    const holder = await startHolder(dir, true);
    assert.ok(holder.grandchildPid > 0);
    try {
      holder.process.kill("SIGKILL");
      await holder.process.status;
      // The grandchild (like a QEMU the service started) still runs (SIGCONT throws when it is
      // gone), and the lock must be free all the same.
      Deno.kill(holder.grandchildPid, "SIGCONT");
      const lock = acquireStateLock(dir);
      lock.release();
    } finally {
      try {
        Deno.kill(holder.grandchildPid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });
});

Deno.test("acquireStateLock() refuses a second lock in the same process", async () => {
  await withDir(async (dir) => {
    const lock = acquireStateLock(dir);
    try {
      assert.throws(() => acquireStateLock(dir), StateLockedError);
    } finally {
      lock.release();
      lock.release();
    }
    acquireStateLock(dir).release();
    assert.equal((await Deno.stat(`${dir}/${STATE_LOCK_FILE}`)).isFile, true);
  });
});

Deno.test("acquireStateLock() refuses a relative path", () => {
  assert.throws(() => acquireStateLock("relative/dir"), (error) => isVirtError(error, 8));
});

Deno.test("acquireStateLock() reports a directory it cannot create as SYSTEM_ERROR", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    assert.throws(
      () => acquireStateLock(`${dir}/file/state`),
      (error) =>
        isVirtError(error, ErrorCode.SYSTEM_ERROR) && /cannot open lock file/.test(error.message),
    );
  });
});
