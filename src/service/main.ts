/**
 * The evirt service entry point (`deno task start`): configuration → log → host → API.
 *
 * SIGTERM and SIGINT stop it cleanly: listeners close, event streams end, a snapshot is saved,
 * and running VMs keep running.
 *
 * @module
 */

import { ConfigError, loadProcessConfig } from "../config/config.ts";
import { isVirtError } from "../model/errors.ts";
import { openTestHypervisor } from "./test_hypervisor.ts";
import { startService } from "./service.ts";
import { serviceDrivers } from "./service_drivers.ts";
import { VERSION } from "../model/version.ts";

/** Runs the service until a stop signal; returns the process exit code. */
export async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadProcessConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`evirt: error: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const { config } = loaded;
  const log = (message: string) => console.error(`evirt: ${message}`);
  log(`evirt ${VERSION} starting; state ${config.stateDir}, runtime ${config.runtimeDir}`);
  let service;
  try {
    const drivers = await serviceDrivers(config, log);
    service = await startService(config, {
      drivers,
      log,
      openTestHypervisor: () =>
        openTestHypervisor({ xmlMaxBytes: config.xmlMaxBytes, log: () => {} }),
    });
  } catch (error) {
    log(`error: ${isVirtError(error) ? error.fullMessage : (error as Error).message}`);
    return 1;
  }
  // Listen for stop signals before saying "ready": a supervisor may signal right after it.
  const stopped = Promise.withResolvers<string>();
  const onSignal = (signal: string) => () => stopped.resolve(signal);
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGINT", onSignal("SIGINT")],
  ];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const domains = service.host.list();
  log(`ready: ${domains.length} domains, ${domains.filter((each) => each.active).length} active`);
  const signal = await stopped.promise;
  log(`${signal}: stopping (running VMs keep running)`);
  for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
  await service.stop();
  log("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());
