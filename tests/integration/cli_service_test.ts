/**
 * The real service driven through the real CLI, both as child processes: define, start, suspend,
 * resume, shutdown and undefine with `list` and `domstate --reason` in virsh's layout; then the
 * service is SIGKILLed and restarted on the same directories, and the CLI still works.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CLI_PATH, type CliRun, runEvirt } from "../support/cli_process.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";

/** How long to wait for a guest shutdown to be recorded, in ms. */
const SHUTDOWN_WAIT_MS = 10_000;

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

async function ok(service: ServiceProcess, ...args: string[]): Promise<string> {
  const result = await evirt(service, ...args);
  assert.equal(result.code, 0, `evirt ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

Deno.test("CLI drives the real service through the lifecycle and survives its SIGKILL", async () => {
  const dirs = await serviceDirs();
  const xmlPath = `${dirs.stateDir}/../web.xml`;
  await Deno.writeTextFile(
    xmlPath,
    `<domain type='test'><name>web</name><memory unit='MiB'>512</memory><vcpu>2</vcpu>` +
      `<os><type>hvm</type></os><devices/></domain>`,
  );
  let service = await startServiceProcess(dirs);
  try {
    assert.equal(await ok(service, "define", xmlPath), `Domain 'web' defined from ${xmlPath}\n\n`);
    assert.equal(
      await ok(service, "list", "--all"),
      " Id   Name   State\n-----------------------\n -    web    shut off\n\n",
    );
    assert.equal(await ok(service, "start", "web"), "Domain 'web' started\n\n");
    assert.equal(
      await ok(service, "list"),
      " Id   Name   State\n----------------------\n 1    web    running\n\n",
    );
    assert.equal(await ok(service, "domstate", "web", "--reason"), "running (booted)\n\n");
    assert.equal(await ok(service, "suspend", "web"), "Domain 'web' suspended\n\n");
    assert.equal(await ok(service, "domstate", "web", "--reason"), "paused (user)\n\n");
    assert.equal(await ok(service, "resume", "web"), "Domain 'web' resumed\n\n");
    assert.equal(await ok(service, "domstate", "--reason", "web"), "running (unpaused)\n\n");

    // SIGKILL in the middle of the domain's life; the restarted service shows the same.
    await service.stop("SIGKILL");
    service = await startServiceProcess(dirs);
    assert.equal(await ok(service, "domstate", "web", "--reason"), "running (unpaused)\n\n");
    assert.equal(await ok(service, "domid", "web"), "1\n\n");

    assert.equal(await ok(service, "shutdown", "web"), "Domain 'web' is being shutdown\n\n");
    const deadline = Date.now() + SHUTDOWN_WAIT_MS;
    let state = "";
    while (Date.now() < deadline) {
      state = await ok(service, "domstate", "web", "--reason");
      if (state.startsWith("shut off")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(state, "shut off (shutdown)\n\n");
    assert.equal(await ok(service, "undefine", "web"), "Domain 'web' has been undefined\n\n");
    assert.equal(
      await ok(service, "list", "--all"),
      " Id   Name   State\n--------------------\n\n",
    );

    const missing = await evirt(service, "domstate", "web");
    assert.equal(missing.code, 1);
    // virsh ends every command it ran, failed or not, with an empty line on stdout.
    assert.equal(missing.stdout, "\n");
    assert.equal(missing.stderr, "error: failed to get domain 'web'\n");
  } finally {
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});

Deno.test("evirt daemon runs the service until SIGTERM", async () => {
  const dirs = await serviceDirs();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI_PATH, "daemon"],
    env: { EVIRT_STATE_DIR: dirs.stateDir, EVIRT_RUNTIME_DIR: dirs.runtimeDir },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let log = "";
    while (!log.includes("ready:")) {
      const { value, done } = await stderr.read();
      assert.ok(!done, `the daemon ended before it was ready: ${log}`);
      log += value;
    }
    assert.match(log, /listening on unix:.*evirt\.sock \(read-write\)/);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await stderr.cancel();
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await removeServiceDirs(dirs);
  }
});
