/**
 * A service of evirt's own run inside a network namespace of the test's own with its network
 * runtime on (`ip netns exec`), for the tests that run virtual networks for real: evirt's CLI
 * and virsh on it, its dnsmasq's pid, a restart on the same state, and a check that the
 * namespace's links and nftables tables are as they were before the service ran. The service is
 * stopped, the namespace removed (with whatever still runs in it) and the service's folders
 * removed when the test's body ends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, evirtOn } from "./cli_process.ts";
import { type TestNamespace, withNetns } from "./netns.ts";
import {
  removeServiceDirs,
  type ServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "./service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "./virsh.ts";

/** The service's network runtime is on: it runs inside the test's namespace. */
const RUNTIME_ON = { EVIRT_NETWORK_RUNTIME: "on" };

/** The service in its namespace, and what a network test asks of it. */
export interface NetnsService {
  ns: TestNamespace;
  dirs: ServiceDirs;
  /** A folder of the test's own (the parent of the service's folders), removed at the end. */
  base: string;
  /** The namespace's links and nftables tables before the service ran. */
  before: { links: string[]; tables: string[] };
  /** The running service (the new one after {@linkcode NetnsService.restart}). */
  readonly service: ServiceProcess;
  /** Stops the service with `signal` and starts a new one on the same state, in the namespace. */
  restart(signal: Deno.Signal): Promise<ServiceProcess>;
  /** Runs evirt's own CLI on the running service. */
  evirt(...args: string[]): Promise<CliRun>;
  /** Runs virsh over the running service's libvirt socket. */
  virsh(...args: string[]): Promise<VirshRun>;
  /** The pid in the pid file of `network`'s dnsmasq. */
  dnsmasqPid(network: string): Promise<number>;
  /** Asserts the namespace has the links and nftables tables it had before the service ran. */
  assertAsBefore(): Promise<void>;
}

/**
 * Runs `body` with a service in a fresh namespace; `networks` are destroyed (by evirt's CLI,
 * failures ignored) before the service stops, so a failed test leaves no dnsmasq behind.
 */
export async function withNetnsService(
  body: (rig: NetnsService) => Promise<void>,
  networks: readonly string[] = [],
): Promise<void> {
  const dirs = await serviceDirs();
  try {
    await withNetns(async (ns) => {
      const launcher = ["ip", "netns", "exec", ns.name];
      const linksBefore = await ns.links();
      const tablesBefore = await ns.tables();
      let service = await startServiceProcess(dirs, RUNTIME_ON, launcher);
      const rig: NetnsService = {
        ns,
        dirs,
        base: dirs.stateDir.replace(/\/state$/, ""),
        before: { links: linksBefore, tables: tablesBefore },
        get service() {
          return service;
        },
        async restart(signal) {
          await service.stop(signal);
          service = await startServiceProcess(dirs, RUNTIME_ON, launcher);
          return service;
        },
        evirt: (...args) => evirtOn(service, args),
        virsh: (...args) => runVirsh(socketUri(`${dirs.runtimeDir}/libvirt-sock`), args),
        async dnsmasqPid(network) {
          const pidFile = `${dirs.runtimeDir}/network/${network}.pid`;
          return Number((await Deno.readTextFile(pidFile)).trim());
        },
        async assertAsBefore() {
          assert.deepEqual(await ns.links(), linksBefore);
          assert.deepEqual(await ns.tables(), tablesBefore);
        },
      };
      try {
        await body(rig);
      } finally {
        for (const network of networks) await rig.evirt("net-destroy", network);
        await service.stop("SIGTERM");
      }
    });
  } finally {
    await removeServiceDirs(dirs);
  }
}
