/**
 * The evirt service entry point (`deno task start`, `evirt daemon`): configuration → log → host →
 * API.
 *
 * SIGTERM and SIGINT stop it cleanly: listeners close, event streams end, a snapshot is saved,
 * the sockets are removed, and running VMs keep running. The handlers stay in place until the stop
 * is done, so a second signal (`deno task` passes on the SIGINT a terminal already sent to the
 * whole group) cannot cut the stop short. SIGHUP reloads, unless the service has a controlling
 * terminal, where it means the terminal hung up and stops it. The service also stops when a
 * launcher in its process group exits (see `launch_chain.ts`).
 *
 * @module
 */

import { ConfigError } from "../config/config.ts";
import { loadProcessLayeredConfig } from "../config/layered_config.ts";
import { isVirtError } from "../model/errors.ts";
import { openTestHypervisor } from "./test_hypervisor.ts";
import { type RunningService, startService } from "./service.ts";
import { serviceDrivers } from "./service_drivers.ts";
import { VERSION } from "../model/version.ts";
import { hasControllingTerminal, launchChain, watchLaunchChain } from "./launch_chain.ts";
import { systemdNotifier } from "./sd_notify.ts";
import { SERVICE_HELP } from "./service_help.ts";
import { createLogger, type Logger } from "./logger.ts";
import { applyMemorySettings, memorySettingsLine } from "./memory_settings.ts";

/** The service's lines before the log settings are read (and when they are invalid). */
let logger: Logger = createLogger({ format: "text", level: "info", sink: writeErr });

/**
 * Runs the service until a stop signal; returns the process exit code.
 *
 * @param args The command-line arguments: `--help` and `--version` print and return; any other
 *   argument is refused.
 */
export async function main(args: readonly string[] = Deno.args): Promise<number> {
  let configFile: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--help" || arg === "-h") {
      writeOut(SERVICE_HELP);
      return 0;
    }
    if (arg === "--version" || arg === "-v") {
      writeOut(`${VERSION}\n`);
      return 0;
    }
    if (arg === "--config" && index + 1 < args.length) {
      configFile = args[++index];
    } else if (arg.startsWith("--config=")) {
      configFile = arg.slice("--config=".length);
    } else {
      log(
        arg === "--config"
          ? "error: --config needs a FILE"
          : `error: unknown argument '${arg}' (see --help)`,
      );
      return 1;
    }
  }
  // Before any worker thread starts (see memory_settings.ts).
  const memory = applyMemorySettings();
  let loaded;
  try {
    loaded = await loadProcessLayeredConfig(configFile);
    logger = createLogger({ ...loaded.log, sink: writeErr });
  } catch (error) {
    if (error instanceof ConfigError) {
      log(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const { config } = loaded;
  // Listen for stop signals before anything starts: a stop asked during replay waits for it, then
  // stops at once, instead of killing the process with its sockets bound.
  const stop = listenForStop();
  log(
    `evirt ${VERSION} starting (pid ${Deno.pid}); state ${config.stateDir}, runtime ${config.runtimeDir}`,
  );
  if (loaded.file?.present) log(`configuration file ${loaded.file.path}`);
  log(memorySettingsLine(memory));
  const notifier = systemdNotifier(Deno.env.get("NOTIFY_SOCKET"), config.runtimeDir, log);
  let service: RunningService;
  try {
    const drivers = await serviceDrivers(
      config,
      logger.component("qemu"),
      loaded.qemuConfinement,
    );
    service = await startService(config, {
      drivers,
      log,
      logFor: (component) => logger.component(component),
      onRequest: ({ requestId, method, route, role, status, durationMs }) =>
        logger.write(status >= 500 ? "error" : "debug", "api", "call", {
          method,
          route,
          role,
          status,
          durationMs,
          requestId,
        }),
      guests: loaded.guests,
      openTestHypervisor: () =>
        openTestHypervisor({ xmlMaxBytes: config.xmlMaxBytes, log: () => {} }),
    });
  } catch (error) {
    stop.dispose();
    log(`error: ${isVirtError(error) ? error.fullMessage : (error as Error).message}`);
    return 1;
  }
  const domains = service.host.list();
  const status = `ready: ${domains.length} domains, ${
    domains.filter((each) => each.active).length
  } active`;
  log(status);
  await notifier.send(["READY=1", `STATUS=${status}`, `MAINPID=${Deno.pid}`]);
  stop.onReload(async () => {
    await notifier.send(["RELOADING=1"]);
    try {
      log(`SIGHUP: ${await service.reload()}`);
    } catch (error) {
      log(`SIGHUP: reload refused, nothing changed: ${(error as Error).message}`);
    }
    await notifier.send(["READY=1"]);
  });
  const reason = await stop.requested;
  log(`${reason}: stopping (running VMs keep running)`);
  await notifier.send(["STOPPING=1"]);
  await service.stop();
  stop.dispose();
  log("stopped");
  return 0;
}

/** The stop request: signals and the launch chain, watched until disposed. */
interface StopRequest {
  /** Resolves with what asked for the stop (a signal's name, or the launcher that exited). */
  requested: Promise<string>;
  /** Sets what a SIGHUP does once the service runs (without a controlling terminal). */
  onReload(reload: () => Promise<void>): void;
  /** Stops listening; signals act as by default again. */
  dispose(): void;
}

function listenForStop(): StopRequest {
  const requested = Promise.withResolvers<string>();
  let asked: string | undefined;
  const request = (reason: string) => {
    if (asked !== undefined) {
      log(`${reason}: already stopping (asked by ${asked})`);
      return;
    }
    asked = reason;
    requested.resolve(reason);
  };
  let reload: (() => Promise<void>) | undefined;
  let reloading = false;
  const onHangUp = () => {
    // With a controlling terminal a SIGHUP says the terminal is gone; without one it is the
    // conventional "reload your configuration" (systemd's ExecReload sends it).
    if (hasControllingTerminal()) return request("SIGHUP (terminal hung up)");
    if (asked !== undefined || reload === undefined) {
      log("SIGHUP: not running yet or stopping; nothing reloaded");
      return;
    }
    if (reloading) return;
    reloading = true;
    reload().finally(() => reloading = false);
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGTERM", () => request("SIGTERM")],
    ["SIGINT", () => request("SIGINT")],
    ["SIGHUP", onHangUp],
  ];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const stopWatching = watchLaunchChain(
    launchChain(),
    (gone) => request(`launcher ${gone.command} (pid ${gone.pid}) exited`),
  );
  return {
    requested: requested.promise,
    onReload(next) {
      reload = next;
    },
    dispose() {
      stopWatching();
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

/** Writes one line of the service's own (component `service`). */
function log(message: string): void {
  logger.component("service")(message);
}

/**
 * Writes to stderr. A terminal that hung up or a closed pipe must not stop a stop half-way, so a
 * failed write is dropped.
 */
function writeErr(text: string): void {
  writeAll(Deno.stderr, text);
}

function writeOut(text: string): void {
  writeAll(Deno.stdout, text);
}

function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch {
    // Nowhere left to write.
  }
}

if (import.meta.main) Deno.exit(await main());
