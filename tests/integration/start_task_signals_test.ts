/**
 * The README's start command, `npx -y deno@2.9.6 task start`, launched as written (in its own
 * session, on temporary directories) and stopped the ways an operator stops it: SIGTERM to the
 * `npx` process, and Ctrl-C (SIGINT to the whole process group, which `deno task` also passes on, so
 * the service gets it twice). Each time the
 * service itself must log `stopped`, exit, and leave no socket behind.
 *
 * The bounds are generous timeouts (a test that waits forever fails nothing), never figures.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, repoDir, testIf } from "../support/environment.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

/** Longest the start task may take to say `ready` (npx may install Deno's npm packages first). */
const READY_TIMEOUT_MS = 120_000;
/** Longest a stop may take before the test fails. */
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 50;

/** A running `npx -y deno@2.9.6 task start`. */
interface StartTask {
  /** The `npx` process, leader of its own session and process group. */
  npx: Deno.ChildProcess;
  /** The service process (`deno run … src/service/main.ts`), from its `starting (pid N)` line. */
  servicePid: number;
  runtimeDir: string;
  log(): string;
  /** Resolves once every process of the task has closed its stderr (the whole log is read). */
  logEnded: Promise<void>;
  /** Kills what is left (by the process group) and removes the directories. */
  cleanUp(): Promise<void>;
}

async function launchStartTask(): Promise<StartTask> {
  const base = searchableTempDirSync("evirt-start-task-");
  const runtimeDir = `${base}/run`;
  const npx = new Deno.Command("npx", {
    args: ["-y", "deno@2.9.6", "task", "start"],
    cwd: repoDir,
    env: { EVIRT_STATE_DIR: `${base}/state`, EVIRT_RUNTIME_DIR: runtimeDir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    // A new session: the group is npx's alone, as a shell's job is, and a group signal reaches
    // nothing of the test's.
    detached: true,
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of npx.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const cleanUp = async () => {
    try {
      Deno.kill(-npx.pid, "SIGKILL");
    } catch {
      // the group is gone
    }
    await npx.status;
    await reading;
    await Deno.remove(base, { recursive: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!/ service: ready:/.test(stderr)) {
    if (Date.now() > deadline) {
      await cleanUp();
      throw new Error(`the start task was not ready within ${READY_TIMEOUT_MS} ms:\n${stderr}`);
    }
    await delay(POLL_MS);
  }
  const pid = Number(/starting \(pid (\d+)\)/.exec(stderr)?.[1]);
  assert.ok(Number.isInteger(pid) && pid > 0, stderr);
  return { npx, servicePid: pid, runtimeDir, log: () => stderr, logEnded: reading, cleanUp };
}

/** Whether `pid` still runs (a zombie has exited). */
function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** Waits until the service process has exited, failing after {@linkcode STOP_TIMEOUT_MS}. */
async function serviceExit(task: StartTask): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (running(task.servicePid)) {
    assert.ok(
      Date.now() < deadline,
      `the service (pid ${task.servicePid}) still runs ${STOP_TIMEOUT_MS} ms after the stop:\n` +
        task.log(),
    );
    await delay(POLL_MS);
  }
}

async function assertStoppedCleanly(task: StartTask): Promise<void> {
  // The service has exited; what it wrote last may still be in the pipe.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    task.logEnded,
    new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS)),
  ]);
  clearTimeout(timer);
  assert.match(task.log(), / service: stopped\n/);
  const left = [...Deno.readDirSync(task.runtimeDir)].map((entry) => entry.name)
    .filter((name) => name.includes("sock"));
  assert.deepEqual(left, [], `sockets left behind in ${task.runtimeDir}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const SKIP = Deno.build.os === "linux" ? missing("npx") : "needs Linux (/proc)";

testIf("SIGTERM to the npx of the start task stops the service cleanly", SKIP, async () => {
  const task = await launchStartTask();
  try {
    Deno.kill(task.npx.pid, "SIGTERM");
    await serviceExit(task);
    await assertStoppedCleanly(task);
    // npm passes the SIGTERM to `sh` only; the service saw its launcher go.
    assert.match(task.log(), / service: launcher .* exited: stopping/);
  } finally {
    await task.cleanUp();
  }
});

testIf("Ctrl-C (SIGINT to the group) stops the start task's service cleanly", SKIP, async () => {
  const task = await launchStartTask();
  try {
    Deno.kill(-task.npx.pid, "SIGINT");
    await serviceExit(task);
    await assertStoppedCleanly(task);
    assert.match(task.log(), / service: SIGINT: stopping/);
  } finally {
    await task.cleanUp();
  }
});
