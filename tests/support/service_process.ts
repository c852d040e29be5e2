/**
 * Runs the real service (`src/service/main.ts`) as a child process on temporary directories, for
 * end-to-end tests, and waits until it accepts connections.
 *
 * @module
 */

import { EvirtClient, unixTransport } from "../../src/client/client.ts";
import { repoDir } from "./environment.ts";
import { searchableTempDirSync } from "./temp_dir.ts";

/** Longest a service may take to accept connections, in ms. */
const READY_TIMEOUT_MS = 30_000;
/** Interval between readiness probes, in ms. */
const READY_POLL_MS = 25;

/** A running service child. */
export interface ServiceProcess {
  child: Deno.ChildProcess;
  stateDir: string;
  runtimeDir: string;
  /** The environment the service runs with (for CLI children). */
  env: Record<string, string>;
  /** A client on the read-write socket. */
  client: EvirtClient;
  /** A client on the read-only socket. */
  readOnly: EvirtClient;
  /** Everything the service wrote to stderr so far. */
  log(): string;
  /** Sends a signal and waits for the exit status. */
  stop(signal: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Directories a service (and its restarts) run on. */
export interface ServiceDirs {
  stateDir: string;
  runtimeDir: string;
}

/** Makes fresh state and runtime directories. */
export async function serviceDirs(): Promise<ServiceDirs> {
  const base = searchableTempDirSync("evirt-e2e-");
  await Deno.mkdir(`${base}/state`);
  await Deno.mkdir(`${base}/run`);
  return { stateDir: `${base}/state`, runtimeDir: `${base}/run` };
}

/** Removes the directories of {@linkcode serviceDirs}. */
export async function removeServiceDirs(dirs: ServiceDirs): Promise<void> {
  await Deno.remove(dirs.stateDir.replace(/\/state$/, ""), { recursive: true });
}

/** The service from source: `deno run -A src/service/main.ts`. */
export const SERVICE_FROM_SOURCE: readonly string[] = [
  Deno.execPath(),
  "run",
  "-A",
  `${repoDir}/src/service/main.ts`,
];

/**
 * Starts the service on `dirs` and resolves once it answers on its socket.
 *
 * @param launcher A command the service runs under (e.g. `["prlimit", "--nofile=512"]`).
 * @param program The service's command (a compiled binary: `[path, "daemon"]`).
 */
export async function startServiceProcess(
  dirs: ServiceDirs,
  extraEnv: Record<string, string> = {},
  launcher: string[] = [],
  program: readonly string[] = SERVICE_FROM_SOURCE,
): Promise<ServiceProcess> {
  const env = {
    EVIRT_STATE_DIR: dirs.stateDir,
    EVIRT_RUNTIME_DIR: dirs.runtimeDir,
    // A test service never makes networks on the host's network: only a test that runs it in
    // a namespace of its own (tests/support/netns.ts) turns the network runtime on.
    EVIRT_NETWORK_RUNTIME: "off",
    // Every JSON answer is checked against the schema the OpenAPI document names for it.
    EVIRT_CHECK_ANSWERS: "on",
    ...extraEnv,
  };
  const command = [...launcher, ...program];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const socketPath = `${dirs.runtimeDir}/evirt.sock`;
  const client = new EvirtClient(unixTransport(socketPath));
  const readOnly = new EvirtClient(unixTransport(`${dirs.runtimeDir}/evirt-ro.sock`));
  const service: ServiceProcess = {
    child,
    ...dirs,
    env,
    client,
    readOnly,
    log: () => stderr,
    async stop(signal) {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      const status = await child.status;
      await reading;
      return status;
    },
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (exited) {
      await reading;
      throw new Error(`the service exited before it was ready:\n${stderr}`);
    }
    try {
      await client.version();
      return service;
    } catch {
      if (Date.now() > deadline) {
        await service.stop("SIGKILL");
        throw new Error(`the service was not ready within ${READY_TIMEOUT_MS} ms:\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }
}
